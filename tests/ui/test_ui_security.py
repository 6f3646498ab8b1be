"""Security of the web interface: CSRF, authority isolation, session rotation, cookies, CSP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ui_support import (
    BASE_URL,
    PASSWORD,
    add_user,
    client_for,
    csrf_of,
    make_app,
    mla_form,
    sealed_submission,
    session_cookie,
    sign_in,
)

from gateway.services import accounts
from gateway.web.app import runtime_of


@pytest.fixture
def app(make_settings, redis_broker_url):
    app = make_app(make_settings(broker_url=redis_broker_url))
    yield app
    runtime_of(app).close()


def _accept(app, form=None):
    """Submit a real sealed request through the API; returns its request id."""
    response = app.test_client().post(
        "/api/v1/submissions",
        data=sealed_submission(runtime_of(app).settings, form),
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    assert response.status_code == 202, response.text
    return response.json["request_id"]


def test_post_without_csrf_token_is_refused(app):
    client = client_for(app)
    client.get("/ui/login", base_url=BASE_URL)  # the browser has a session, but no token
    response = client.post(
        "/ui/login", base_url=BASE_URL, data={"username": "x", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text


def test_post_with_a_token_of_another_session_is_refused(app):
    first, second = client_for(app), client_for(app)
    token = csrf_of(first.get("/ui/login", base_url=BASE_URL).text)
    second.get("/ui/login", base_url=BASE_URL)
    response = second.post(
        "/ui/login",
        base_url=BASE_URL,
        data={"username": "x", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 403


def test_signed_in_form_without_token_is_refused(app):
    secret = add_user(app)
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    response = client.post("/ui/logout", base_url=BASE_URL)
    assert response.status_code == 403
    assert client.get("/ui/requests", base_url=BASE_URL).status_code == 200  # still signed in


def test_request_of_another_authority_answers_404(app):
    request_id = _accept(app)  # issued by nl-om-rotterdam
    secret = add_user(app, "madrid-clerk", "es-fiscalia-madrid")
    client = client_for(app)
    sign_in(client, "madrid-clerk", secret)
    for path in (
        f"/ui/requests/{request_id}",
        f"/ui/requests/{request_id}/status.json",
        f"/ui/requests/{request_id}/receipts/1",
    ):
        response = client.get(path, base_url=BASE_URL)
        assert response.status_code == 404, path
    unknown = "00000000-0000-0000-0000-000000000000"
    missing = client.get(f"/ui/requests/{unknown}", base_url=BASE_URL)
    assert missing.status_code == 404
    # the same page for a foreign id and a missing one: nothing to probe
    foreign = client.get(f"/ui/requests/{request_id}", base_url=BASE_URL)
    assert missing.text.replace(unknown, "ID") == foreign.text.replace(request_id, "ID")
    assert request_id not in client.get("/ui/requests", base_url=BASE_URL).text


def test_own_request_is_shown_with_timeline_and_receipt(app):
    request_id = _accept(app)
    secret = add_user(app)
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    listing = client.get("/ui/requests", base_url=BASE_URL)
    assert request_id[:8] in listing.text
    page = client.get(f"/ui/requests/{request_id}", base_url=BASE_URL)
    assert page.status_code == 200
    assert "Received by the gateway" in page.text
    receipt = client.get(f"/ui/requests/{request_id}/receipts/1", base_url=BASE_URL)
    assert receipt.status_code == 200
    assert receipt.mimetype == "application/pkcs7-mime"
    status = client.get(f"/ui/requests/{request_id}/status.json", base_url=BASE_URL).json
    assert status["state"] == "verified"
    assert status["working"] is True


def test_session_id_rotates_at_each_sign_in_step(app):
    secret = add_user(app)
    client = client_for(app)
    page = client.get("/ui/login", base_url=BASE_URL)
    anonymous = session_cookie(client)
    client.post(
        "/ui/login",
        base_url=BASE_URL,
        data={"username": "magistrate", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    after_password = session_cookie(client)
    assert after_password not in (None, anonymous)
    page = client.get("/ui/login/code", base_url=BASE_URL)
    client.post(
        "/ui/login/code",
        base_url=BASE_URL,
        data={"code": accounts.current_totp(secret), "csrf_token": csrf_of(page.text)},
    )
    signed_in = session_cookie(client)
    assert signed_in not in (None, anonymous, after_password)
    # an attacker who planted the anonymous id gains nothing
    attacker = client_for(app)
    attacker.set_cookie("__Host-rogatory-ui", anonymous, domain="gateway.test")
    assert attacker.get("/ui/requests", base_url=BASE_URL).status_code == 302
    assert client.get("/ui/requests", base_url=BASE_URL).status_code == 200


def test_session_cookie_flags(app):
    client = client_for(app)
    response = client.get("/ui/login", base_url=BASE_URL)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-rogatory-ui=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Domain=" not in cookie


def test_plain_http_cookies_only_when_configured(make_settings):
    app = make_app(make_settings())  # no request is submitted: no broker needed
    app.config["UI_INSECURE_COOKIES"] = True
    cookie = app.test_client().get("/ui/login").headers["Set-Cookie"]
    assert cookie.startswith("rogatory-ui=")
    assert "Secure" not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    runtime_of(app).close()


def test_csp_header_on_every_page(app):
    request_id = _accept(app)
    secret = add_user(app)
    client = client_for(app)
    anonymous_pages = ["/ui/login", "/ui/nothing-here", "/api/v1/health"]
    for path in anonymous_pages:
        csp = client.get(path, base_url=BASE_URL).headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
    sign_in(client, "magistrate", secret)
    pages = [
        "/ui/requests",
        "/ui/compose",
        "/ui/compose/mla",
        "/ui/compose/witness-examination",
        "/ui/compose/extradition",
        "/ui/upload",
        f"/ui/requests/{request_id}",
        "/ui/requests/unknown",
    ]
    for path in pages:
        response = client.get(path, base_url=BASE_URL)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert "<script>" not in response.text, path
        assert " style=" not in response.text, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_lockout_after_repeated_failures(app):
    secret = add_user(app)
    engine = runtime_of(app).engine
    for _ in range(accounts.MAX_FAILED_ATTEMPTS):
        with pytest.raises(accounts.SignInRefused):
            accounts.check_password(engine, "magistrate", "wrong password!")
    # locked: even the right password is refused now
    with pytest.raises(accounts.SignInRefused):
        accounts.check_password(engine, "magistrate", PASSWORD)
    later = datetime.now(UTC) + accounts.LOCKOUT + timedelta(seconds=1)
    assert accounts.check_password(engine, "magistrate", PASSWORD, now=later).username
    assert secret


def test_totp_code_is_accepted_once_and_failures_count(app):
    secret = add_user(app)
    engine = runtime_of(app).engine
    kek = runtime_of(app).blobs.kek
    code = accounts.current_totp(secret)
    accounts.check_totp(engine, "magistrate", code, kek=kek)
    with pytest.raises(accounts.SignInRefused):
        accounts.check_totp(engine, "magistrate", code, kek=kek)  # replayed
    with pytest.raises(accounts.SignInRefused):
        accounts.check_totp(engine, "magistrate", "000000x", kek=kek)


def test_disabled_user_loses_the_session_at_once(app):
    secret = add_user(app)
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    accounts.set_enabled(runtime_of(app).engine, "magistrate", False)
    assert client.get("/ui/requests", base_url=BASE_URL).status_code == 302
    with pytest.raises(accounts.SignInRefused):
        accounts.check_password(runtime_of(app).engine, "magistrate", PASSWORD)


def test_draft_of_another_user_answers_404(app):
    secret = add_user(app)
    other = add_user(app, "colleague")
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    page = client.get("/ui/compose/mla", base_url=BASE_URL)
    form = mla_form()
    data = {
        "csrf_token": csrf_of(page.text),
        "action": "continue",
        "executing_authority": form["executing_authority"],
        "case_reference": "ROT-1",
        "language": "en",
        "confidentiality": "confidential",
    }
    for key, section in form["sections"].items():
        entries = section if isinstance(section, list) else [section]
        for index, entry in enumerate(entries):
            for name, value in entry.items():
                data[f"s.{key}.{index}.{name}"] = value
    answer = client.post("/ui/compose/mla", base_url=BASE_URL, data=data)
    assert answer.status_code == 302, answer.text[:2000]
    draft_path = answer.headers["Location"]
    assert client.get(draft_path, base_url=BASE_URL).status_code == 200
    stranger = client_for(app)
    sign_in(stranger, "colleague", other)
    assert stranger.get(draft_path, base_url=BASE_URL).status_code == 404
    assert stranger.get(draft_path + "/request.json", base_url=BASE_URL).status_code == 404
