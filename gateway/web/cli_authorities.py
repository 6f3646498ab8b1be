"""`rogatory authorities`: register, inspect, rotate certificates of and disable authorities."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.services import authority_registry
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
    with ctx.database() as engine:
        authority_registry.register(
            engine,
            authority_id=authority_id,
            name=name,
            country=country,
            languages=languages,
            request_types=accepts,
            push_endpoint=push_endpoint,
            encryption_cert=encryption_cert,
            signing_certs=signing_cert,
        )
    click.echo(f"authority {authority_id} registered")


@authorities.command("list")
@pass_context
def list_(ctx: Context) -> None:
    """List registered authorities."""
    with ctx.database() as engine:
        listed = authority_registry.list_authorities(engine)
    for a in listed:
        state = "enabled" if a.enabled else "disabled"
        click.echo(f"{a.id}\t{a.country}\t{','.join(a.languages)}\t{state}\t{a.name}")


@authorities.command("show")
@click.argument("authority_id")
@pass_context
def show(ctx: Context, authority_id: str) -> None:
    """Show one authority and its current certificates."""
    with ctx.database() as engine:
        a, certificates = authority_registry.describe(engine, authority_id)
    click.echo(
        f"id: {a.id}\nname: {a.name}\ncountry: {a.country}\n"
        f"languages: {', '.join(a.languages)}\naccepts: {', '.join(a.request_types)}\n"
        f"push endpoint: {a.push_endpoint or '-'}\nenabled: {a.enabled}"
    )
    for cert in certificates:
        click.echo(
            f"{cert.purpose} certificate: {cert.fingerprint} valid until {cert.not_after:%Y-%m-%d}"
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
    with ctx.database() as engine:
        digest = authority_registry.rotate_certificate(
            engine, authority_id, purpose, new_cert, retire
        )
    click.echo(f"{purpose} certificate {digest} added to {authority_id}")


@authorities.command("disable")
@click.argument("authority_id")
@pass_context
def disable(ctx: Context, authority_id: str) -> None:
    """Disable an authority: new requests to or from it are refused at intake."""
    with ctx.database() as engine:
        authority_registry.disable(engine, authority_id)
    click.echo(f"authority {authority_id} disabled")
