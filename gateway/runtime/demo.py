"""`rogatory demo`: one MLA request through its whole life, every step printed.

It drives the product as its users do: the magistrate's client seals and submits over
HTTP, a real Celery worker translates (Apertium English->Spanish) and renders, the
counterpart's client pulls, verifies and acknowledges, and the audit log is verified
offline at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from gateway.audit.entries import decode_entry
from gateway.config import Settings, load_settings
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import make_engine, transaction
from gateway.runtime.broker import ensure_embedded_broker, stop_embedded_broker
from gateway.runtime.container import load_kek
from gateway.services.accounts import create_demo_user, provisioning_uri

MARKER = ".rogatory-demo"
FIXTURE = {
    "schema": "rogatory.request/1",
    "request_type": "mla",
    "issuing_authority": "nl-om-rotterdam",
    "executing_authority": "es-fiscalia-madrid",
    "case_reference": "ROT-2026-00123",
    "language": "en",
    "confidentiality": "confidential",
    "sections": {
        "A": {"issuing_state": "NL", "executing_state": "ES"},
        "B": {
            "urgency": "urgent",
            "urgency_reason": "The money will be moved soon.",
            "deadline": "2027-01-15",
        },
        "C": {
            "measures": ["banking-information"],
            "measures_description": "Please send the statements of the bank account of the "
            "suspect for the period from January to June.",
        },
        "E": [
            {
                "role": "suspect",
                "surname": "Jansen",
                "forenames": "Pieter",
                "date_of_birth": "1980-04-12",
                "nationality": "NL",
            }
        ],
        "F": {"proceedings": "criminal"},
        "G": {
            "facts": "The suspect sold false invoices to a company in Rotterdam. "
            "The money was sent to a bank account in Madrid.",
            "legal_qualification": "Fraud and money laundering.",
            "list_offences": ["swindling", "laundering-proceeds"],
        },
        "K": {
            "authority_name": "Openbaar Ministerie Rotterdam",
            "representative": "A. de Vries",
            "signed_on": "2026-11-20",
        },
    },
}


def run_demo(
    settings: Settings, *, echo: Callable[[str], None], keep: bool, serve: bool = False
) -> None:
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise SystemExit(f"refusing to reuse {data_dir}: it is not a demo data directory")
        stop_embedded_broker(settings)
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, mode=0o700)
    (data_dir / MARKER).write_text("created by rogatory demo\n")
    env = {
        **os.environ,
        "ROGATORY_DATA_DIR": str(data_dir),
        "ROGATORY_TRANSLATION_ENGINE": "auto",
        # the demo serves plain http on 127.0.0.1; production cookies are Secure-only
        "ROGATORY_UI_INSECURE_COOKIES": "1",
    }
    settings = load_settings(env)
    # The users' side (the request before sealing, the counterpart's decrypted inbox) lives
    # beside the gateway's data directory, never inside it.
    work = client_files_dir(data_dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700, parents=True)
    pki = settings.keys_dir / "dev-pki"

    def cli(*args: str, quiet: bool = False) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "gateway", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(
                f"demo step 'rogatory {' '.join(args[:2])}' failed:\n{result.stderr.strip()}"
            )
        if not quiet:
            for line in result.stdout.strip().splitlines():
                echo(f"    {line}")
        return result.stdout

    echo("1. Initialise the gateway: data directory, throwaway PKI, schema, two authorities")
    cli("init", "--dev-pki", "--demo-authorities")
    if settings.embedded_broker:
        ensure_embedded_broker(settings)
        echo(f"   embedded broker (Redis) on {settings.broker_socket}")
    # a terminated demo still stops its server, worker and broker (the finally below)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    port = settings.http_port if serve else _free_port()
    url = f"http://127.0.0.1:{port}"
    logs = data_dir / "logs"
    logs.mkdir()
    processes = [
        _spawn(["serve", "--port", str(port)], env, logs / "serve.log"),
        _spawn(["worker", "--concurrency", "1"], env, logs / "worker.log"),
    ]
    try:
        _wait_http(url)
        echo(f"2. Gateway listening on {url}; a Celery worker is running (log: {logs})")
        login = _demo_login(settings, url)
        echo(login)
        request_file = work / "request.json"
        request_file.write_text(json.dumps(FIXTURE, indent=2))
        echo("3. The liaison magistrate seals the request on her side (sign, then encrypt)")
        sealed = work / "request.p7m"
        cli(
            "client",
            "seal",
            str(request_file),
            "--key",
            str(pki / "magistrate-rsa.key"),
            "--cert",
            str(pki / "magistrate-rsa.pem"),
            "--gateway-cert",
            str(pki / "gateway-intake.pem"),
            "--gateway-id",
            settings.gateway_id,
            "-o",
            str(sealed),
        )
        echo("4. ... and submits it over HTTP")
        answer = json.loads(cli("client", "submit", str(sealed), "--url", url, quiet=True))
        echo(
            f"    202 {answer['outcome']}; signed receipt {answer['receipt']['kind']} "
            f"sha256 {answer['receipt']['sha256'][:16]}..."
        )
        request_id = _latest_request(settings)
        echo(f"5. Request {request_id}: following its life in the audit log")
        seen: set[int] = set()  # audit entries already printed
        _follow(settings, request_id, echo, seen, until="made_available")
        echo("6. The counterpart (Fiscalía Madrid) registers an API key and pulls its inbox")
        cli(
            "client",
            "new-key",
            "--out",
            str(work / "client.jwk"),
            "--public-out",
            str(work / "client.pub.jwk"),
        )
        cli(
            "client",
            "register-key",
            "es-fiscalia-madrid",
            "madrid-client",
            "--jwk-file",
            str(work / "client.pub.jwk"),
        )
        inbox = work / "inbox"
        cli(*madrid_pull_args(url, pki, client_key=work / "client.jwk", out=inbox))
        _follow(settings, request_id, echo, seen, until="acknowledged")
        _show_translation(inbox, echo)
        echo("7. Verify the whole audit log offline and one receipt with only the log key")
        _verify_audit(cli, settings, work, echo)
        if serve:
            echo(f"Serving until Ctrl-C. {login.strip()}")
            _wait_for_interrupt(processes)
        else:
            echo(f"To try the web interface: make demo-ui (serves {settings.data_dir}).")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if not keep:
            stop_embedded_broker(settings)
    echo("Demo complete.")


def madrid_pull_args(url: str, pki: Path, *, client_key: Path, out: Path) -> list[str]:
    """`rogatory client pull` as the demo counterpart (Fiscalía Madrid, dev PKI) runs it."""
    return [
        "client", "pull", "--url", url, "--client-id", "madrid-client",
        "--client-key", str(client_key),
        "--key", str(pki / "authority-b-enc.key"), "--cert", str(pki / "authority-b-enc.pem"),
        "--ca", str(pki / "ca.pem"), "--crl", str(pki / "ca.crl.pem"),
        "--sign-key", str(pki / "authority-b-sign.key"),
        "--sign-cert", str(pki / "authority-b-sign.pem"),
        "--out", str(out),
    ]  # fmt: skip


def client_files_dir(data_dir: Path) -> Path:
    return data_dir.with_name(f"{data_dir.name}-client-files")


def _demo_login(settings: Settings, url: str) -> str:
    """A demo magistrate account; its password and TOTP secret are printed, demo only."""
    engine = make_engine(settings.database_url)
    try:
        user, password, secret = create_demo_user(engine, "nl-om-rotterdam", kek=load_kek(settings))
    finally:
        engine.dispose()
    return (
        f"   Web interface: {url}/ui/  user {user}  password {password}\n"
        f"   second factor: add {provisioning_uri(user, secret)} to an authenticator app"
    )


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit("demo terminated")


def _wait_for_interrupt(processes: list[subprocess.Popen[bytes]]) -> None:
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        return


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115  (the child owns it)
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gateway", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_http(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit("the gateway did not start; see its log")


def _latest_request(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    with transaction(engine) as conn:
        request_id = conn.execute(
            sa.text("SELECT id FROM requests ORDER BY received_at DESC LIMIT 1")
        ).scalar_one()
    engine.dispose()
    return str(request_id)


def _follow(
    settings: Settings,
    request_id: str,
    echo: Callable[[str], None],
    seen: set[int],
    *,
    until: str,
    timeout: float = 300,
) -> None:
    """Print the request's new audit entries (adding them to `seen`) until `until` appears."""
    engine = make_engine(settings.database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with transaction(engine) as conn:
                rows = conn.execute(
                    sa.select(audit_leaf.c.idx, audit_leaf.c.entry)
                    .where(audit_leaf.c.request_id == request_id)
                    .order_by(audit_leaf.c.idx)
                ).all()
            for index, raw in rows:
                if index in seen:
                    continue
                seen.add(index)
                entry = decode_entry(bytes(raw))
                detail = ", ".join(f"{k}={v}" for k, v in sorted(entry.detail.items()))
                echo(f"   [audit #{index}] {entry.event:<20} by {entry.actor:<28} {detail}")
                if entry.event == "step_failed":
                    raise SystemExit("a pipeline step failed; see the worker log")
                if entry.event == until:
                    return
            time.sleep(0.3)
    finally:
        engine.dispose()
    raise SystemExit(f"timed out waiting for '{until}'")


def _show_translation(inbox: Path, echo: Callable[[str], None]) -> None:
    for path in sorted(inbox.rglob("translation.json")):
        result = json.loads(path.read_text())
        for field in result["fields"][:3]:
            echo(f"   {field['path']}: [{field['status']}] {field['target']}")
        for pdf in sorted(inbox.rglob("request.pdf")):
            echo(f"   bilingual PDF: {pdf} ({pdf.stat().st_size} bytes, PAdES-sealed)")


def _verify_audit(
    cli: Callable[..., str], settings: Settings, work: Path, echo: Callable[[str], None]
) -> None:
    keys = settings.keys_dir / "dev-pki"
    url = settings.database_url
    cli(
        "audit",
        "checkpoint",
        "--log-key",
        str(keys / "audit-ed25519.key"),
        "--origin",
        f"{settings.gateway_id}/log",
        "--database-url",
        url,
        quiet=True,
    )
    cli(
        "audit",
        "verify",
        "--log-public-key",
        str(keys / "audit-ed25519.pub"),
        "--database-url",
        url,
    )
    receipt = work / "receipt-0.json"
    cli(
        "audit",
        "receipt",
        "0",
        str(receipt),
        "--log-public-key",
        str(keys / "audit-ed25519.pub"),
        "--database-url",
        url,
        quiet=True,
    )
    cli("audit", "verify-receipt", str(receipt), "--log-key", str(keys / "audit-ed25519.pub"))
