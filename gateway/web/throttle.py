"""Rate limits per client identity, in process memory.

The client's address is `request.remote_addr` as rewritten by werkzeug's ProxyFix for
exactly `trusted_proxy_hops` proxies (app factory): a client cannot pick its identity
with a forged X-Forwarded-For, and clients behind one proxy are not lumped together.
Limits are per web process (N processes allow N times the rate); enough to stop a flood.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, request

from gateway.web.problem import problem

# kind -> (tokens per second, burst); app.config["ROGATORY_RATE_LIMITS"] may override one.
DEFAULT_LIMITS: dict[str, tuple[float, int]] = {
    "intake": (5.0, 100),
    "attachment": (5.0, 100),
    "login": (0.1, 20),  # per source; per account the lockout in services/accounts.py
}


@dataclass
class RateLimiter:
    """Token bucket per key, in process memory.

    Chosen over a table because it costs no write per call; the limit is per web
    process (N processes allow N times the rate), which is enough to stop a runaway
    client. Buckets refill continuously at `rate` tokens per second up to `burst`.
    """

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    max_keys: int = 100_000

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed, otherwise the seconds to wait before the next call."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._forget_full(now)
            tokens_left, last = self._buckets.get(key, (float(self.burst), now))
            tokens_left = min(float(self.burst), tokens_left + (now - last) * self.rate)
            if tokens_left >= 1.0:
                self._buckets[key] = (tokens_left - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens_left, now)
            return (1.0 - tokens_left) / self.rate

    def _forget_full(self, now: float) -> None:
        # buckets that refilled completely carry no information: memory stays bounded
        refill = self.burst / self.rate
        for key in [k for k, (_, last) in self._buckets.items() if now - last >= refill]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()


def client_address() -> str:
    """The caller's address, trusting exactly the configured proxy hops (ProxyFix)."""
    return str(request.remote_addr or "unknown")


def _limiter(app: Flask, kind: str) -> RateLimiter:
    limiters: dict[str, RateLimiter] = app.extensions.setdefault("rogatory.limiters", {})
    limiter = limiters.get(kind)
    if limiter is None:
        overrides = app.config.get("ROGATORY_RATE_LIMITS", {})
        rate, burst = overrides.get(kind, DEFAULT_LIMITS[kind])
        limiter = limiters[kind] = RateLimiter(float(rate), int(burst))
    return limiter


def wait_for(kind: str, key: str | None = None) -> float:
    """Take one token of `kind` for `key` (default: the client address); 0 when allowed."""
    return _limiter(current_app, kind).take(key or client_address())


def too_many(wait: float) -> Response:
    response = problem(429, "rate-limited", "too many requests; slow down")
    response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


def limited(kind: str, key: str | None = None) -> Response | None:
    """A 429 problem when the caller is over the limit of `kind`, else None."""
    wait = wait_for(kind, key)
    return too_many(wait) if wait else None
