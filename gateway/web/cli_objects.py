"""`rogatory objects migrate`: move encrypted objects between the filesystem and PostgreSQL."""

from __future__ import annotations

import sys

import click

from gateway.web.cli import EXIT_REFUSED, Context, pass_context

STORES = ("filesystem", "postgresql")


@click.group()
def objects() -> None:
    """The encrypted object store (ROGATORY_OBJECT_STORE=filesystem|postgresql)."""


@objects.command("migrate")
@click.option("--to", "target_name", type=click.Choice(STORES), required=True)
@click.option(
    "--from",
    "source_name",
    type=click.Choice(STORES),
    default=None,
    help="Default: the other store.",
)
@click.option(
    "--remove-source", is_flag=True, help="Delete each source copy once its target copy verified."
)
@pass_context
def migrate(ctx: Context, target_name: str, source_name: str | None, remove_source: bool) -> None:
    """Copy every object's ciphertext to another store and verify it by decrypting it there.

    Safe to re-run. Afterwards set ROGATORY_OBJECT_STORE to the target on every node.
    """
    from gateway.runtime.container import load_kek
    from gateway.services.object_migration import migrate_stores

    settings = ctx.settings
    source_name = source_name or next(s for s in STORES if s != target_name)
    if "postgresql" in (source_name, target_name) and settings.embedded_database:
        raise click.ClickException("the postgresql store needs DATABASE_URL=postgresql://...")
    with ctx.database() as engine:
        report = migrate_stores(
            engine,
            settings.data_dir,
            load_kek(settings),
            source_name,
            target_name,
            remove_source=remove_source,
            progress=click.echo,
        )
    click.echo(
        f"{report.copied} objects copied and verified from {report.source} to {report.target}, "
        f"{report.already_there} already there, {report.removed_from_source} removed from "
        f"{report.source}, {len(report.failed)} failed; {report.inline} small objects "
        "are kept in the database whatever the store"
    )
    if report.failed:
        click.echo(
            f"error[objects-not-migrated]: {len(report.failed)} objects did not verify in "
            f"{report.target}; keep ROGATORY_OBJECT_STORE={report.source}",
            err=True,
        )
        sys.exit(EXIT_REFUSED)
    click.echo(f"Now set ROGATORY_OBJECT_STORE={report.target} on every node and restart.")
