"""Sealing in the browser (headless Chromium, real server): the key never leaves the page.

The browser talks to the gateway through a recording relay, so what it sends is checked on
the wire; the sealed message it posted is opened with `openssl cms -decrypt` and
`openssl cms -verify`. Refusals (wrong password, expired or unregistered certificate, an
announced attachment not chosen) are said in a sentence before anything is sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import pytest
from browser_support import (
    PHONE_WIDTH,
    ServerProcess,
    axe_problems,
    load_next_page,
    make_p12,
    screenshot,
    seal_in_page,
    sign_in_browser,
    start_chromium,
)
from cryptography.hazmat.primitives import serialization
from process_support import wait_for
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from ui_support import PASSWORD, mla_form
from wire_support import RecordingRelay

from gateway.config import load_settings
from gateway.crypto.keyfiles import load_private_key
from gateway.persistence.db import transaction
from gateway.runtime.broker import stop_embedded_broker
from gateway.runtime.container import build_runtime
from gateway.runtime.setup import initialise
from gateway.services import accounts, ui_requests

pytestmark = [pytest.mark.browser, pytest.mark.slow]

P12_PASSWORD = "Rotterdam-p12-secret"
EVIDENCE = b"%PDF-1.4 bank statement of the suspect\n" * 50


@pytest.fixture(scope="module")
def _gateway_and_browser(keys_template, tmp_path_factory):
    """One server, relay and signed-in Chromium for this module (they cost seconds each);
    every test gets its own draft, so no test sees another's sealed messages."""
    data_dir = tmp_path_factory.mktemp("data")
    shutil.copytree(keys_template, data_dir / "keys")
    settings = load_settings({}, overrides={"data_dir": str(data_dir)})
    for _ in initialise(settings, dev_pki=False, demo_authorities=True):
        pass
    rt = build_runtime(settings)
    created = accounts.create_user(
        rt.engine,
        "a.devries",
        "nl-om-rotterdam",
        PASSWORD,
        kek=rt.blobs.kek,
        display_name="A. de Vries",
    )
    server = ServerProcess(settings, data_dir / "serve.log")
    relay = RecordingRelay(server.port)
    driver, profile = start_chromium()
    try:
        sign_in_browser(driver, relay.url, "a.devries", created.totp_secret)
        yield settings, rt, relay, driver
    finally:
        driver.quit()
        profile.cleanup()
        relay.stop()
        server.stop()
        rt.close()
        stop_embedded_broker(settings)


@pytest.fixture
def sealing(_gateway_and_browser, tmp_path):
    settings, rt, relay, driver = _gateway_and_browser
    evidence = tmp_path / "statement.pdf"
    evidence.write_bytes(EVIDENCE)
    draft_id = ui_requests.save_draft(
        rt.engine,
        rt.blobs,
        username="a.devries",
        authority_id="nl-om-rotterdam",
        form=mla_form(),
        attachments=[
            {
                "name": "statement.pdf",
                "size": len(EVIDENCE),
                "sha256": hashlib.sha256(EVIDENCE).hexdigest(),
            }
        ],
    )
    yield settings, rt, relay, driver, draft_id, evidence
    driver.set_window_size(1280, 900)


def _problem_text(driver):
    def shown():
        problem = driver.find_element(By.ID, "seal-problem")
        return problem.text if problem.is_displayed() and problem.text else None

    return wait_for(shown, timeout=90, what="the page to explain the refusal")


def _wait_for_request_page(driver):
    def arrived():
        if "/ui/requests/" in driver.current_url:
            return True
        try:
            problem = driver.find_element(By.ID, "seal-problem")
            shown = problem.is_displayed()
        except (NoSuchElementException, StaleElementReferenceException):
            return False  # the draft page went away after the URL was read: look again
        if shown:
            raise AssertionError(f"{problem.text}\n{driver.get_log('browser')}")
        return False

    wait_for(arrived, timeout=120, what="the request page after sealing")


def _sealed_posts(relay, draft_id):
    return relay.bodies("POST", f"/ui/drafts/{draft_id}/sealed")


def test_browser_sealed_request_is_accepted_and_opens_with_openssl(sealing, tmp_path):
    settings, rt, relay, driver, draft_id, evidence = sealing
    pki = settings.keys_dir / "dev-pki"
    p12 = make_p12(pki, "magistrate-rsa", P12_PASSWORD, out=tmp_path / "a.devries.p12")

    seal_in_page(driver, relay.url, draft_id, p12, P12_PASSWORD, [evidence])
    _wait_for_request_page(driver)
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "accepted by the gateway" in main
    assert "different request" not in main
    request_id = driver.current_url.split("/ui/requests/")[1].split("?")[0]
    assert ui_requests.get_draft(rt.engine, rt.blobs, "a.devries", draft_id).request_id == (
        request_id
    )

    # --- on the wire: one sealed message, and no key material in anything sent ----------
    posts = _sealed_posts(relay, draft_id)
    assert len(posts) == 1
    sent = relay.sent()
    key = load_private_key(pki / "magistrate-rsa.key")
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    d = key.private_numbers().d  # type: ignore[union-attr]
    secret_exponent = d.to_bytes((d.bit_length() + 7) // 8, "big")
    for secret in (p12.read_bytes(), pkcs8, secret_exponent, P12_PASSWORD.encode()):
        assert secret not in sent
    assert p12.read_bytes()[:64] not in sent
    assert secret_exponent[:32] not in sent

    # --- openssl opens it: decrypt with the gateway's intake key, verify the signature ---
    sealed = tmp_path / "sealed.p7m"
    sealed.write_bytes(posts[0])
    signed = tmp_path / "signed.der"
    subprocess.run(
        ["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(sealed),
         "-recip", str(pki / "gateway-intake.pem"), "-inkey", str(pki / "gateway-intake.key"),
         "-out", str(signed)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    content = tmp_path / "content.json"
    subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signed),
         "-CAfile", str(pki / "ca.pem"), "-purpose", "any", "-out", str(content)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    document = json.loads(content.read_bytes())
    assert document["request"] == mla_form()
    assert document["gateway"] == settings.gateway_id
    assert [(a["name"], a["sha256"]) for a in document["attachments"]] == [
        ("statement.pdf", hashlib.sha256(EVIDENCE).hexdigest())
    ]


REFUSALS = [
    ("magistrate-rsa", "not the password", True, "The password does not open"),
    ("magistrate-expired", P12_PASSWORD, True, "Your certificate expired on"),
    ("gateway-seal", P12_PASSWORD, True, "is not registered for your authority"),
    ("magistrate-rsa", P12_PASSWORD, False, "statement.pdf announced in the request"),
    ("legacy:magistrate-rsa", P12_PASSWORD, True, "uses an old encryption (3DES or RC2)"),
]


def test_browser_refuses_in_a_sentence_before_sending(sealing, tmp_path):
    """Wrong password, expired certificate, unregistered certificate, attachment left out."""
    settings, _rt, relay, driver, draft_id, evidence = sealing
    for number, (stem, password, attach, sentence) in enumerate(REFUSALS):
        legacy, _, stem = stem.rpartition(":")
        p12 = make_p12(
            settings.keys_dir / "dev-pki",
            stem,
            P12_PASSWORD,
            out=tmp_path / f"{number}.p12",
            legacy=bool(legacy),
        )
        seal_in_page(driver, relay.url, draft_id, p12, password, [evidence] if attach else [])
        text = _problem_text(driver)
        assert sentence in text, (stem, text)
        assert "Nothing was sent" in text
        assert "Error" not in text
        assert "undefined" not in text
        assert _sealed_posts(relay, draft_id) == []
        assert "/ui/drafts/" in driver.current_url


def test_compose_autosaves_warns_before_sign_out_and_enter_adds_nothing(sealing):
    _settings, _rt, relay, driver, _draft_id, _evidence = sealing
    driver.get(f"{relay.url}/ui/compose/mla")
    form = driver.find_element(By.ID, "compose-form")
    wait_for(lambda: form.get_attribute("data-autosave-ready") == "1", what="compose script")
    entries_before = len(driver.find_elements(By.CSS_SELECTOR, "[name^='s.E.'][name$='.surname']"))
    reference = driver.find_element(By.NAME, "case_reference")
    reference.send_keys("ROT-2026-00684" + Keys.ENTER)  # Enter must not add "Entry 2"
    driver.find_element(By.NAME, "s.G.0.facts").send_keys("Typed before the break. " * 20)
    status = driver.find_element(By.ID, "autosave-status")
    wait_for(lambda: "Draft saved at" in status.text, timeout=60, what="the autosave")
    assert "draft=" in driver.current_url
    assert (
        len(driver.find_elements(By.CSS_SELECTOR, "[name^='s.E.'][name$='.surname']"))
        == entries_before
    )

    # two minutes before the idle sign-out the page warns; "Stay signed in" keeps going
    driver.execute_script(
        "arguments[0].setAttribute('data-idle-timeout', '121');"
        "arguments[0].dispatchEvent(new Event('rogatory:reschedule'));",
        form,
    )
    warning = driver.find_element(By.ID, "session-warning")
    wait_for(warning.is_displayed, timeout=30, what="the sign-out warning")
    assert "signed out in two minutes" in warning.text
    driver.find_element(By.ID, "stay-signed-in").click()
    wait_for(lambda: not warning.is_displayed(), timeout=30, what="the warning to go")

    # a reload (or coming back after signing in) brings the typed text back
    driver.get(driver.current_url)
    assert driver.find_element(By.NAME, "case_reference").get_attribute("value") == (
        "ROT-2026-00684"
    )
    assert "Typed before the break." in driver.find_element(By.NAME, "s.G.0.facts").text


def test_axe_finds_no_serious_problem_on_the_new_pages(sealing):
    _settings, _rt, relay, driver, draft_id, _evidence = sealing
    pages = {
        "requests": "/ui/requests",
        "drafts": "/ui/drafts",
        "compose": "/ui/compose/mla",
        "draft (what you sign, seal)": f"/ui/drafts/{draft_id}",
        "not found": "/ui/no-such-page",
    }
    found = {}
    for name, path in pages.items():
        for width, height in ((1280, 900), (390, 844)):
            driver.set_window_size(width, height)
            driver.get(relay.url + path)
            problems = axe_problems(driver)
            if problems:
                found[f"{name} @{width}"] = problems
    driver.set_window_size(1280, 900)
    assert found == {}
    # axe is really looking: an image without a text alternative is reported
    driver.execute_script("document.querySelector('main').append(document.createElement('img'))")
    assert any(v[0] == "image-alt" for v in axe_problems(driver))


def _language(driver, code):
    Select(driver.find_element(By.NAME, "language")).select_by_value(code)
    load_next_page(
        driver, driver.find_element(By.CSS_SELECTOR, "header form button[type=submit]").click
    )


def test_pages_on_desktop_and_phone_in_english_and_dutch(sealing):
    """Screenshots of the new pages (docs/screenshots/ with ROGATORY_UPDATE_SCREENSHOTS=1);
    on a phone nothing is wider than the screen."""
    _settings, _rt, relay, driver, draft_id, _evidence = sealing
    pages = {
        "seal": f"/ui/drafts/{draft_id}",
        "drafts": "/ui/drafts",
        "compose-mla": "/ui/compose/mla",
        "requests": "/ui/requests",
    }
    for language in ("en", "nl"):
        driver.get(relay.url + "/ui/drafts")
        _language(driver, language)
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
        for name, path in pages.items():
            driver.get(relay.url + path)
            suffix = "" if language == "en" else "-nl"
            screenshot(driver, f"page-{name}{suffix}")
            screenshot(driver, f"page-{name}{suffix}-phone", phone=True)
            driver.set_window_size(PHONE_WIDTH, 844)
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            wide = driver.execute_script(
                "return [...document.querySelectorAll('body *')]"
                ".filter((e) => e.getBoundingClientRect().right > window.innerWidth)"
                ".slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id)"
            )
            assert overflow <= 0, f"{path} ({language}) is {overflow}px too wide: {wide}"
    driver.set_window_size(1280, 900)
    driver.get(f"{relay.url}/ui/drafts/{draft_id}")
    assert "Ondertekenen en versturen" in driver.find_element(By.ID, "seal-submit").text
    _language(driver, "en")  # the browser is shared with the other tests of this module


def test_large_attachment_travels_through_the_attachment_upload(sealing, tmp_path):
    """Over the 8 MiB inline limit an attachment is announced in the signed manifest and
    PUT afterwards as its own AuthEnvelopedData; the gateway keeps it only if it matches."""
    settings, rt, relay, driver, _draft_id, _evidence = sealing
    big = tmp_path / "ledger.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024))
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    draft_id = ui_requests.save_draft(
        rt.engine,
        rt.blobs,
        username="a.devries",
        authority_id="nl-om-rotterdam",
        form=mla_form(case_reference="ROT-2026-00900"),
        attachments=[{"name": "ledger.bin", "size": big.stat().st_size, "sha256": digest}],
    )
    p12 = make_p12(
        settings.keys_dir / "dev-pki", "magistrate-rsa", P12_PASSWORD, out=tmp_path / "m.p12"
    )
    seal_in_page(driver, relay.url, draft_id, p12, P12_PASSWORD, [big])
    _wait_for_request_page(driver)
    request_id = driver.current_url.split("/ui/requests/")[1].split("?")[0]
    assert len(_sealed_posts(relay, draft_id)) == 1
    assert len(_sealed_posts(relay, draft_id)[0]) < 1024 * 1024  # not inline
    puts = relay.bodies("PUT", r"/api/v1/submissions/[^/ ]+/attachments/ledger[.]bin")
    assert len(puts) == 1
    assert len(puts[0]) > big.stat().st_size  # the whole file, enveloped
    with transaction(rt.engine) as conn:
        stored = rt.blobs.list(conn, request_id, "attachment")
    assert [(s.name, s.sha256) for s in stored] == [("ledger.bin", digest)]
