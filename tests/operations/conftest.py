"""An operator's installation from an external PKI, through the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ops_support import IMPORT_COMMANDS, Cli, OperatorPki, operator_pki


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
