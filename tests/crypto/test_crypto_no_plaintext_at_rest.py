"""After a whole `rogatory demo`, a canary from the request is in no file the gateway keeps."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from gateway.runtime.demo import client_files_dir

_RUN_DEMO_WITH_CANARY = """
import sys
from gateway.runtime import demo
from gateway.web.cli import main
demo.FIXTURE["sections"]["G"]["facts"] += " Reference " + sys.argv[2] + "."
demo.FIXTURE["sections"]["C"]["measures_description"] += " Keyword " + sys.argv[2] + "."
main(["--data-dir", sys.argv[1], "demo"])
"""


def _encodings(canary: str) -> list[bytes]:
    return [canary.encode("utf-8"), canary.encode("utf-16-le"), canary.lower().encode()]


@pytest.mark.slow
def test_canary_from_the_request_is_in_no_file_under_the_data_directory(tmp_path: Path) -> None:
    canary = f"Zqx{uuid.uuid4().hex[:12]}Canary"
    data_dir = tmp_path / "demo"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", _RUN_DEMO_WITH_CANARY, str(data_dir), canary],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Demo complete." in result.stdout
    client_side = client_files_dir(data_dir)  # the users' plaintext, beside the gateway's
    inbox = list(client_side.rglob("translation.json"))
    assert inbox, "the counterpart received nothing"
    assert any(canary.encode() in path.read_bytes() for path in inbox)  # it did travel
    sealed_by_client = (client_side / "request.json").read_bytes()
    assert any(needle in sealed_by_client for needle in _encodings(canary))  # the scan can see it

    scanned, leaks = 0, []
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        content = path.read_bytes()
        scanned += 1
        if any(needle in content for needle in _encodings(canary)):
            leaks.append(str(path.relative_to(data_dir)))
    logs = sorted(p.name for p in (data_dir / "logs").iterdir())
    assert logs == ["serve.log", "worker.log"]  # the logs were among the scanned files
    assert scanned > 10
    assert leaks == []
