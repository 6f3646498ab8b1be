"""`rogatory models ...`: install, list, remove and verify local `.argosmodel` packages."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.translation.model_packages import (
    ModelPackageError,
    install_package,
    list_packages,
    remove_package,
    verify_packages,
)

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ROGATORY_DATA_DIR",
    required=True,
    help="Rogatory data directory (env ROGATORY_DATA_DIR); models live in <data_dir>/models.",
)


def _fail(error: ModelPackageError) -> None:
    click.echo(f"error: {error.code}: {error.message}", err=True)
    sys.exit(2)


@click.group("models")
def models() -> None:
    """Machine-translation model packages (installed from local files only)."""


@models.command("install")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sha256", "pin", help="Expected SHA-256 of the .argosmodel file.")
@_DATA_DIR
def install(file: Path, pin: str | None, data_dir: Path) -> None:
    """Install FILE (.argosmodel) after checking it."""
    try:
        package = install_package(data_dir, file, expected_sha256=pin)
    except ModelPackageError as error:
        _fail(error)
        return
    if pin is None:
        click.echo("warning: no --sha256 pin given; record this hash:", err=True)
    click.echo(f"installed {package.name} sha256={package.archive_sha256}")


@models.command("list")
@_DATA_DIR
def list_command(data_dir: Path) -> None:
    """List installed packages."""
    for package in list_packages(data_dir):
        click.echo(
            f"{package.name}\t{package.from_code}->{package.to_code}\t"
            f"{package.package_version}\t{package.archive_sha256}"
        )


@models.command("remove")
@click.argument("name")
@_DATA_DIR
def remove(name: str, data_dir: Path) -> None:
    """Remove the installed package NAME."""
    try:
        remove_package(data_dir, name)
    except ModelPackageError as error:
        _fail(error)
        return
    click.echo(f"removed {name}")


@models.command("verify")
@_DATA_DIR
def verify(data_dir: Path) -> None:
    """Re-hash installed files against their install records; exit 1 on any problem."""
    problems = verify_packages(data_dir)
    for problem in problems:
        click.echo(f"{problem.package}: {problem.code}: {problem.detail}")
    if problems:
        sys.exit(1)
    click.echo(f"ok: {len(list_packages(data_dir))} package(s) verified")
