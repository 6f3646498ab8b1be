"""A large request body read straight from the client's socket under gunicorn.

gunicorn's body reader gathers each read in BytesIO buffers and slices it out again:
three more copies (and fresh allocations) of every byte, about a fifth of the gateway's
CPU for a streamed submission. With a Content-Length, ``socket_body`` hands over
what gunicorn already read ahead, then ``recv`` straight from the socket, at most the
body's length (never into a pipelined next request); gunicorn's reader is told what
is left, so it drains what the application does not read before the connection is
reused, as it would have. Anything else (a chunked body, another server) falls back to
``hardening.body_stream`` with the same limits.
"""

from __future__ import annotations

import socket
import ssl
from typing import IO

from flask import request
from werkzeug.exceptions import ClientDisconnected

from gateway.web.hardening import body_stream

_RECV_MAX = 1024 * 1024


def socket_body() -> IO[bytes]:
    """The request body as a stream: ``body_stream()``'s limits (413), fewer copies."""
    stream = body_stream()  # checks Content-Length against the request's limit first
    length = request.content_length
    sock = request.environ.get("gunicorn.socket")
    body = request.environ.get("wsgi.input")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if (
        length is None
        or not isinstance(sock, socket.socket)
        or isinstance(sock, ssl.SSLSocket)  # gunicorn's own TLS: recv takes no flags there
        or type(reader).__name__ != "LengthReader"
        or getattr(reader, "length", None) != length  # gunicorn already read some of it
        or not hasattr(unreader, "take_buffered")
        or getattr(getattr(body, "buf", None), "tell", lambda: 1)() != 0
    ):
        return stream
    return _SocketStream(sock, body, reader, unreader, length)  # type: ignore[return-value]


class _SocketStream:
    def __init__(
        self, sock: socket.socket, body: object, reader: object, unreader: object, length: int
    ) -> None:
        buffered: bytes = unreader.take_buffered()  # type: ignore[attr-defined]
        if len(buffered) > length:  # a pipelined next request: gunicorn keeps it
            unreader.unread(buffered[length:])  # type: ignore[attr-defined]
            buffered = buffered[:length]
        self._sock, self._body, self._reader = sock, body, reader
        self._head = buffered
        self._left = length  # body bytes not yet handed to the caller
        self._reader.length = length - len(buffered)  # type: ignore[attr-defined]

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        wanted = self._left if size < 0 else min(size, self._left)
        if self._head:
            data, self._head = self._head[:wanted], self._head[wanted:]
        else:
            try:
                data = self._sock.recv(min(wanted, _RECV_MAX), socket.MSG_WAITALL)
            except OSError as exc:
                self._body.failed = True  # type: ignore[attr-defined]  (gunicorn closes it)
                raise ClientDisconnected() from exc
            if not data:
                self._body.failed = True  # type: ignore[attr-defined]
                raise ClientDisconnected()  # shorter than its Content-Length
            self._reader.length -= len(data)  # type: ignore[attr-defined]
        self._left -= len(data)
        return data
