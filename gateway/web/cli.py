"""`rogatory` command line: init, serve, worker, demo, authorities, keys, audit, models."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.engine import Engine

from gateway.config import ConfigError, Settings, load_settings
from gateway.domain.errors import DomainError

EXIT_REFUSED = 2


class Context:
    """Settings are read lazily so `--help` works even with a broken configuration."""

    def __init__(self, data_dir: str | None) -> None:
        self._data_dir = data_dir
        self._settings: Settings | None = None

    @contextmanager
    def database(self) -> Iterator[Engine]:
        """An engine on the configured database, disposed when the command is done."""
        from gateway.persistence.db import make_engine

        engine = make_engine(self.settings.database_url)
        try:
            yield engine
        finally:
            engine.dispose()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides = {"data_dir": self._data_dir} if self._data_dir else None
            self._settings = load_settings(overrides=overrides)
        return self._settings


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option("--data-dir", envvar="ROGATORY_DATA_DIR", help="Data directory (default ./var).")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """Rogatory: secure exchange and translation of cross-border legal requests."""
    ctx.obj = Context(data_dir)


@cli.command()
@click.option("--dev-pki", is_flag=True, help="Create a throwaway PKI in the keys directory.")
@click.option("--demo-authorities", is_flag=True, help="Register two demo authorities.")
@pass_context
def init(ctx: Context, dev_pki: bool, demo_authorities: bool) -> None:
    """Create the data directory, keys (with --dev-pki) and the database schema."""
    from gateway.runtime.setup import initialise

    for line in initialise(ctx.settings, dev_pki=dev_pki, demo_authorities=demo_authorities):
        click.echo(line)


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080).")
@pass_context
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Run the HTTP gateway (starts the embedded broker when configured)."""
    from werkzeug.serving import run_simple

    from gateway.logs import configure_logging
    from gateway.runtime.broker import ensure_embedded_broker
    from gateway.web.app import create_app

    settings = ctx.settings
    configure_logging(settings.log_level)
    if settings.embedded_broker:
        ensure_embedded_broker(settings)
    app = create_app(settings)
    run_simple(host or settings.http_host, port or settings.http_port, app, threaded=True)


@cli.command()
@click.option("--queues", default="urgent,translate,render,deliver,default", show_default=True)
@click.option("--concurrency", type=int, default=None, help="Worker processes.")
@click.option("--beat/--no-beat", default=True, help="Also run the periodic jobs.")
@pass_context
def worker(ctx: Context, queues: str, concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker (starts the embedded broker when configured)."""
    from gateway.runtime.broker import ensure_embedded_broker

    settings = ctx.settings
    if settings.embedded_broker:
        ensure_embedded_broker(settings)
    os.environ["ROGATORY_DATA_DIR"] = str(settings.data_dir)
    # The gateway never imports workers/: the worker is its own program.
    count = str(concurrency or settings.worker_concurrency)
    mode = "beat" if beat else "no-beat"
    os.execv(sys.executable, [sys.executable, "-m", "workers", queues, count, mode])  # noqa: S606


@cli.command()
@click.option("--keep", is_flag=True, help="Leave the embedded broker running afterwards.")
@click.option("--serve", is_flag=True, help="Keep the gateway and a worker up until Ctrl-C.")
@pass_context
def demo(ctx: Context, keep: bool, serve: bool) -> None:
    """Run one request through its whole life and print each step."""
    from gateway.runtime.demo import run_demo

    run_demo(ctx.settings, echo=click.echo, keep=keep, serve=serve)


def _register_groups() -> None:
    from gateway.web.cli_audit import audit
    from gateway.web.cli_authorities import authorities

    cli.add_command(authorities)
    cli.add_command(audit)
    for module, name in (
        ("gateway.web.cli_keys", "keys"),
        ("gateway.web.cli_models", "models"),
        ("gateway.web.cli_client", "client"),
        ("gateway.web.cli_users", "users"),
        ("gateway.web.cli_glossary", "glossary"),
        ("gateway.web.cli_requests", "requests_group"),
    ):
        try:
            group = getattr(__import__(module, fromlist=[name]), name)
        except ImportError:
            continue
        cli.add_command(group)


def main(argv: list[str] | None = None) -> None:
    _register_groups()
    try:
        cli.main(args=argv, standalone_mode=False, prog_name="rogatory")
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"error[{exc.code}]: {exc}", err=True)
        sys.exit(EXIT_REFUSED)
    except DomainError as exc:
        click.echo(f"error[{exc.code}]: {exc.message}", err=True)
        sys.exit(EXIT_REFUSED)
