"""Process-wide web hardening: trusted proxy hops, bounded bodies, production identity.

- ProxyFix trusts exactly `trusted_proxy_hops` X-Forwarded-For/-Proto entries (0: none),
  so rate limits see the real client and nobody picks an address with a header.
- `read_body` reads the request body chunk by chunk: a chunked body over the limit
  ends in 413 (werkzeug raises once the limit is reached), never in a cut-off body
  that is then processed; this holds under any WSGI server that terminates the input.
  `body_stream` keeps the same limits for large streamed bodies, without werkzeug's
  per-read copies.
- Outside development (a dev PKI in keys_dir) the default gateway id is refused: it
  is shared by every deployment that keeps it, so submissions could be forwarded.
"""

from __future__ import annotations

import io
import logging
from typing import IO

from flask import Flask, Request, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from gateway.config import ConfigError, Settings
from gateway.runtime.setup import DEV_PKI_DIR

log = logging.getLogger(__name__)

DEFAULT_GATEWAY_ID = "rogatory-gateway"
_CHUNK = 64 * 1024


class _StrictMaxStream(LimitedStream):
    """werkzeug's max-length stream, except that `readall` at the limit checks for more.

    werkzeug's own `readall` stops AT the limit without a further read, so a chunked
    body longer than the limit would be cut silently and processed; here it is a 413.
    """

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class HardenedRequest(Request):
    @cached_property
    def stream(self) -> IO[bytes]:  # type: ignore[override]
        limit = self.max_content_length
        if (
            self.content_length is None
            and limit is not None
            and "wsgi.input_terminated" in self.environ
        ):
            return _StrictMaxStream(self.environ["wsgi.input"], limit, is_max=True)  # type: ignore[return-value]
        return get_input_stream(self.environ, max_content_length=limit)


def install(app: Flask, settings: Settings) -> None:
    app.request_class = HardenedRequest
    hops = settings.trusted_proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
        )


def development_mode(settings: Settings) -> bool:
    """A throwaway dev PKI in keys_dir (`init --dev-pki`, `rogatory demo`, tests)."""
    return (settings.keys_dir / DEV_PKI_DIR).is_dir()


def check_production_identity(settings: Settings) -> None:
    """Refuse to start with the shared default gateway id outside development."""
    if settings.gateway_id == DEFAULT_GATEWAY_ID and not development_mode(settings):
        raise ConfigError(
            "setting 'gateway_id': choose this deployment's own id (ROGATORY_GATEWAY_ID); "
            f"'{DEFAULT_GATEWAY_ID}' is only for development and the demo"
        )
    if not settings.public_url and not development_mode(settings):
        log.warning("ROGATORY_PUBLIC_URL is not set; token audience is %s", settings.base_url)


class _ServerStream:
    """At most ``limit`` bytes of the body, read straight from the WSGI server's stream:
    each read hands over the server's own bytes, where werkzeug's LimitedStream reads into
    a buffer and copies them out again (two more copies of every byte of an upload)."""

    def __init__(self, stream: IO[bytes], limit: int, *, is_max: bool) -> None:
        self._stream, self._left, self._is_max = stream, limit, is_max

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            if self._is_max and self._stream.read(1):
                raise RequestEntityTooLarge()
            return b""
        try:
            data = self._stream.read(self._left if size < 0 else min(size, self._left))
        except (OSError, ValueError) as exc:
            raise ClientDisconnected() from exc
        if not data and not self._is_max:
            raise ClientDisconnected()  # shorter than its Content-Length
        self._left -= len(data)
        return data


def body_stream() -> IO[bytes]:
    """The body for a streaming consumer, with `request.stream`'s limits (its
    Content-Length, else the request's max_content_length on a terminated input; 413
    beyond), without werkzeug's copies."""
    limit, length = request.max_content_length, request.content_length
    if length is not None and limit is not None and length > limit:
        raise RequestEntityTooLarge()
    stream = request.environ["wsgi.input"]
    if length is not None:
        return _ServerStream(stream, length, is_max=False)  # type: ignore[return-value]
    if limit is not None and "wsgi.input_terminated" in request.environ:
        return _ServerStream(stream, limit, is_max=True)  # type: ignore[return-value]
    return io.BytesIO()  # neither a length nor a terminated input: nothing is read


def read_body() -> bytes:
    """The whole body; 413 (RequestEntityTooLarge) when it exceeds the request's limit."""
    stream = request.stream
    chunks: list[bytes] = []
    while chunk := stream.read(_CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)
