"""Configuration is checked at start-up; the CLI answers errors with one line and an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ROGATORY_WORKER_CONCURRENCY": "many"}, "worker_concurrency"),
        ({"ROGATORY_LEASE_SECONDS": "1"}, "lease_seconds"),
        ({"DATABASE_URL": "mysql://x"}, "database_url"),
        ({"BROKER_URL": "kafka://x"}, "broker_url"),
        ({"ROGATORY_TRANSLATION_ENGINE": "google"}, "translation_engine"),
        ({"ROGATORY_ALLOW_LEGACY_CBC": "perhaps"}, "allow_legacy_cbc"),
    ],
)
def test_bad_setting_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_toml_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "rogatory.toml"
    config.write_text('[rogatory]\nlease_seconds = 60\ngateway_id = "gw-test"\n')
    settings = load_settings({"ROGATORY_CONFIG": str(config), "ROGATORY_LEASE_SECONDS": "90"})
    assert (settings.lease_seconds, settings.gateway_id) == (90, "gw-test")


def test_embedded_defaults_need_no_services(tmp_path: Path) -> None:
    settings = load_settings({"ROGATORY_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/rogatory.sqlite3"
    assert settings.embedded_broker


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_bad_setting_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "ROGATORY_DATA_DIR": str(tmp_path),
        "ROGATORY_HTTP_PORT": "70000",
    }
    result = _cli("init", env=env)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error[bad-config]: setting 'http_port': must be between 1 and 65535"
    )


@pytest.mark.parametrize("command", ["init", "serve", "worker", "demo", "authorities", "audit"])
def test_every_command_has_help(command: str) -> None:
    result = _cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: rogatory" in result.stdout
