"""`rogatory models ...`: install, list, remove and verify local `.argosmodel` packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from gateway.translation.engine_pairs import installed_engines
from gateway.translation.model_packages import (
    ModelPackageError,
    install_package,
    list_packages,
    remove_package,
    verify_packages,
)

EXIT_REFUSED = 2


def _data_dir(ctx: click.Context, explicit: Path | None) -> Path:
    """`models --data-dir` wins; otherwise the data dir of the `rogatory` settings."""
    if explicit is not None:
        return explicit
    from gateway.web.cli import Context  # the parent group's lazily loaded settings

    parent = ctx.find_object(Context)
    if parent is None:
        raise click.UsageError("no data directory: pass --data-dir or set ROGATORY_DATA_DIR")
    return Path(parent.settings.data_dir)


def _fail(error: ModelPackageError) -> None:
    click.echo(f"error[{error.code}]: {error.message}", err=True)
    sys.exit(EXIT_REFUSED)


@click.group("models")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ROGATORY_DATA_DIR",
    default=None,
    help="Data directory; packages live in <data_dir>/models/packages.",
)
@click.pass_context
def models(ctx: click.Context, data_dir: Path | None) -> None:
    """Machine-translation model packages (installed from local files only)."""
    ctx.meta["rogatory.models.data_dir"] = data_dir


def _resolve(ctx: click.Context) -> Path:
    return _data_dir(ctx, ctx.meta.get("rogatory.models.data_dir"))


@models.command("install")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sha256", "pin", help="Expected SHA-256 of the .argosmodel file.")
@click.pass_context
def install(ctx: click.Context, file: Path, pin: str | None) -> None:
    """Install FILE (.argosmodel) after checking it."""
    try:
        package = install_package(_resolve(ctx), file, expected_sha256=pin)
    except ModelPackageError as error:
        _fail(error)
        return
    if pin is None:
        click.echo("warning: installed without a --sha256 pin; record this hash", err=True)
    click.echo(f"installed {package.name} sha256={package.archive_sha256}")


@models.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List installed packages (name, pair, version, SHA-256), then the pairs per engine."""
    data_dir = _resolve(ctx)
    for package in list_packages(data_dir):
        click.echo(
            f"{package.name}\t{package.from_code}->{package.to_code}\t"
            f"{package.package_version}\t{package.archive_sha256}"
        )
    for engine in installed_engines(data_dir):
        pairs = ", ".join(f"{a}->{b}" for a, b in sorted(engine.pairs)) or "none"
        click.echo(f"engine {engine.engine}: {pairs}")


@models.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove the installed package NAME."""
    try:
        remove_package(_resolve(ctx), name)
    except ModelPackageError as error:
        _fail(error)
        return
    click.echo(f"removed {name}")


@models.command("verify")
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Re-hash installed files against their install records; exit 1 on any problem."""
    data_dir = _resolve(ctx)
    problems = verify_packages(data_dir)
    for problem in problems:
        click.echo(f"{problem.package}: {problem.code}: {problem.detail}")
    if problems:
        sys.exit(1)
    click.echo(f"ok: {len(list_packages(data_dir))} package(s) verified")


@models.command("build-test-model")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "from_code", required=True, help="Source language code.")
@click.option("--to", "to_code", required=True, help="Target language code.")
@click.option("--seed", type=int, default=0, show_default=True)
def build_test_model(out: Path, from_code: str, to_code: str, seed: int) -> None:
    """DEVELOPMENT ONLY: write a random-weight .argosmodel to OUT.

    The package is structurally real (sentencepiece + CTranslate2, loads and runs through
    argostranslate offline) but its weights are random: its output is gibberish. Use it to
    see the argos engine run (`models install OUT`, ROGATORY_TRANSLATION_ENGINE=argos) and
    in tests; never to translate real requests.
    """
    # The builder needs ctranslate2/sentencepiece, which the gateway never imports.
    completed = subprocess.run(  # noqa: S603 - fixed module, arguments passed as a list
        [
            sys.executable,
            "-m",
            "workers.translation.build_test_model",
            str(out),
            "--from",
            from_code,
            "--to",
            to_code,
            "--seed",
            str(seed),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if completed.returncode != 0:
        click.echo(f"error[build-failed]: {completed.stderr.strip()[-500:]}", err=True)
        sys.exit(EXIT_REFUSED)
    click.echo(f"wrote {out} (RANDOM WEIGHTS, test/development only: output is gibberish)")
