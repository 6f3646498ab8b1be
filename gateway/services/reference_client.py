"""The reference client's work, on the magistrate's or counterpart's machine.

`rogatory client ...` parses arguments and prints; this module generates client keys,
signs and encrypts submissions to the gateway (as openssl would), streams large
attachments, and pulls, decrypts, verifies, unpacks and acknowledges deliveries over HTTP.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, import_key

from gateway.crypto import (
    CryptoError,
    EnvelopeWriter,
    RecipientKey,
    TrustConfig,
    encrypt_envelope,
    open_sealed_stream,
    sign,
)
from gateway.crypto.credentials import SigningCredentials, load_signing_credentials
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key, write_private_file
from gateway.domain.errors import DomainError
from gateway.domain.submission import MAX_INLINE_ATTACHMENT, AttachmentRef, build_submission
from gateway.services import large_download, package_unpack
from gateway.services.package_unpack import PackageRefused, StreamingUnpacker

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACK_FORMAT = "rogatory.acknowledgement/1"
_PIECE = 1024 * 1024
KEY_PASSWORD_ENV = "ROGATORY_KEY_PASSWORD"  # noqa: S105  (a variable's name, not a password)

# an upload or a package download: 60 s to connect, an hour for the body
LARGE_TRANSFER_TIMEOUT = httpx.Timeout(60, read=3600)


class ClientRefusal(Exception):
    """A step the reference client refuses or the gateway refused; the CLI prints one line."""


@dataclass(frozen=True)
class GatewayAnswer:
    """The gateway's HTTP status and JSON answer, printed as is by the client."""

    status: int
    body: Any


@dataclass(frozen=True)
class PullEvent:
    """One step of a pull: `skipped` (lease refused), `written` or `acknowledged`."""

    request_id: str
    outcome: str
    files: int = 0


# --- keys -------------------------------------------------------------------------------


def new_client_key(private_out: Path, public_out: Path) -> None:
    """An EC P-256 client key: private JWK (mode 0600) and public JWK."""
    key = ECKey.generate_key("P-256", auto_kid=True)
    write_private_file(private_out, json.dumps(key.as_dict(private=True)).encode())
    public_out.write_text(json.dumps(key.as_dict(private=False), indent=2) + "\n")


def read_public_jwk(path: Path) -> dict[str, object]:
    """A client's PUBLIC JWK, refused if it holds a private member or is not a usable key."""
    jwk = json.loads(path.read_text())
    if not isinstance(jwk, dict) or "d" in jwk:
        raise ClientRefusal("give the PUBLIC JWK (no private 'd' member)")
    import_key(jwk)  # refuses anything that is not a usable key
    return jwk


def _signing_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    key = load_private_key(path)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ClientRefusal(f"{path.name}: an RSA or EC key is needed")
    return key


# --- sealing, submitting, uploading -----------------------------------------------------


@dataclass(frozen=True)
class SealingChoices:
    """What `client seal` and `client send` both take: the request, its inline
    attachments, who signs and the gateway it is encrypted to."""

    request_file: Path
    key: Path
    cert: Path | None
    password_file: Path | None
    gateway_cert: Path
    gateway_id: str
    message_id: str | None
    attach: tuple[Path, ...]

    def credentials(self) -> SigningCredentials:
        return load_signing_credentials(
            self.key, cert_path=self.cert, password=key_password(self.password_file)
        )


def seal_request(choices: SealingChoices, *, attach_large: tuple[Path, ...], out: Path) -> int:
    """Sign the request file (+ attachments) and encrypt it to the gateway; bytes written."""
    credentials = choices.credentials()
    attachments = [inline_attachment_ref(path) for path in choices.attach]
    attachments.extend(_large_attachment_ref(path) for path in attach_large)
    content = build_submission(
        gateway=choices.gateway_id,
        message_id=choices.message_id or f"msg-{uuid.uuid4().hex}",
        created=datetime.now(UTC),
        request=request_json(choices.request_file),
        attachments=attachments,
    )
    signed = sign(content, credentials.key, credentials.certificate, extra_certs=credentials.chain)
    out.write_bytes(encrypt_envelope(signed, [load_certificate(choices.gateway_cert)]))
    return out.stat().st_size


def media_type_of(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def inline_attachment_ref(path: Path) -> AttachmentRef:
    """An attachment carried inside the signed request (at most the inline limit)."""
    data = path.read_bytes()
    if len(data) > MAX_INLINE_ATTACHMENT:
        raise ClientRefusal(f"{path.name}: larger than the inline limit (use --attach-large)")
    digest = hashlib.sha256(data).hexdigest()
    return AttachmentRef(path.name, media_type_of(path), len(data), digest, data)


def request_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DomainError(
            f"{path.name} is not a request file (JSON, as the web page downloads it)",
            code="request-file",
        ) from None


def key_password(password_file: Path | None) -> bytes | None:
    """The key file's password: a file, the environment, or nothing (unencrypted keys)."""
    if password_file is not None:
        return password_file.read_bytes().rstrip(b"\r\n")
    value = os.environ.get(KEY_PASSWORD_ENV)
    return value.encode("utf-8") if value else None


def _large_attachment_ref(path: Path) -> AttachmentRef:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return AttachmentRef(path.name, media_type_of(path), path.stat().st_size, digest.hexdigest())


def submit_sealed(sealed: Path, url: str) -> GatewayAnswer:
    """POST a sealed submission; the gateway accepts it with 202."""
    response = httpx.post(
        f"{url.rstrip('/')}/api/v1/submissions",
        content=sealed.read_bytes(),
        headers={"Content-Type": "application/pkcs7-mime"},
        timeout=120,
    )
    return GatewayAnswer(response.status_code, response.json())


def upload_attachment(
    attachment: Path, *, message_id: str, gateway_cert: Path, url: str, token: str
) -> GatewayAnswer:
    """Encrypt ATTACHMENT (sealed with --attach-large) as it streams to the gateway.

    AuthEnvelopedData (AES-256-GCM, RSA-OAEP or ECDH), the shape of ``openssl cms -encrypt
    -stream`` (which the gateway takes as well) in segments of 1 MiB, so its length is known
    beforehand: the body goes with a Content-Length, read, encrypted and sent piece by
    piece; neither side holds the file in memory.
    """
    size = attachment.stat().st_size
    segments = [_PIECE] * (size // _PIECE) + ([size % _PIECE] if size % _PIECE else [])
    pending: list[bytes] = []
    envelope = EnvelopeWriter(pending.append, [load_certificate(gateway_cert)])

    def body() -> Iterator[bytes]:
        buffer = memoryview(bytearray(_PIECE))
        with attachment.open("rb", buffering=0) as source:
            for length in segments:
                if read_into(source, buffer[:length]) != length:
                    raise ClientRefusal(f"{attachment.name} changed while it was uploaded")
                envelope.segment(buffer[:length])
                yield from pending
                pending.clear()
            if source.read(1):
                raise ClientRefusal(f"{attachment.name} changed while it was uploaded")
        envelope.finish()
        yield from pending

    name = quote(attachment.name, safe="")
    response = httpx.put(
        f"{url.rstrip('/')}/api/v1/submissions/{quote(message_id, safe='')}/attachments/{name}",
        content=body(),
        headers={
            "Content-Type": "application/pkcs7-mime",
            "Content-Length": str(envelope.total_size(segments)),
            "Upload-Token": token,
        },
        timeout=LARGE_TRANSFER_TIMEOUT,
    )
    return GatewayAnswer(response.status_code, response.json())


def read_into(source: BinaryIO, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``source`` (short reads continued); the bytes read."""
    filled = 0
    while filled < len(buffer) and (count := source.readinto(buffer[filled:])):
        filled += count
    return filled


# --- pulling ----------------------------------------------------------------------------


def pull_deliveries(
    *,
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
) -> Iterator[PullEvent]:
    """Pull every waiting item into OUT/<request id>/ and acknowledge it (with sign_*).

    Yields each step as it happens, so what was done before a refusal is reported.
    """
    recipient = RecipientKey(_signing_key(key), load_certificate(cert))
    trust = TrustConfig(anchors=[load_certificate(ca)], crls=[load_crl(path) for path in crl])
    with httpx.Client(base_url=url.rstrip("/"), timeout=120) as http:
        http.headers["Authorization"] = f"Bearer {_access_token(http, client_id, client_key)}"
        items = http.get("/api/v1/inbox", params={"limit": limit}).json()["items"]
        for item in items:
            request_id = item["request_id"]
            leased = http.post(f"/api/v1/inbox/{request_id}/lease")
            if leased.status_code != 201:
                yield PullEvent(request_id, "skipped")
                continue
            out.mkdir(parents=True, exist_ok=True, mode=0o700)
            lease_token = leased.json()["lease_token"]
            manifest = _download_and_unpack(
                http, request_id, lease_token, recipient, trust, out / request_id
            )
            yield PullEvent(request_id, "written", files=len(manifest["files"]))
            if sign_key and sign_cert:
                _acknowledge(http, request_id, manifest["message_sha256"], sign_key, sign_cert)
                yield PullEvent(request_id, "acknowledged")


def _client_key(path: Path) -> tuple[Any, str]:
    """A private JWK (JSON) or PEM key file, with the JWS algorithm it signs with."""
    text = path.read_text()
    if text.lstrip().startswith("{"):
        key = import_key(json.loads(text))
        return key, "RS256" if isinstance(key, RSAKey) else "ES256"
    if isinstance(load_private_key(path), rsa.RSAPrivateKey):
        return RSAKey.import_key(text), "RS256"
    return ECKey.import_key(text), "ES256"


def token_request(
    client_id: str, key: Any, audience: str, *, algorithm: str = "ES256"
) -> dict[str, str]:
    """The form a private_key_jwt client POSTs to /api/v1/oauth/token: a fresh assertion
    signed with `key`, valid two minutes, for `audience` (the token endpoint's URL)."""
    now = datetime.now(UTC)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=2)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": jwt.encode({"alg": algorithm}, claims, key),
    }


def _access_token(http: httpx.Client, client_id: str, client_key: Path) -> str:
    key, algorithm = _client_key(client_key)
    token_url = f"{http.base_url}".rstrip("/") + "/api/v1/oauth/token"
    response = http.post(
        "/api/v1/oauth/token", data=token_request(client_id, key, token_url, algorithm=algorithm)
    )
    if response.status_code != 200:
        raise ClientRefusal(f"token refused: {response.json().get('detail')}")
    return str(response.json()["access_token"])


class _BodyReader:
    """A response body as a readable stream for the streaming decryptor (short reads)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._rest = b""

    def read(self, size: int = -1) -> bytes:
        piece = self._rest or next(self._pieces, b"")
        if 0 <= size < len(piece):
            piece, self._rest = piece[:size], piece[size:]
        else:
            self._rest = b""
        return piece


def _download_and_unpack(
    http: httpx.Client,
    request_id: str,
    lease_token: str,
    recipient: RecipientKey,
    trust: TrustConfig,
    target: Path,
) -> dict[str, Any]:
    """GET the sealed package and decrypt, verify and unpack it as it arrives (no copy of
    it on disk); see ``open_and_unpack``. The body is read in 1 MiB pieces straight from
    the socket (``large_download``), through httpx only where a proxy applies."""
    path = f"/api/v1/requests/{request_id}/package"
    headers = {"Authorization": http.headers["Authorization"], "Lease-Token": lease_token}
    try:
        with large_download.open_get(http, path, headers, LARGE_TRANSFER_TIMEOUT) as direct:
            if direct is not None:
                if direct.status_code != 200:
                    raise ClientRefusal(f"{request_id}: retrieval refused")
                return open_and_unpack(
                    cast(BinaryIO, direct), recipient, trust, target, request_id=request_id
                )
    except large_download.DownloadError as exc:
        raise ClientRefusal(f"{request_id}: {exc}") from None
    with http.stream(
        "GET", path, headers={"Lease-Token": lease_token}, timeout=LARGE_TRANSFER_TIMEOUT
    ) as response:
        if response.status_code != 200:
            raise ClientRefusal(f"{request_id}: retrieval refused")
        # the pieces as they arrive: gathering them into larger ones would copy each byte
        body = _BodyReader(response.iter_bytes())
        return open_and_unpack(
            cast(BinaryIO, body), recipient, trust, target, request_id=request_id
        )


def open_and_unpack(
    package: BinaryIO,
    recipient: RecipientKey,
    trust: TrustConfig,
    target: Path,
    *,
    request_id: str,
) -> dict[str, Any]:
    """Decrypt, verify and unpack the sealed ``package`` (read once) under ``target``; its
    manifest.

    The ZIP is unpacked while it is decrypted, into hidden partial files that are renamed
    into place only once the signature, chain and every file's hash verified and the
    package is for ``request_id``. Refused packages raise ClientRefusal (naming the crypto
    error code for a package that does not verify) and leave nothing behind, as does any
    other failure.
    """
    unpacker = StreamingUnpacker(target)
    try:
        open_sealed_stream(package, [recipient], trust, unpacker.write, now=datetime.now(UTC))
        manifest = unpacker.close()
        if manifest.get("request_id") != request_id:
            raise ClientRefusal(f"{request_id}: package is for another request")
        unpacker.commit()
    except CryptoError as exc:
        unpacker.discard()
        raise ClientRefusal(f"{request_id}: package refused ({exc.code})") from None
    except PackageRefused as exc:
        unpacker.discard()
        raise ClientRefusal(str(exc)) from None
    except BaseException:
        unpacker.discard()
        raise
    return manifest


def open_package(
    package: Path | BinaryIO,
    recipient: RecipientKey,
    trust: TrustConfig,
    archive: Path,
    *,
    request_id: str,
) -> None:
    """Decrypt and verify the sealed ``package`` (a file or a stream, read once) into the
    ZIP file ``archive``.

    Refused packages raise ClientRefusal naming the crypto error code; ``archive`` (which
    held unauthenticated bytes) is removed then, as on any other failure.
    """
    try:
        with contextlib.ExitStack() as stack:
            source = (
                stack.enter_context(package.open("rb")) if isinstance(package, Path) else package
            )
            sink = stack.enter_context(archive.open("wb"))
            open_sealed_stream(source, [recipient], trust, sink.write, now=datetime.now(UTC))
    except CryptoError as exc:
        archive.unlink(missing_ok=True)
        raise ClientRefusal(f"{request_id}: package refused ({exc.code})") from None
    except BaseException:
        archive.unlink(missing_ok=True)
        raise


def unpack_package(archive: bytes | Path, target: Path) -> dict[str, Any]:
    """Write the package ZIP's files under `target`, checking each against the manifest
    (see ``package_unpack``); on any refusal nothing new is left behind."""
    try:
        return package_unpack.unpack_package(archive, target)
    except PackageRefused as exc:
        raise ClientRefusal(str(exc)) from None


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
        raise ClientRefusal(f"{request_id}: acknowledgement refused: {response.text}")
