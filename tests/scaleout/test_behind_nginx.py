"""The gateway behind a real local nginx (deploy/nginx/rogatory.conf) terminating TLS."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from foundation_support import sealed_submission
from joserfc.jwk import ECKey
from process_support import REPO, free_port
from server_support import GatewayProcess

from gateway.persistence import exchange_store
from gateway.persistence.db import make_engine, transaction
from gateway.services.reference_client import token_request

SITE = REPO / "deploy" / "nginx" / "rogatory.conf"
pytestmark = pytest.mark.slow


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "tls.pem", directory / "tls.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _render_site(port: int, upstream: int, cert: Path, key: Path) -> str:
    """deploy/nginx/rogatory.conf as shipped, pointed at this test's ports and files."""
    site = SITE.read_text()
    redirect_start = site.index("server {\n    listen 80;")
    redirect_end = site.index("}\n", redirect_start) + 2
    site = site[:redirect_start] + site[redirect_end:]
    replacements = {
        "server 10.0.0.11:8080 max_fails=3 fail_timeout=10s;": f"server 127.0.0.1:{upstream};",
        "    server 10.0.0.12:8080 max_fails=3 fail_timeout=10s;\n": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
        "/etc/rogatory/tls/fullchain.pem": str(cert),
        "/etc/rogatory/tls/privkey.pem": str(key),
        "server_name gateway.example.org;": "server_name 127.0.0.1;",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/rogatory.conf no longer has {old!r}"
        site = site.replace(old, new)
    return site


class Nginx:
    def __init__(self, root: Path, site: str) -> None:
        root.mkdir()
        (root / "site.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(
            f"    {kind}_temp_path {root / kind};" for kind in
            ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )  # fmt: skip
        (root / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {root / 'nginx.pid'};\n"
            f"error_log {root / 'error.log'} info;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n    access_log {root / 'access.log'};\n{temp}\n"
            f"    include {root / 'site.conf'};\n}}\n"
        )
        self.root = root
        self.process = subprocess.Popen(
            [shutil.which("nginx") or "nginx", "-p", str(root), "-e", str(root / "error.log"),
             "-c", str(root / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def log(self) -> str:
        return (self.root / "error.log").read_text(errors="replace")[-3000:]


def test_requests_through_nginx_with_tls_reach_the_gateway_as_https(make_settings, tmp_path):
    assert shutil.which("nginx"), "nginx (Debian package) is required by this test"
    settings = make_settings()
    key = ECKey.generate_key("P-256")
    engine = make_engine(settings.database_url)
    with transaction(engine) as conn:
        exchange_store.add_client(
            conn, "madrid-proxy-test", "es-fiscalia-madrid", key.as_dict(private=False)
        )
    engine.dispose()
    port = free_port()
    public = f"https://127.0.0.1:{port}"  # what clients see: nginx, TLS
    gateway = GatewayProcess(
        settings, tmp_path / "serve.log", env={
            "ROGATORY_TRUSTED_PROXY_HOPS": "1", "ROGATORY_PUBLIC_URL": public,
        },
    )  # fmt: skip
    cert, tls_key = _self_signed(tmp_path)
    proxy = Nginx(tmp_path / "nginx", _render_site(port, gateway.port, cert, tls_key))
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trusted, timeout=30) as https:
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = https.get(f"{public}/api/v1/health")
                    break
                except httpx.ConnectError:
                    assert proxy.process.poll() is None, proxy.log()
                    assert time.monotonic() < deadline, proxy.log()
                    time.sleep(0.2)
            assert health.status_code == 200
            assert health.headers["strict-transport-security"].startswith("max-age=")
            submitted = https.post(
                f"{public}/api/v1/submissions",
                content=sealed_submission(settings),
                headers={"Content-Type": "application/pkcs7-mime"},
            )
            assert submitted.status_code == 202, submitted.text
            # the client signs its token request for the public https URL, the audience the
            # gateway takes from its setting (never from Host or X-Forwarded-Host)
            token_url = f"{public}/api/v1/oauth/token"
            token = https.post(token_url, data=token_request("madrid-proxy-test", key, token_url))
            assert token.status_code == 200, token.text
            with pytest.raises(httpx.ConnectError):  # the gateway never speaks TLS itself
                https.get(f"https://127.0.0.1:{gateway.port}/api/v1/health")
        # an assertion for the address the gateway listens on is for another audience
        direct = httpx.post(
            f"{gateway.url}/api/v1/oauth/token",
            data=token_request("madrid-proxy-test", key, token_url.replace(public, gateway.url)),
            timeout=30,
        )
        assert direct.status_code == 401, direct.text
    finally:
        proxy.stop()
        gateway.stop()
