"""`rogatory glossary`: import, list and remove per-authority-pair glossaries."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from gateway.services.glossaries import (
    GlossaryFormat,
    import_glossary,
    list_glossaries,
    remove_glossary,
)
from gateway.web.cli import Context, pass_context

ACTOR = "admin:cli"


def pair_options(function: click.decorators.FC) -> click.decorators.FC:
    """--issuing/--executing/--source/--target: the authority and language pair (also tm)."""
    for option in reversed(
        [
            click.option("--issuing", required=True, help="Issuing authority id."),
            click.option("--executing", required=True, help="Executing authority id."),
            click.option("--source", required=True, help="Source language (ISO 639-1)."),
            click.option("--target", required=True, help="Target language (ISO 639-1)."),
        ]
    ):
        function = option(function)
    return function


@click.group("glossary")
def glossary() -> None:
    """Terms two authorities agreed on; forced into machine translation of their requests."""


@glossary.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pair_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "tbx"]),
    default=None,
    help="Default: from the file name (.tbx is TBX, anything else CSV).",
)
@pass_context
def import_command(
    ctx: Context,
    file: Path,
    issuing: str,
    executing: str,
    source: str,
    target: str,
    fmt: str | None,
) -> None:
    """Import FILE (CSV `source,target` or TBX); replaces the pair's previous glossary."""
    chosen = cast(GlossaryFormat, fmt or ("tbx" if file.suffix.lower() == ".tbx" else "csv"))
    with ctx.database() as engine:
        stored, previous = import_glossary(
            engine,
            file.read_bytes(),
            chosen,
            issuing=issuing,
            executing=executing,
            source=source.lower(),
            target=target.lower(),
            actor=ACTOR,
        )
    verb = "replaced" if previous else "imported"
    click.echo(
        f"glossary {verb}: {stored.issuing_authority} -> {stored.executing_authority} "
        f"{stored.source_language}->{stored.target_language}, {stored.entry_count} term(s), "
        f"sha256={stored.sha256}"
    )


@glossary.command("list")
@pass_context
def list_command(ctx: Context) -> None:
    """issuing -> executing, languages, terms, format, sha256, imported at."""
    with ctx.database() as engine:
        stored = list_glossaries(engine)
    for g in stored:
        click.echo(
            f"{g.issuing_authority} -> {g.executing_authority}\t"
            f"{g.source_language}->{g.target_language}\t{g.entry_count} term(s)\t"
            f"{g.source_format}\t{g.sha256}\t{g.imported_at:%Y-%m-%dT%H:%M:%SZ}"
        )


@glossary.command("remove")
@pair_options
@pass_context
def remove_command(ctx: Context, issuing: str, executing: str, source: str, target: str) -> None:
    """Remove the pair's glossary (requests translated later use none)."""
    with ctx.database() as engine:
        removed = remove_glossary(
            engine,
            issuing=issuing,
            executing=executing,
            source=source.lower(),
            target=target.lower(),
            actor=ACTOR,
        )
    click.echo(
        f"glossary removed: {removed.issuing_authority} -> {removed.executing_authority} "
        f"{removed.source_language}->{removed.target_language} sha256={removed.sha256}"
    )
