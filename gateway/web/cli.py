"""`rogatory` command line: init, serve, worker, demo, authorities, keys, audit, models."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.config import ConfigError, Settings, load_settings
from gateway.domain.errors import DomainError
from gateway.runtime.allocator import keep_freed_pieces

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

EXIT_REFUSED = 2


class Context:
    """Settings are read lazily so `--help` works even with a broken configuration."""

    def __init__(self, data_dir: str | None) -> None:
        self._data_dir = data_dir
        self._settings: Settings | None = None

    @contextmanager
    def database(self) -> Iterator[Engine]:
        """An engine on the configured database, disposed when the command is done."""
        from gateway.runtime.container import database_engine

        with database_engine(self.settings) as engine:
            yield engine

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
    from gateway.runtime.file_modes import private_umask, secure_data_dir
    from gateway.runtime.setup import initialise

    private_umask()
    secure_data_dir(ctx.settings.data_dir)
    for line in initialise(ctx.settings, dev_pki=dev_pki, demo_authorities=demo_authorities):
        click.echo(line)


def _check_startup(settings: Settings) -> None:
    """Refuse to start with keys that would fail the first submission (error[bad-keyring])."""
    import logging

    from gateway.runtime.preflight import check_startup

    for warning in check_startup(settings):
        logging.getLogger("gateway.startup").warning(warning)


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080).")
@pass_context
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Run the HTTP gateway on gunicorn (starts the embedded broker when configured)."""
    from gateway.logs import configure_logging
    from gateway.runtime.broker import ensure_embedded_broker
    from gateway.runtime.file_modes import private_umask, secure_data_dir
    from gateway.runtime.setup import encrypt_legacy_totp
    from gateway.web.server import serve_forever

    settings = ctx.settings
    configure_logging(settings.log_level)
    private_umask()
    _check_startup(settings)  # keys and KEK, before modes are tightened: a loose key is refused
    secure_data_dir(settings.data_dir)
    encrypt_legacy_totp(settings)
    from gateway.services.translation_engines import report_translation_pairs

    with ctx.database() as engine:  # which pairs are served, a warning for each one not
        report_translation_pairs(engine, settings)
    if settings.embedded_broker:
        ensure_embedded_broker(settings)
    # the address served is the default public URL (token audience) when none is configured
    settings = replace(
        settings, http_host=host or settings.http_host, http_port=port or settings.http_port
    )
    serve_forever(settings, settings.http_host, settings.http_port)


@cli.command()
# `preview` (the magistrates' translation previews) last: the pipeline's work goes first
@click.option(
    "--queues", default="urgent,translate,render,deliver,default,preview", show_default=True
)
@click.option("--concurrency", type=int, default=None, help="Worker processes.")
@click.option("--beat/--no-beat", default=True, help="Also run the periodic jobs.")
@pass_context
def worker(ctx: Context, queues: str, concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker, restarted if it stops (and the embedded broker, when configured)."""
    from gateway.logs import configure_logging
    from gateway.runtime.file_modes import private_umask, secure_data_dir
    from gateway.runtime.supervisor import supervise
    from gateway.web.hardening import check_production_identity

    settings = ctx.settings
    check_production_identity(settings)
    private_umask()  # inherited by the supervised worker: its files are 0600 too
    _check_startup(settings)
    secure_data_dir(settings.data_dir)
    os.environ["ROGATORY_DATA_DIR"] = str(settings.data_dir)
    # The gateway never imports workers/: the worker is its own program, supervised.
    count = str(concurrency or settings.worker_concurrency)
    mode = "beat" if beat else "no-beat"
    code = supervise(
        settings,
        [queues, count, mode],
        configure=lambda: configure_logging(settings.log_level),
    )
    sys.exit(code)


@cli.command()
@click.option("--keep", is_flag=True, help="Leave the embedded broker running afterwards.")
@click.option("--serve", is_flag=True, help="Keep the gateway and a worker up until Ctrl-C.")
@pass_context
def demo(ctx: Context, keep: bool, serve: bool) -> None:
    """Run one request through its whole life and print each step."""
    from gateway.runtime.demo import run_demo
    from gateway.runtime.file_modes import private_umask

    private_umask()
    run_demo(ctx.settings, echo=click.echo, keep=keep, serve=serve)


@cli.group("config")
def config_group() -> None:
    """The effective configuration."""


@config_group.command("show")
@pass_context
def config_show(ctx: Context) -> None:
    """Print every setting's effective value (environment, TOML file, defaults); secrets
    and passwords in URLs are masked."""
    from gateway.config import describe

    for name, value in describe(ctx.settings):
        click.echo(f"{name} = {value}")


@cli.command()
@pass_context
def doctor(ctx: Context) -> None:
    """Check database, broker, object store, keys, CRLs, engines, fonts, disk (ok/warn/fail)."""
    from gateway.runtime.doctor import FAIL, run_doctor

    failed = False
    for check in run_doctor(ctx.settings):
        click.echo(check.line())
        failed = failed or check.status == FAIL
    if failed:
        raise SystemExit(1)


@cli.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@pass_context
def backup(ctx: Context, dest: Path) -> None:
    """Back up database, object store, keys and certificates into DEST (never the KEK)."""
    from gateway.runtime.backup import create_backup

    for line in create_backup(ctx.settings, dest):
        click.echo(line)


@cli.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--kek",
    "kek_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The KEK file the backup was made under (else ROGATORY_KEK or <keys>/kek.b64).",
)
@pass_context
def restore(ctx: Context, source: Path, kek_file: Path | None) -> None:
    """Check a backup whole, then restore it into a fresh data directory."""
    from gateway.runtime.backup import install_kek, restore_backup

    if kek_file is not None:
        install_kek(ctx.settings, kek_file)
    report = restore_backup(ctx.settings, source)
    click.echo(f"restored {report.files} files ({report.objects} objects) from {source}")
    if report.audit_problems:
        for problem in report.audit_problems:
            click.echo(f"audit: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"audit log verified: {report.audit_entries} entries")


def _authorities() -> click.Command:
    from gateway.web.cli_authorities import authorities

    return authorities


def _audit() -> click.Command:
    from gateway.web.cli_audit import audit

    return audit


def _keys() -> click.Command:
    from gateway.web.cli_keys import keys

    return keys


def _models() -> click.Command:
    from gateway.web.cli_models import models

    return models


def _client() -> click.Command:
    from gateway.web.cli_client import client

    return client


def _users() -> click.Command:
    from gateway.web.cli_users import users

    return users


def _glossary() -> click.Command:
    from gateway.web.cli_glossary import glossary

    return glossary


def _tm() -> click.Command:
    from gateway.web.cli_tm import tm

    return tm


def _review() -> click.Command:
    from gateway.web.cli_review import review_group

    return review_group


def _requests() -> click.Command:
    from gateway.web.cli_requests import requests_group

    return requests_group


def _objects() -> click.Command:
    from gateway.web.cli_objects import objects

    return objects


# Command groups load only when named, so `rogatory client pull` on a counterpart's
# machine does not import the gateway's stores, models and review tooling.
_GROUPS: dict[str, Callable[[], click.Command]] = {
    "authorities": _authorities,
    "audit": _audit,
    "keys": _keys,
    "models": _models,
    "client": _client,
    "users": _users,
    "glossary": _glossary,
    "tm": _tm,
    "review": _review,
    "requests": _requests,
    "objects": _objects,
}


def _register_groups(names: Iterable[str] | None = None) -> None:
    for name in _GROUPS if names is None else names:
        if name in _GROUPS and name not in cli.commands:
            cli.add_command(_GROUPS[name](), name)


def _named_group(argv: list[str]) -> list[str] | None:
    """The group an invocation names (after the root options), or None: load them all."""
    args = list(argv)
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option == "--data-dir" and args:
            args.pop(0)
    if args and args[0] in _GROUPS:
        return [args[0]]
    return None


def main(argv: list[str] | None = None) -> None:
    keep_freed_pieces()  # before any stream: see runtime/allocator.py
    _register_groups(_named_group(sys.argv[1:] if argv is None else argv))
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
