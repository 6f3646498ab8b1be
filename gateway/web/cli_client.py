"""`rogatory client`: the reference client for magistrates and counterpart authorities.

client new-key       generate an API client key pair (private JWK 0600, public JWK)
client register-key  (gateway admin) register a client's public JWK for an authority
client seal          sign a request with the magistrate's key and encrypt it to the gateway
client submit        POST a sealed submission
client upload        stream a large attachment (sealed with --attach-large; needs the
                     upload_token of the submission's answer) to the gateway
client pull          token, inbox, lease, retrieve, decrypt, verify, unzip, acknowledge
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import os
import subprocess
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote

import click
import httpx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, import_key

from gateway.crypto import (
    CryptoError,
    RecipientKey,
    TrustConfig,
    decrypt_envelope,
    encrypt_envelope,
    sign,
)
from gateway.crypto import verify_signed as verify_signed_data
from gateway.crypto.credentials import load_signing_credentials
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key, write_private_file
from gateway.domain.errors import DomainError
from gateway.domain.file_names import file_name_problem
from gateway.domain.submission import MAX_INLINE_ATTACHMENT, AttachmentRef, build_submission
from gateway.web.cli import Context, pass_context

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACK_FORMAT = "rogatory.acknowledgement/1"


KEY_PASSWORD_ENV = "ROGATORY_KEY_PASSWORD"  # noqa: S105  (a variable's name, not a password)


def _signing_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    key = load_private_key(path)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise click.ClickException(f"{path.name}: an RSA or EC key is needed")
    return key


@click.group()
def client() -> None:
    """Reference client: seal and submit requests, pull and acknowledge deliveries."""


@client.command("new-key")
@click.option("--out", "private_out", type=click.Path(path_type=Path), required=True)
@click.option("--public-out", type=click.Path(path_type=Path), required=True)
def new_key(private_out: Path, public_out: Path) -> None:
    """Generate an EC P-256 client key: private JWK (mode 0600) and public JWK."""
    key = ECKey.generate_key("P-256", auto_kid=True)
    write_private_file(private_out, json.dumps(key.as_dict(private=True)).encode())
    public_out.write_text(json.dumps(key.as_dict(private=False), indent=2) + "\n")
    click.echo(f"client key written: private {private_out}, public {public_out}")


@client.command("register-key")
@click.argument("authority_id")
@click.argument("client_id")
@click.option("--jwk-file", type=click.Path(exists=True, path_type=Path), required=True)
@pass_context
def register_key(ctx: Context, authority_id: str, client_id: str, jwk_file: Path) -> None:
    """Register CLIENT_ID with its public JWK as an API client of AUTHORITY_ID."""
    from gateway.services.authority_registry import register_api_client

    jwk = json.loads(jwk_file.read_text())
    if not isinstance(jwk, dict) or "d" in jwk:
        raise click.ClickException("give the PUBLIC JWK (no private 'd' member)")
    import_key(jwk)  # refuses anything that is not a usable key
    with ctx.database() as engine:
        register_api_client(engine, authority_id, client_id, jwk)
    click.echo(f"API client {client_id} registered for {authority_id}")


@client.command("seal")
@click.argument("request_file", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--key",
    "--p12",
    "key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A .p12/.pfx file, or a PEM key (plain or encrypted) with --cert.",
)
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The PEM certificate of a PEM key (a .p12 carries its own).",
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding the password of the key file (or set ROGATORY_KEY_PASSWORD).",
)
@click.option("--gateway-cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--gateway-id", default="rogatory-gateway", show_default=True)
@click.option("--message-id", default=None, help="Default: a fresh random id.")
@click.option("--attach", type=click.Path(exists=True, path_type=Path), multiple=True)
@click.option(
    "--attach-large",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Listed by size + SHA-256 only; send it afterwards with 'client upload'.",
)
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True)
def seal(
    request_file: Path,
    key: Path,
    cert: Path | None,
    password_file: Path | None,
    gateway_cert: Path,
    gateway_id: str,
    message_id: str | None,
    attach: tuple[Path, ...],
    attach_large: tuple[Path, ...],
    out: Path,
) -> None:
    """Sign REQUEST_FILE (+ inline attachments) and encrypt it to the gateway."""
    credentials = load_signing_credentials(
        key, cert_path=cert, password=_key_password(password_file)
    )
    attachments = []
    for path in attach:
        data = path.read_bytes()
        if len(data) > MAX_INLINE_ATTACHMENT:
            raise click.ClickException(f"{path.name}: larger than the inline limit")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        digest = hashlib.sha256(data).hexdigest()
        attachments.append(AttachmentRef(path.name, media_type, len(data), digest, data))
    attachments.extend(_large_attachment_ref(path) for path in attach_large)
    content = build_submission(
        gateway=gateway_id,
        message_id=message_id or f"msg-{uuid.uuid4().hex}",
        created=datetime.now(UTC),
        request=_request_json(request_file),
        attachments=attachments,
    )
    signed = sign(content, credentials.key, credentials.certificate, extra_certs=credentials.chain)
    out.write_bytes(encrypt_envelope(signed, [load_certificate(gateway_cert)]))
    click.echo(f"sealed submission written to {out} ({out.stat().st_size} bytes)")


def _request_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DomainError(
            f"{path.name} is not a request file (JSON, as the web page downloads it)",
            code="request-file",
        ) from None


def _key_password(password_file: Path | None) -> bytes | None:
    """The key file's password: a file, the environment, or nothing (unencrypted keys)."""
    if password_file is not None:
        return password_file.read_bytes().rstrip(b"\r\n")
    value = os.environ.get(KEY_PASSWORD_ENV)
    return value.encode("utf-8") if value else None


@client.command("submit")
@click.argument("sealed", type=click.Path(exists=True, path_type=Path))
@click.option("--url", required=True, help="Gateway base URL, e.g. https://gateway.example")
def submit(sealed: Path, url: str) -> None:
    """POST a sealed submission; prints the gateway's JSON answer."""
    response = httpx.post(
        f"{url.rstrip('/')}/api/v1/submissions",
        content=sealed.read_bytes(),
        headers={"Content-Type": "application/pkcs7-mime"},
        timeout=120,
    )
    click.echo(json.dumps(response.json(), indent=2))
    if response.status_code != 202:
        raise click.ClickException(f"refused ({response.status_code})")


def _large_attachment_ref(path: Path) -> AttachmentRef:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return AttachmentRef(path.name, media_type, path.stat().st_size, digest.hexdigest())


@client.command("upload")
@click.argument("attachment", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--message-id", required=True, help="The sealed submission's message id.")
@click.option("--gateway-cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--url", required=True, help="Gateway base URL, e.g. https://gateway.example")
@click.option(
    "--token",
    required=True,
    envvar="ROGATORY_UPLOAD_TOKEN",
    help="The upload_token of the submission's answer (or ROGATORY_UPLOAD_TOKEN).",
)
def upload(attachment: Path, message_id: str, gateway_cert: Path, url: str, token: str) -> None:
    """Encrypt ATTACHMENT (sealed with --attach-large) as it streams to the gateway.

    ``openssl cms -encrypt -stream`` (AES-256-GCM, RSA-OAEP) writes into the HTTP body;
    neither side holds the file in memory.
    """
    command = [
        "openssl", "cms", "-encrypt", "-stream", "-binary", "-aes-256-gcm",
        "-recip", str(gateway_cert),
        "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256",
        "-in", str(attachment), "-outform", "DER",
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE) as encrypting:  # noqa: S603
        stdout: IO[bytes] = encrypting.stdout  # type: ignore[assignment]
        name = quote(attachment.name, safe="")
        response = httpx.put(
            f"{url.rstrip('/')}/api/v1/submissions/{quote(message_id, safe='')}/attachments/{name}",
            content=iter(lambda: stdout.read(1024 * 1024), b""),
            headers={"Content-Type": "application/pkcs7-mime", "Upload-Token": token},
            timeout=httpx.Timeout(60, read=3600),
        )
    if encrypting.returncode != 0:
        raise click.ClickException(f"openssl could not encrypt {attachment.name}")
    click.echo(json.dumps(response.json(), indent=2))
    if response.status_code not in (200, 201):
        raise click.ClickException(f"refused ({response.status_code})")


def _client_key(path: Path) -> tuple[Any, str]:
    """A private JWK (JSON) or PEM key file, with the JWS algorithm it signs with."""
    text = path.read_text()
    if text.lstrip().startswith("{"):
        key = import_key(json.loads(text))
        return key, "RS256" if isinstance(key, RSAKey) else "ES256"
    if isinstance(load_private_key(path), rsa.RSAPrivateKey):
        return RSAKey.import_key(text), "RS256"
    return ECKey.import_key(text), "ES256"


def _access_token(http: httpx.Client, client_id: str, client_key: Path) -> str:
    key, algorithm = _client_key(client_key)
    now = datetime.now(UTC)
    token_url = f"{http.base_url}".rstrip("/") + "/api/v1/oauth/token"
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=2)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    response = http.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": jwt.encode({"alg": algorithm}, claims, key),
        },
    )
    if response.status_code != 200:
        raise click.ClickException(f"token refused: {response.json().get('detail')}")
    return str(response.json()["access_token"])


def _unpack(archive: bytes, target: Path) -> dict[str, Any]:
    """Write the package's files under `target`, checking each against the manifest.

    Decrypted documents are private: every file is created 0600 (folders 0700), only
    inside `target`, never through a symbolic link, never over an existing file's link.
    """
    with zipfile.ZipFile(io.BytesIO(archive)) as package:
        manifest: dict[str, Any] = json.loads(package.read("manifest.json"))
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        root = target.resolve()
        _write_private(root, root / "manifest.json", package.read("manifest.json"))
        for entry in manifest["files"]:
            name = PurePosixPath(entry["name"])
            unsafe = [p for p in name.parts if p in {".", ".."} or file_name_problem(p)]
            if name.is_absolute() or not name.parts or unsafe:
                raise click.ClickException(f"unsafe file name in package: {name}")
            data = package.read(str(name))
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise click.ClickException(f"{name} does not match the manifest")
            _write_private(root, root.joinpath(*name.parts), data)
    return manifest


def _write_private(root: Path, path: Path, data: bytes) -> None:
    for folder in reversed(path.parents):
        if folder == root or root not in folder.parents:
            continue
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.is_symlink() or not folder.resolve().is_relative_to(root):
            raise click.ClickException(f"refusing to write outside {root}: {path}")
    if not path.parent.resolve().is_relative_to(root):
        raise click.ClickException(f"refusing to write outside {root}: {path}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing looser file becomes private too
        handle.write(data)


@client.command("pull")
@click.option("--url", required=True)
@click.option("--client-id", required=True)
@click.option("--client-key", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--key", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--cert", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--ca", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--crl", type=click.Path(exists=True, path_type=Path), multiple=True)
@click.option("--sign-key", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--sign-cert", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--limit", type=int, default=20, show_default=True)
def pull(
    url: str,
    client_id: str,
    client_key: Path,
    key: Path,
    cert: Path,
    ca: Path,
    crl: tuple[Path, ...],
    sign_key: Path | None,
    sign_cert: Path | None,
    out: Path,
    limit: int,
) -> None:
    """Pull every waiting item into OUT/<request id>/ and acknowledge it (with --sign-*)."""
    recipient = RecipientKey(_signing_key(key), load_certificate(cert))
    trust = TrustConfig(anchors=[load_certificate(ca)], crls=[load_crl(path) for path in crl])
    with httpx.Client(base_url=url.rstrip("/"), timeout=120) as http:
        http.headers["Authorization"] = f"Bearer {_access_token(http, client_id, client_key)}"
        items = http.get("/api/v1/inbox", params={"limit": limit}).json()["items"]
        for item in items:
            request_id = item["request_id"]
            leased = http.post(f"/api/v1/inbox/{request_id}/lease")
            if leased.status_code != 201:
                click.echo(f"{request_id}: skipped (lease refused)")
                continue
            package = http.get(
                f"/api/v1/requests/{request_id}/package",
                headers={"Lease-Token": leased.json()["lease_token"]},
            )
            if package.status_code != 200:
                raise click.ClickException(f"{request_id}: retrieval refused")
            try:
                inner = decrypt_envelope(package.content, [recipient])
                verified = verify_signed_data(inner, trust, now=datetime.now(UTC))
            except CryptoError as exc:
                raise click.ClickException(f"{request_id}: package refused ({exc.code})") from None
            manifest = _unpack(verified.content, out / request_id)
            if manifest.get("request_id") != request_id:
                raise click.ClickException(f"{request_id}: package is for another request")
            click.echo(f"{request_id}: {len(manifest['files'])} file(s) written")
            if sign_key and sign_cert:
                _acknowledge(http, request_id, manifest["message_sha256"], sign_key, sign_cert)
                click.echo(f"{request_id}: acknowledged")


def _acknowledge(
    http: httpx.Client, request_id: str, message_sha256: str, key: Path, cert: Path
) -> None:
    content = json.dumps(
        {
            "format": ACK_FORMAT,
            "request_id": request_id,
            "message_sha256": message_sha256,
            "received": True,
            "time": datetime.now(UTC).isoformat(),
        },
        sort_keys=True,
    ).encode()
    signed = sign(content, _signing_key(key), load_certificate(cert))
    response = http.post(
        f"/api/v1/requests/{request_id}/ack",
        content=signed,
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    if response.status_code != 200:
        raise click.ClickException(f"{request_id}: acknowledgement refused: {response.text}")
