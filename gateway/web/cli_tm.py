"""`rogatory tm`: list, import, export, correct and remove translation-memory entries."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.runtime.container import load_kek
from gateway.services import translation_memory as service
from gateway.web.cli import Context, pass_context
from gateway.web.cli_glossary import pair_options

ACTOR = "admin:cli"


def _pair(issuing: str, executing: str, source: str, target: str) -> service.Pair:
    return service.Pair(issuing, executing, source.lower(), target.lower())


@click.group("tm")
def tm() -> None:
    """Reviewed segments two authorities reuse: exact matches skip the engine."""


@tm.command("list")
@pair_options
@pass_context
def list_command(ctx: Context, issuing: str, executing: str, source: str, target: str) -> None:
    """One line per entry: id, created by, created at, source => target."""
    pair = _pair(issuing, executing, source, target)
    with ctx.database() as engine:
        service.check_pair(engine, pair)
        entries = service.list_entries(engine, load_kek(ctx.settings), pair)
    for e in entries:
        click.echo(f"{e.id}\t{e.created_by}\t{e.created_at}\t{e.source}\t=>\t{e.target}")
    click.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} for {pair.label()}")


@tm.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pair_options
@pass_context
def import_command(
    ctx: Context, file: Path, issuing: str, executing: str, source: str, target: str
) -> None:
    """Import a TMX file; an entry with the same (masked) source is corrected, not doubled."""
    pair = _pair(issuing, executing, source, target)
    with ctx.database() as engine:
        service.check_pair(engine, pair)
        added, corrected = service.import_tmx(
            engine, load_kek(ctx.settings), file.read_bytes(), pair, actor=ACTOR
        )
    click.echo(f"tm imported: {pair.label()}: {added} added, {corrected} corrected")


@tm.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pair_options
@pass_context
def export_command(
    ctx: Context, file: Path, issuing: str, executing: str, source: str, target: str
) -> None:
    """Write the pair's entries to FILE as TMX 1.4."""
    pair = _pair(issuing, executing, source, target)
    with ctx.database() as engine:
        service.check_pair(engine, pair)
        data = service.export_tmx(engine, load_kek(ctx.settings), pair, actor=ACTOR)
    file.write_bytes(data)
    click.echo(f"tm exported: {pair.label()} -> {file}")


@tm.command("correct")
@click.argument("entry_id")
@click.option("--target-text", required=True, help="The corrected translation.")
@pass_context
def correct_command(ctx: Context, entry_id: str, target_text: str) -> None:
    """Replace one entry's translation."""
    with ctx.database() as engine:
        entry = service.correct_entry(
            engine, load_kek(ctx.settings), entry_id, target_text, actor=ACTOR
        )
    click.echo(f"tm entry corrected: {entry.id}")


@tm.command("remove")
@click.argument("entry_id")
@pass_context
def remove_command(ctx: Context, entry_id: str) -> None:
    """Remove one entry (later requests translate that sentence with the engine again)."""
    with ctx.database() as engine:
        entry = service.remove_entry(engine, load_kek(ctx.settings), entry_id, actor=ACTOR)
    click.echo(f"tm entry removed: {entry.id}")
