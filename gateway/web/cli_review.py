"""`rogatory review`: a translator's XLIFF round trip and sign-off from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from gateway.domain.errors import DomainError
from gateway.runtime.container import Runtime, build_runtime
from gateway.services import accounts, roles
from gateway.services import translation_review as review
from gateway.services.dispatch import flush_outbox
from gateway.web.cli import Context, pass_context


@contextmanager
def _runtime(ctx: Context) -> Iterator[Runtime]:
    rt = build_runtime(ctx.settings)
    try:
        yield rt
    finally:
        rt.close()


def reviewer_for(rt: Runtime, username: str) -> review.Reviewer:
    """The translator account `username`; any other role is refused."""
    user = accounts.get_user(rt.engine, username)
    if not user.enabled or roles.get_role(rt.engine, username) != "translator":
        raise DomainError(f"user {username} is not an enabled translator", code="not-translator")
    return review.Reviewer(user.username, user.display_name, user.authority_id)


_user_option = click.option("--user", "username", required=True, help="Translator account.")


@click.group("review")
def review_group() -> None:
    """Human review of machine translations: XLIFF for CAT tools, sign-off."""


@review_group.command("xliff-export")
@click.argument("request_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_user_option
@pass_context
def xliff_export(ctx: Context, request_id: str, file: Path, username: str) -> None:
    """Write the request's segments (and decisions so far) to FILE as XLIFF 2.0."""
    with _runtime(ctx) as rt:
        data = review.export_for_review(rt.engine, rt.blobs, reviewer_for(rt, username), request_id)
    file.write_bytes(data)
    click.echo(f"xliff exported: {request_id} -> {file}")


@review_group.command("xliff-import")
@click.argument("request_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_user_option
@pass_context
def xliff_import(ctx: Context, request_id: str, file: Path, username: str) -> None:
    """Take FILE's targets as the translator's decisions; lost protected items stay flagged."""
    with _runtime(ctx) as rt:
        report = review.import_review(
            rt.engine, rt.blobs, reviewer_for(rt, username), request_id, file.read_bytes()
        )
    click.echo(
        f"xliff imported: {len(report.accepted)} accepted, {len(report.edited)} edited, "
        f"{len(report.flagged)} flagged"
    )
    for sid in report.flagged:
        click.echo(f"flagged {sid}: missing-items")


@review_group.command("sign-off")
@click.argument("request_id")
@_user_option
@pass_context
def sign_off(ctx: Context, request_id: str, username: str) -> None:
    """Make the reviewed translation version (its PDF is rendered by a worker)."""
    with _runtime(ctx) as rt:
        version = review.sign_off(
            rt.engine, rt.blobs, rt.sealer(), reviewer_for(rt, username), request_id
        )
        flush_outbox(rt.engine, rt.sender)  # the render task; the sweeper retries if this fails
    click.echo(f"signed off: {request_id} version {version}")
