"""Nothing hides an import from the import-linter contracts (pyproject.toml)."""

from __future__ import annotations

import re

from ops_support import REPO

HIDDEN = re.compile(r"\b__import__\s*\(|\bimportlib\b")


def test_no_dynamic_import_in_gateway_or_workers() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for root in ("gateway", "workers")
        for path in sorted((REPO / root).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if HIDDEN.search(line)
    ]
    assert offenders == []


def test_the_layer_contract_lists_every_gateway_package() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    listed = {name.strip() for layer in layers for name in layer.split("|")}
    packages = {
        f"gateway.{p.name}" for p in (REPO / "gateway").iterdir() if (p / "__init__.py").exists()
    }
    assert packages <= listed


def test_the_thin_cli_contract_lists_every_cli_module() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    thin = next(c for c in contracts if c["name"].startswith("CLI commands call services"))
    modules = {f"gateway.web.{p.stem}" for p in (REPO / "gateway" / "web").glob("cli*.py")}
    assert modules <= set(thin["source_modules"])
    assert not thin.get("ignore_imports")  # no command is let off
