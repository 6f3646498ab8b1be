"""Outbound HTTP (push delivery, webhooks): only to addresses the operator meant.

- https only; http only with `outbound_allow_http` (development).
- The host is resolved ONCE; every address it resolves to must be public (not
  loopback, link-local — cloud metadata —, private, multicast, reserved, unspecified)
  unless the operator's allow-list (`outbound_allow`: host names, IPs or CIDRs) names
  it. The connection then goes to the checked address (Host header and TLS SNI keep
  the name), so a second DNS answer cannot point it elsewhere (DNS rebinding).
- Redirects are never followed (httpx's default, kept explicit by the callers).

`guarded(policy, inner)` wraps an httpx transport; a refusal raises OutboundRefused,
an httpx.TransportError, so delivery records it as a failed attempt (loudly).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from gateway.config import Settings

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Sequence[str]]
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(httpx.TransportError):
    """The URL is not one the gateway may call (scheme, address or name)."""


@dataclass(frozen=True)
class OutboundPolicy:
    allow_http: bool = False
    allow: tuple[str, ...] = ()  # host names, addresses or CIDRs allowed although private

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        names = tuple(p.strip().lower() for p in settings.outbound_allow.split(",") if p.strip())
        return cls(allow_http=settings.outbound_allow_http, allow=names)

    def allows_address(self, host: str, address: _Address) -> bool:
        if host.lower() in self.allow or str(address) in self.allow:
            return True
        for entry in self.allow:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return _public(address)


@dataclass(frozen=True)
class CheckedTarget:
    scheme: str
    host: str
    port: int
    address: str


def _public(address: _Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return bool(address.is_global) and not address.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url(url: str, policy: OutboundPolicy, resolve: Resolver = _resolve) -> CheckedTarget:
    """Check scheme and every resolved address; the first address is the one to use."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise OutboundRefused(f"scheme {scheme or '-'} refused (https only)")
    if parts.username or parts.password or not parts.hostname:
        raise OutboundRefused("a URL with credentials or without host is refused")
    host = parts.hostname
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port)]
        except (OSError, ValueError) as exc:
            raise OutboundRefused(f"cannot resolve {host}: {type(exc).__name__}") from None
    if not addresses:
        raise OutboundRefused(f"{host} resolves to nothing")
    for address in addresses:
        if not policy.allows_address(host, address):
            raise OutboundRefused(f"{host} resolves to a non-public address {address}")
    return CheckedTarget(scheme, host, port, str(addresses[0]))


class GuardedTransport(httpx.BaseTransport):
    """Checks every request's URL and sends it to the checked address."""

    def __init__(self, policy: OutboundPolicy, inner: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = check_url(str(request.url), self.policy)
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
        request.headers["Host"] = host_header
        if target.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": target.host}
        request.url = request.url.copy_with(host=target.address)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def guarded(policy: OutboundPolicy | None, inner: httpx.BaseTransport | None) -> GuardedTransport:
    return GuardedTransport(policy or OutboundPolicy(), inner)
