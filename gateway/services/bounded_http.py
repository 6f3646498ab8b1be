"""One outbound POST with a total deadline and a response size cap.

httpx's timeouts are per operation (a peer dripping a byte every 20 s never trips a
30 s read timeout), and `response.content` buffers whatever the peer sends. Here the
whole attempt must end by the deadline — checked between chunks, and no single read
waits more than READ_TIMEOUT, so an attempt ends at most that much past it — and the
answer may not exceed `max_bytes`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

DEFAULT_DEADLINE_SECONDS = 60.0
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
READ_TIMEOUT = 10.0


class DeadlineExceeded(httpx.TimeoutException):
    """The peer did not finish answering within the attempt's total deadline."""


class ResponseTooLarge(httpx.HTTPError):
    """The peer's answer exceeded the size cap; it was not read further."""


@dataclass(frozen=True)
class BoundedResponse:
    status_code: int
    content: bytes


def post(
    url: str,
    content: bytes | Iterator[bytes],
    *,
    headers: dict[str, str],
    transport: httpx.BaseTransport | None = None,
    deadline: float = DEFAULT_DEADLINE_SECONDS,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
) -> BoundedResponse:
    ends = time.monotonic() + deadline

    def left() -> float:
        remaining = ends - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"no complete answer within {deadline:g} s")
        return remaining

    timeout = httpx.Timeout(min(deadline, READ_TIMEOUT))
    with (
        httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as http,
        http.stream("POST", url, content=content, headers=headers) as response,
    ):
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(f"answer of {declared} bytes over the {max_bytes} cap")
        body = bytearray()
        stream = response.iter_raw()
        while True:
            left()
            try:
                chunk = next(stream)
            except StopIteration:
                break
            body += chunk
            if len(body) > max_bytes:
                raise ResponseTooLarge(f"answer over the {max_bytes} byte cap")
        left()
        return BoundedResponse(response.status_code, bytes(body))
