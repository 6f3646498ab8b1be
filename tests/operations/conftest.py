"""An operator's installation from an external PKI, through the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from ops_support import IMPORT_COMMANDS, OperatorPki, operator_pki

from gateway.config import Settings, load_settings
from gateway.web.cli import main


@dataclass
class Cli:
    """`rogatory --data-dir DATA ...` in this process: exit code, stdout, stderr."""

    data_dir: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main(["--data-dir", str(self.data_dir), *map(str, args)])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    @property
    def settings(self) -> Settings:
        return load_settings({}, overrides={"data_dir": str(self.data_dir)})

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "data", capsys)


@pytest.fixture
def pki(tmp_path: Path) -> OperatorPki:
    return operator_pki(tmp_path / "national-pki")


@pytest.fixture
def installed(cli: Cli, pki: OperatorPki) -> Callable[[], Cli]:
    """init + every `keys import` of keys/README.md's first installation."""

    def install() -> Cli:
        code, out, err = cli("init")
        assert code == 0, err
        for command in IMPORT_COMMANDS:
            args = [pki.path(arg) if "." in arg else arg for arg in command[1:]]
            code, out, err = cli("keys", "import", command[0], *args)
            assert code == 0, f"{command}: {out}{err}"
        return cli

    return install
