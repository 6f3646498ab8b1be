"""M1, L8, L9, L6: sign-in without races, per-source throttling, no anonymous session rows."""

from __future__ import annotations

import re
import threading

import pytest
from argon2 import PasswordHasher

from gateway.services import accounts
from gateway.web.app import create_app, runtime_of

PASSWORD = "correct horse battery staple"
BASE = "https://gateway.test"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting checks against a real account's hash."""

    def __init__(self) -> None:
        super().__init__()
        self.checked = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        if hash != accounts._dummy_hash():
            with self._lock:
                self.checked += 1
        return super().verify(hash, password)


@pytest.fixture
def app(make_settings):
    app = create_app(make_settings())
    app.config.update(TESTING=True)
    yield app
    runtime_of(app).close()


def _add_user(app) -> str:
    rt = runtime_of(app)
    return accounts.create_user(
        rt.engine, "magistrate", "nl-om-rotterdam", PASSWORD, kek=rt.blobs.kek
    ).totp_secret


@pytest.mark.finding("M1")
def test_thirty_concurrent_wrong_guesses_get_at_most_the_allowed_checks(app, monkeypatch):
    """attack: 30 concurrent wrong passwords to beat the lockout counter"""
    _add_user(app)
    hasher = CountingHasher()
    monkeypatch.setattr(accounts, "_HASHER", hasher)
    engine = runtime_of(app).engine
    barrier = threading.Barrier(30)
    refused: list[bool] = []

    def guess(index: int) -> None:
        barrier.wait(timeout=60)
        try:
            accounts.check_password(engine, "magistrate", f"wrong guess number {index}")
        except accounts.SignInRefused:
            refused.append(True)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(refused) == 30
    assert hasher.checked <= accounts.MAX_FAILED_ATTEMPTS
    # locked now: the right password is refused like a wrong one and is not even checked
    before = hasher.checked
    with pytest.raises(accounts.SignInRefused):
        accounts.check_password(engine, "magistrate", PASSWORD)
    assert hasher.checked == before


@pytest.mark.finding("M1")
def test_locked_account_answers_the_same_whatever_the_password(app):
    """attack: tell the right password from a wrong one on a locked account"""
    _add_user(app)
    client = app.test_client()

    def attempt(password: str) -> tuple[int, str]:
        page = client.get("/ui/login", base_url=BASE)
        csrf = _CSRF.search(page.text).group(1)
        answer = client.post(
            "/ui/login",
            base_url=BASE,
            data={"username": "magistrate", "password": password, "csrf_token": csrf},
        )
        return answer.status_code, answer.text.replace(csrf, "")

    for index in range(accounts.MAX_FAILED_ATTEMPTS):
        assert attempt(f"wrong password {index}")[0] == 401
    assert attempt(PASSWORD) == attempt("another wrong one")


@pytest.mark.finding("L9")
def test_login_is_throttled_per_source_and_other_sources_still_sign_in(app):
    """attack: one source sprays passwords over many accounts (per-source throttling)"""
    _add_user(app)
    sprayer = app.test_client()
    codes = []
    for index in range(40):
        page = sprayer.get("/ui/login", base_url=BASE, environ_base={"REMOTE_ADDR": "192.0.2.1"})
        csrf = _CSRF.search(page.text).group(1)
        answer = sprayer.post(
            "/ui/login",
            base_url=BASE,
            environ_base={"REMOTE_ADDR": "192.0.2.1"},
            data={"username": f"user{index}", "password": "Winter2026!!", "csrf_token": csrf},
        )
        codes.append(answer.status_code)
    assert 429 in codes
    honest = app.test_client()
    page = honest.get("/ui/login", base_url=BASE, environ_base={"REMOTE_ADDR": "192.0.2.2"})
    answer = honest.post(
        "/ui/login",
        base_url=BASE,
        environ_base={"REMOTE_ADDR": "192.0.2.2"},
        data={
            "username": "magistrate",
            "password": PASSWORD,
            "csrf_token": _CSRF.search(page.text).group(1),
        },
    )
    assert answer.status_code == 302


@pytest.mark.finding("L8")
def test_cookieless_page_views_write_no_session_rows(app):
    """attack: fill the session table with cookie-less page views"""
    engine = runtime_of(app).engine
    for _ in range(25):
        fresh = app.test_client()
        assert fresh.get("/ui/login", base_url=BASE).status_code == 200
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ui_sessions").scalar_one() == 0
    # and the form token of such a visitor still protects and permits the sign-in
    _add_user(app)
    client = app.test_client()
    page = client.get("/ui/login", base_url=BASE)
    forged = client.post(
        "/ui/login",
        base_url=BASE,
        data={"username": "magistrate", "password": PASSWORD, "csrf_token": "0" * 64},
    )
    assert forged.status_code == 403
    answer = client.post(
        "/ui/login",
        base_url=BASE,
        data={
            "username": "magistrate",
            "password": PASSWORD,
            "csrf_token": _CSRF.search(page.text).group(1),
        },
    )
    assert answer.status_code == 302


@pytest.mark.finding("L6")
def test_crlf_in_the_next_parameter_is_a_400(app):
    """attack: CR/LF and non-ASCII in the UI `next=` parameter (header injection)"""
    client = app.test_client()
    page = client.get("/ui/login", base_url=BASE)
    csrf = _CSRF.search(page.text).group(1)
    for target in ("/ui/requests\r\nSet-Cookie: x=1", "/ui/\u00e9t\u00e9", "/ui/a b"):
        answer = client.post(
            "/ui/language",
            base_url=BASE,
            data={"language": "en", "next": target, "csrf_token": csrf},
        )
        assert answer.status_code == 400, target


def test_an_unknown_user_costs_one_argon2_check_with_the_real_parameters() -> None:
    # the dummy hash checked for unknown users must cost what a real account's check costs
    real = accounts._HASHER.hash("a password of a real account")
    dummy = accounts._dummy_hash()
    assert not accounts._HASHER.check_needs_rehash(dummy)
    assert argon2_parameters(dummy) == argon2_parameters(real)


def argon2_parameters(encoded: str) -> tuple[str, str, str]:
    algorithm, version, params = encoded.split("$")[1:4]
    return algorithm, version, params
