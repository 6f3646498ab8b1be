"""`rogatory client` end to end, each command a real process against the running gateway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from exchange_support import FIXTURES, MADRID, Gateway

from gateway.persistence.db import transaction
from gateway.persistence.tables import requests


def rogatory(gateway: Gateway, *args: str | Path) -> str:
    env = {**os.environ, "ROGATORY_DATA_DIR": str(gateway.settings.data_dir)}
    result = subprocess.run(
        [sys.executable, "-c", "from gateway.web.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_client_seals_submits_pulls_and_acknowledges(gateway: Gateway, tmp_path: Path) -> None:
    pki = gateway.pki
    rogatory(
        gateway,
        "client",
        "new-key",
        "--out",
        tmp_path / "c.jwk",
        "--public-out",
        tmp_path / "c.pub.jwk",
    )
    assert (tmp_path / "c.jwk").stat().st_mode & 0o077 == 0
    rogatory(
        gateway,
        "client",
        "register-key",
        MADRID,
        "madrid-cli",
        "--jwk-file",
        tmp_path / "c.pub.jwk",
    )
    evidence = tmp_path / "statement.txt"
    evidence.write_text("Witness statement, 3 pages.\n")
    rogatory(gateway, "client", "seal", FIXTURES / "mla_request.json",
             "--key", pki / "magistrate-ec.key", "--cert", pki / "magistrate-ec.pem",
             "--gateway-cert", pki / "gateway-intake.pem", "--attach", evidence,
             "-o", tmp_path / "out.p7m")  # fmt: skip
    answer = json.loads(
        rogatory(gateway, "client", "submit", tmp_path / "out.p7m", "--url", gateway.url)
    )
    assert answer["outcome"] == "accepted"
    request_id = answer["request_id"]
    gateway.make_available(request_id)

    output = rogatory(gateway, "client", "pull", "--url", gateway.url, "--client-id", "madrid-cli",
                      "--client-key", tmp_path / "c.jwk", "--key", pki / "authority-b-enc.key",
                      "--cert", pki / "authority-b-enc.pem", "--ca", pki / "ca.pem",
                      "--crl", pki / "ca.crl.pem",
                      "--sign-key", pki / "authority-b-sign.key",
                      "--sign-cert", pki / "authority-b-sign.pem", "--out", tmp_path / "inbox",
                      "--limit", "100")  # fmt: skip
    assert f"{request_id}: acknowledged" in output
    folder = tmp_path / "inbox" / request_id
    assert (folder / "attachments" / "statement.txt").read_text() == evidence.read_text()
    assert json.loads((folder / "manifest.json").read_text())["request_id"] == request_id
    assert (folder / "request.p7s").stat().st_size > 0
    with transaction(gateway.runtime.engine) as conn:
        state = conn.execute(sa.select(requests.c.state).where(requests.c.id == request_id))
        assert state.scalar_one() == "acknowledged"
