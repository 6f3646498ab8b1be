"""`rogatory authorities`: register, inspect, rotate certificates of and disable authorities."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.crypto.keyfiles import load_certificate
from gateway.domain.errors import Conflict
from gateway.persistence import authorities_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import transaction
from gateway.services.lifecycle import record
from gateway.web.cli import Context, pass_context


@click.group()
def authorities() -> None:
    """Manage the registry of issuing and executing authorities."""


@authorities.command("add")
@click.argument("authority_id")
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166 alpha-2 code.")
@click.option(
    "--language",
    "languages",
    multiple=True,
    required=True,
    help="Working language(s); the first is used for translation.",
)
@click.option(
    "--accepts",
    multiple=True,
    default=("mla", "witness-examination", "extradition"),
    show_default=True,
    help="Request types this authority executes.",
)
@click.option("--encryption-cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--signing-cert", type=click.Path(exists=True, path_type=Path), multiple=True)
@click.option("--push-endpoint", default=None)
@pass_context
def add(
    ctx: Context,
    authority_id: str,
    name: str,
    country: str,
    languages: tuple[str, ...],
    accepts: tuple[str, ...],
    encryption_cert: Path,
    signing_cert: tuple[Path, ...],
    push_endpoint: str | None,
) -> None:
    """Register an authority with its encryption (and signing) certificates."""
    if push_endpoint:
        from gateway.services.outbound import OutboundPolicy, OutboundRefused, check_url

        try:
            check_url(push_endpoint, OutboundPolicy.from_settings(ctx.settings))
        except OutboundRefused as exc:
            raise click.ClickException(f"--push-endpoint refused: {exc}") from None
    certificates = [("encryption", load_certificate(encryption_cert))] + [
        ("signing", load_certificate(path)) for path in signing_cert
    ]
    with ctx.database() as engine, transaction(engine) as conn:
        for purpose, cert in certificates:
            owner = authorities_store.certificate_owner(conn, cert)
            if owner is not None:  # it used to print success and store nothing
                raise Conflict(
                    f"the {purpose} certificate is already registered for authority "
                    f"'{owner[0]}' ({owner[1]}); each certificate belongs to one authority"
                )
        authorities_store.add(
            conn,
            Authority(
                authority_id,
                name,
                country.upper(),
                list(languages),
                list(accepts),
                push_endpoint,
                None,
                True,
            ),
        )
        for purpose, cert in certificates:
            authorities_store.add_certificate(conn, authority_id, purpose, cert)
        record(
            conn,
            None,
            "authority_changed",
            actor="admin:cli",
            detail={"authority": authority_id, "change": "added"},
        )
    click.echo(f"authority {authority_id} registered")


@authorities.command("list")
@pass_context
def list_(ctx: Context) -> None:
    """List registered authorities."""
    with ctx.database() as engine, transaction(engine) as conn:
        for a in authorities_store.list_all(conn):
            state = "enabled" if a.enabled else "disabled"
            click.echo(f"{a.id}\t{a.country}\t{','.join(a.languages)}\t{state}\t{a.name}")


@authorities.command("show")
@click.argument("authority_id")
@pass_context
def show(ctx: Context, authority_id: str) -> None:
    """Show one authority and its current certificates."""
    with ctx.database() as engine, transaction(engine) as conn:
        a = authorities_store.get(conn, authority_id)
        click.echo(
            f"id: {a.id}\nname: {a.name}\ncountry: {a.country}\n"
            f"languages: {', '.join(a.languages)}\naccepts: {', '.join(a.request_types)}\n"
            f"push endpoint: {a.push_endpoint or '-'}\nenabled: {a.enabled}"
        )
        for purpose in ("encryption", "signing"):
            for cert in authorities_store.certificates(conn, authority_id, purpose):
                click.echo(
                    f"{purpose} certificate: {authorities_store.fingerprint(cert)} "
                    f"valid until {cert.not_valid_after_utc:%Y-%m-%d}"
                )


@authorities.command("rotate-cert")
@click.argument("authority_id")
@click.option("--purpose", type=click.Choice(["encryption", "signing"]), default="encryption")
@click.option("--add", "new_cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--retire", "retire", default=None, help="Fingerprint of a certificate to retire.")
@pass_context
def rotate_cert(
    ctx: Context, authority_id: str, purpose: str, new_cert: Path, retire: str | None
) -> None:
    """Add a new certificate (both stay valid during the overlap); optionally retire one."""
    with ctx.database() as engine, transaction(engine) as conn:
        digest = authorities_store.add_certificate(
            conn, authority_id, purpose, load_certificate(new_cert)
        )
        if retire:
            authorities_store.retire_certificate(conn, authority_id, retire)
        record(
            conn,
            None,
            "key_rotation",
            actor="admin:cli",
            artefacts={"certificate": digest},
            detail={"authority": authority_id, "purpose": purpose},
        )
    click.echo(f"{purpose} certificate {digest} added to {authority_id}")


@authorities.command("disable")
@click.argument("authority_id")
@pass_context
def disable(ctx: Context, authority_id: str) -> None:
    """Disable an authority: new requests to or from it are refused at intake."""
    with ctx.database() as engine, transaction(engine) as conn:
        authorities_store.set_enabled(conn, authority_id, False)
        record(
            conn,
            None,
            "authority_changed",
            actor="admin:cli",
            detail={"authority": authority_id, "change": "disabled"},
        )
    click.echo(f"authority {authority_id} disabled")
