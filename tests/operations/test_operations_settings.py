"""One Settings object: one name per setting in the environment, the TOML file and the
README table; `config show` masks secrets."""

from __future__ import annotations

import re
from dataclasses import Field, fields
from pathlib import Path
from typing import Any

import pytest
from ops_support import REPO, Cli

from gateway.config import ConfigError, Settings, env_name, is_secret, load_settings


def _readme_settings() -> set[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_column = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_column))
    return names


def test_readme_table_lists_every_setting() -> None:
    settings = {env_name(spec.name) for spec in fields(Settings)}
    documented = _readme_settings()
    assert sorted(settings - documented) == [], "settings missing from the README table"
    assert "ROGATORY_LEASE_SECONDS" in documented


SAMPLES = {"log_level": "DEBUG", "translation_engine": "apertium", "lease_seconds": "30"}


def _sample(spec: Field[Any], default: Settings, tmp_path: Path) -> str:
    """A valid value other than the default, derived from the type (new settings fit)."""
    kind = spec.type if isinstance(spec.type, str) else spec.type.__name__
    current = getattr(default, spec.name)
    if spec.name in SAMPLES:
        return SAMPLES[spec.name]
    if spec.name.endswith("_url"):
        if str(tmp_path) in str(current):
            return str(current).replace(str(tmp_path), str(tmp_path / "other"))
        return "https://gateway.example"
    if kind == "bool":
        return "false" if current else "true"
    if kind == "int":
        return str(current + 1)
    if kind == "Path":
        return str(tmp_path / "elsewhere")
    return f"{current}x" if current else "x"


@pytest.mark.parametrize("spec", fields(Settings), ids=lambda spec: spec.name)
def test_every_setting_has_one_name_in_environment_and_toml(
    spec: Field[Any], tmp_path: Path
) -> None:
    name = env_name(spec.name)
    default = load_settings({}, overrides={"data_dir": str(tmp_path)})
    value = _sample(spec, default, tmp_path)
    toml = tmp_path / "rogatory.toml"
    lines = {"ROGATORY_DATA_DIR": str(tmp_path), name: value}
    toml.write_text("[rogatory]\n" + "".join(f'{key} = "{text}"\n' for key, text in lines.items()))
    outcomes = []
    for source in (lines, {"ROGATORY_CONFIG": str(toml)}):
        try:
            outcomes.append(getattr(load_settings(source), spec.name))
        except ConfigError as exc:
            outcomes.append(f"refused: {exc}")
    assert outcomes[0] == outcomes[1]
    assert spec.name == "data_dir" or outcomes[0] != getattr(default, spec.name)


def test_toml_accepts_the_readme_names_and_still_refuses_unknown_ones(tmp_path: Path) -> None:
    toml = tmp_path / "rogatory.toml"
    toml.write_text("[rogatory]\nROGATORY_LEASE_SECONDS = 42\nlease_seconds_typo = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'lease_seconds_typo'"):
        load_settings({"ROGATORY_CONFIG": str(toml)})
    toml.write_text("[rogatory]\nROGATORY_LEASE_SECONDS = 42\n")
    assert load_settings({"ROGATORY_CONFIG": str(toml)}).lease_seconds == 42


def test_config_show_prints_every_setting_with_secrets_masked(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROGATORY_PKCS11_PIN", "pin-4711")
    monkeypatch.setenv("ROGATORY_KEK", "S0VLLXNlY3JldC12YWx1ZQ==")
    monkeypatch.setenv("BROKER_URL", "amqp://guest:pw-0815@127.0.0.1:5672//")
    code, out, err = cli("config", "show")
    assert code == 0, err
    shown = dict(line.split(" = ", 1) for line in out.splitlines())
    assert set(shown) == {env_name(spec.name) for spec in fields(Settings)}
    assert "pin-4711" not in out
    assert "S0VLLXNlY3JldC12YWx1ZQ==" not in out
    assert "pw-0815" not in out
    assert shown["ROGATORY_PKCS11_PIN"] == "******"
    assert shown["BROKER_URL"] == "amqp://guest:******@127.0.0.1:5672//"
    assert shown["ROGATORY_LEASE_SECONDS"] == "300"
    assert all(is_secret(spec.name) for spec in fields(Settings) if spec.metadata.get("secret"))
