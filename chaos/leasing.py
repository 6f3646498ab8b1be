"""Issue 14: two counterpart clients leasing in parallel from the same inbox.

The executing authority is made pull only (no push endpoint) for the experiment, the
requests go through the real worker until they are available, then two clients of that
authority, each with its own private_key_jwt client and bearer token, race over the
inbox: list, lease, retrieve the package, acknowledge, until everything is acknowledged
or the time is up. The row counts leases granted to both clients for one request at the
same time, requests acknowledged (or evidenced) more than once, and 5xx answers.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from experiments import ACCEPTED_STATES, Options, Row, settle
from harness import Backend, Tally, submit_with_retries
from joserfc.jwk import ECKey

from gateway.services.reference_client import token_request

NAME = "parallel leases (2 clients)"
CLIENTS = 2


@dataclass
class Grant:
    request_id: str
    client: str
    granted_at: datetime
    expires_at: datetime


@dataclass
class Observed:
    """What the two clients saw, shared between their threads."""

    request_ids: set[str]
    grants: list[Grant] = field(default_factory=list)
    acks: Counter[str] = field(default_factory=Counter)  # request id -> 200 answers
    statuses: Counter[int] = field(default_factory=Counter)
    per_client: Counter[str] = field(default_factory=Counter)  # client -> acknowledged
    wrong_packages: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1

    def done(self) -> bool:
        with self.lock:
            return set(self.acks) >= self.request_ids


def _token(url: str, audience: str, client_id: str, key: ECKey) -> str:
    response = httpx.post(
        f"{url}/api/v1/oauth/token", data=token_request(client_id, key, audience), timeout=30
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _pause_if_throttled(response: httpx.Response) -> None:
    if response.status_code == 429:
        time.sleep(float(response.headers.get("Retry-After", "1")))


def _take(
    backend: Backend, http: httpx.Client, name: str, item: dict[str, str], seen: Observed
) -> None:
    """Lease one item; if granted, retrieve its package and acknowledge it."""
    request_id = item["request_id"]
    response = http.post(f"/api/v1/inbox/{request_id}/lease")
    seen.record(response)
    _pause_if_throttled(response)
    if response.status_code != 201:
        return
    lease = response.json()
    with seen.lock:
        seen.grants.append(
            Grant(
                request_id,
                name,
                datetime.now(UTC),
                datetime.fromisoformat(lease["expires_at"]),
            )
        )
    package = http.get(lease["package_url"], headers={"Lease-Token": lease["lease_token"]})
    seen.record(package)
    if package.status_code != 200:
        return
    manifest = backend.peer.manifest_of(package.content)
    if manifest["request_id"] != request_id:
        with seen.lock:
            seen.wrong_packages += 1
        return
    ack = http.post(
        f"/api/v1/requests/{request_id}/ack",
        content=backend.peer.acknowledgement(request_id, manifest["message_sha256"]),
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    seen.record(ack)
    if ack.status_code == 200:
        with seen.lock:
            seen.acks[request_id] += 1
            seen.per_client[name] += 1


def _client(
    backend: Backend,
    url: str,
    name: str,
    token: str,
    seen: Observed,
    start: threading.Barrier,
    end: float,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        start.wait()
        while time.monotonic() < end and not seen.done():
            try:
                listed = http.get("/api/v1/inbox", params={"limit": "100"})
                seen.record(listed)
                _pause_if_throttled(listed)
                items = listed.json()["items"] if listed.status_code == 200 else []
                ours = [i for i in items if i["request_id"] in seen.request_ids]
                if not ours:
                    time.sleep(0.2)
                for item in ours:
                    _take(backend, http, name, item, seen)
            except Exception:  # counted: a refused package, a dropped connection
                with seen.lock:
                    seen.errors += 1
                time.sleep(0.2)


def _duplicate_leases(grants: list[Grant]) -> int:
    """Grants for a request made while an earlier grant of it was still live."""
    by_request: dict[str, list[Grant]] = defaultdict(list)
    for grant in grants:
        by_request[grant.request_id].append(grant)
    duplicates = 0
    for taken in by_request.values():
        taken.sort(key=lambda g: g.granted_at)
        for earlier, later in itertools.pairwise(taken):
            if later.granted_at < earlier.expires_at:
                duplicates += 1
    return duplicates


def parallel_leases(backend: Backend, options: Options, *, seconds: float = 120) -> Row:
    backend.stop()
    backend.set_push_endpoint(None)  # pull only: the worker makes them available, no push
    try:
        gateway = backend.start_gateway()
        backend.start_worker()
        tally = Tally()
        for _ in range(options.requests):
            message_id, body = backend.submission()
            submit_with_retries(tally, lambda: gateway.url, message_id, body)
        request_ids = set(tally.accepted.values())
        end = time.monotonic() + options.settle_seconds
        while time.monotonic() < end:
            states = backend.states()
            if all(states.get(rid) in ACCEPTED_STATES for rid in request_ids):
                break
            time.sleep(1)
        seen = Observed(request_ids)
        tokens = {}
        for number in range(CLIENTS):
            name = "ab"[number]
            client_id = f"chaos-puller-{name}-{uuid.uuid4().hex[:8]}"
            key = ECKey.generate_key("P-256")
            backend.add_api_client(client_id, key.as_dict(private=False))
            tokens[name] = _token(gateway.url, backend.settings.gateway_id, client_id, key)
        start = threading.Barrier(CLIENTS)
        since = time.monotonic()
        threads = [
            threading.Thread(
                target=_client,
                args=(backend, gateway.url, name, token, seen, start, since + seconds),
                daemon=True,
            )
            for name, token in tokens.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        with seen.lock:
            tally.statuses.update(seen.statuses)
        split = "/".join(str(seen.per_client[name]) for name in tokens)
        note = (
            f"{len(seen.grants)} leases, {seen.statuses[409]}x 409, "
            f"{seen.statuses[429]}x 429, acked a/b {split}"
        )
        if seen.wrong_packages or seen.errors:
            note += f", {seen.wrong_packages} wrong packages, {seen.errors} client errors"
        # nothing acknowledges after the clients stop: a short settle, not the long one
        brief = dataclasses.replace(options, settle_seconds=10)
        row = settle(backend, NAME, tally, brief, since, note)
        acknowledgements = backend.evidences("CounterpartAcknowledgement")
        retrievals = backend.evidences("Retrieval")
        row.duplicate_leases = _duplicate_leases(seen.grants)
        row.duplicate_acks = sum(1 for rid in request_ids if seen.acks[rid] > 1) + sum(
            1 for rid in request_ids if acknowledgements[rid] > 1 or retrievals[rid] > 1
        )
        return row
    finally:
        backend.stop()
        backend.set_push_endpoint(backend.peer.url)
