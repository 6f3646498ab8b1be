"""`rogatory requests`: list requests and show one's state, progress and latest events."""

from __future__ import annotations

from datetime import date

import click

from gateway.domain.states import State
from gateway.services.legal_clocks import clock_line, request_clocks
from gateway.services.request_status import list_requests, request_status
from gateway.web.cli import Context, pass_context


def _progress(done: int, total: int) -> str:
    return "-" if total <= 0 else f"{done}/{total} ({done * 100 // total}%)"


@click.group("requests")
def requests_group() -> None:
    """Inspect requests: state, translation progress, audit events (never document text)."""


@requests_group.command("list")
@click.option("--state", type=click.Choice([s.value for s in State]), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@pass_context
def list_command(ctx: Context, state: str | None, limit: int) -> None:
    """Newest first: id, state, progress, type, issuing -> executing, received."""
    with ctx.database() as engine:
        rows = list_requests(engine, state=State(state) if state else None, limit=limit)
    for r in rows:
        click.echo(
            f"{r.id}\t{r.state.value}\t{_progress(r.progress_done, r.progress_total)}\t"
            f"{r.request_type}\t{r.issuing_authority_id} -> {r.executing_authority_id}\t"
            f"{r.received_at:%Y-%m-%dT%H:%M:%SZ}"
        )


@requests_group.command("show")
@click.argument("request_id")
@click.option("--events", "last_events", type=click.IntRange(1, 500), default=10, show_default=True)
@pass_context
def show(ctx: Context, request_id: str, last_events: int) -> None:
    """One request: state, failed step, progress, stored artefacts and its latest events."""
    with ctx.database() as engine:
        status = request_status(engine, request_id, last_events=last_events)
        clocks = request_clocks(engine, request_id)
    r = status.request
    click.echo(
        f"id: {r.id}\ntype: {r.request_type}\n"
        f"from: {r.issuing_authority_id}\nto: {r.executing_authority_id}\n"
        f"languages: {r.source_language} -> {r.target_language}\n"
        f"state: {r.state.value}\n"
        f"failed step: {r.failed_step or '-'}\nattempts: {r.attempts}\n"
        f"progress: {_progress(r.progress_done, r.progress_total)}\n"
        f"received: {r.received_at:%Y-%m-%dT%H:%M:%SZ}\n"
        f"updated: {r.updated_at:%Y-%m-%dT%H:%M:%SZ}"
    )
    for artefact in status.artefacts:
        click.echo(
            f"artefact: {artefact.kind} {artefact.name} {artefact.size} bytes "
            f"sha256={artefact.sha256}"
        )
    for clock in clocks:
        click.echo(f"clock: {clock_line(clock, date.today())}")
    click.echo(f"last {len(status.events)} event(s):")
    for index, entry in status.events:
        detail = " ".join(f"{k}={v}" for k, v in sorted(entry.detail.items()))
        click.echo(
            f"  #{index} {entry.time:%Y-%m-%dT%H:%M:%SZ} {entry.event} by {entry.actor}"
            + (f" {detail}" if detail else "")
        )
