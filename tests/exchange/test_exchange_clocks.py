"""The clocks route over real HTTP: retrieval starts the clocks; only the parties see them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchange_support import BERLIN, MADRID, ROTTERDAM, Gateway


def test_retrieval_starts_the_legal_clocks_shown_to_both_parties(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    with gateway.http(MADRID) as madrid:
        assert madrid.get(f"/api/v1/requests/{request_id}/clocks").json()["clocks"] == []
        lease = madrid.post(f"/api/v1/inbox/{request_id}/lease").json()["lease_token"]
        package = madrid.get(
            f"/api/v1/requests/{request_id}/package", headers={"Lease-Token": lease}
        )
        assert package.status_code == 200
        body = madrid.get(f"/api/v1/requests/{request_id}/clocks").json()
    today = datetime.now(UTC).date()
    ack = next(c for c in body["clocks"] if c["clock"] == "acknowledgement")
    assert ack["rule"] == "Directive 2014/41/EU Art 16(1)"
    assert ack["due_on"] == (today + timedelta(days=7)).isoformat()
    assert ack["days_left"] == 7
    assert ack["overdue"] is False
    with gateway.http(ROTTERDAM) as rotterdam:
        mine = rotterdam.get(f"/api/v1/requests/{request_id}/clocks").json()
        assert mine["clocks"] == body["clocks"]
    with gateway.http(BERLIN) as berlin:
        hidden = berlin.get(f"/api/v1/requests/{request_id}/clocks")
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "not-found"
