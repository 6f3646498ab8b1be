"""A magistrate's whole journey in headless Chromium, against a real server and worker.

sign in with TOTP -> compose an MLA request (completeness prompts) -> download its JSON ->
sign and seal it in the page with her .p12 (PKI.js + WebCrypto) -> watch it
reach "available" -> the counterpart pulls and acknowledges -> the page shows it.
Screenshots of each page land in docs/screenshots/ui-*.png.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from browser_support import (
    PHONE_WIDTH,
    ServerProcess,
    load_next_page,
    make_p12,
    run_cli,
    screenshot,
    start_chromium,
    web_account,
)
from process_support import wait_for
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from ui_support import PASSWORD

from gateway.runtime.demo import madrid_pull_args
from gateway.services import accounts

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def gateway(make_settings, start_worker, tmp_path):
    settings = make_settings(translation_engine="apertium")
    totp_secret = web_account(
        settings, "a.devries", "nl-om-rotterdam", "A. de Vries", password=PASSWORD
    )
    start_worker(settings)
    server = ServerProcess(settings, tmp_path / "serve.log")
    driver, profile = start_chromium()
    yield settings, server, driver, totp_secret
    driver.quit()
    profile.cleanup()
    server.stop()


def _fill(driver, name, value):
    element = driver.find_element(By.NAME, name)
    element.clear()
    element.send_keys(value)


def _pick(driver, name, value):
    Select(driver.find_element(By.NAME, name)).select_by_value(value)


def _click_and_load(driver, css):
    """Click a submit button or link and wait until the next page has replaced this one."""
    load_next_page(driver, driver.find_element(By.CSS_SELECTOR, css).click)


def _badge(driver):
    try:  # the page's polling may replace the node while it is read
        return driver.find_element(By.ID, "state-badge").text
    except WebDriverException:
        return ""


def test_magistrate_composes_seals_uploads_and_follows_a_request(gateway, tmp_path):
    settings, server, driver, totp_secret = gateway
    pki = settings.keys_dir / "dev-pki"

    # --- sign in: password, then a TOTP code ---------------------------------------------
    driver.get(f"{server.url}/ui/login")
    assert (
        driver.find_element(By.CSS_SELECTOR, "a.skip-link").get_attribute("href").endswith("#main")
    )
    screenshot(driver, "login")
    _fill(driver, "username", "a.devries")
    _fill(driver, "password", PASSWORD)
    _click_and_load(driver, "main button[type=submit]")
    assert "/ui/login/code" in driver.current_url, driver.find_element(By.TAG_NAME, "main").text
    screenshot(driver, "login-code")
    _fill(driver, "code", accounts.current_totp(totp_secret))
    _click_and_load(driver, "main button[type=submit]")
    assert driver.current_url.endswith("/ui/requests"), driver.find_element(
        By.TAG_NAME, "main"
    ).text
    cookie = next(c for c in driver.get_cookies() if c["name"] == "__Host-rogatory-ui")
    assert cookie["httpOnly"]
    assert cookie["secure"]
    assert cookie["sameSite"] == "Strict"

    # --- compose: completeness prompts first, then a complete MLA request ----------------
    _click_and_load(driver, "nav a[href$='/ui/compose']")
    screenshot(driver, "compose-choose")
    _click_and_load(driver, "a[href$='/ui/compose/mla']")
    _pick(driver, "executing_authority", "es-fiscalia-madrid")
    _fill(driver, "case_reference", "ROT-2026-00777")
    _pick(driver, "language", "en")
    _pick(driver, "s.B.0.urgency", "urgent")
    _fill(driver, "s.B.0.urgency_reason", "The money will be moved soon.")
    past = (datetime.now(UTC) - timedelta(days=3)).date()
    driver.execute_script(
        "arguments[0].value = arguments[1]",
        driver.find_element(By.NAME, "s.B.0.deadline"),
        past.isoformat(),
    )
    driver.find_element(
        By.CSS_SELECTOR, "input[name='s.C.0.measures'][value='banking-information']"
    ).click()
    _fill(
        driver,
        "s.C.0.measures_description",
        "Please send the statements of the bank account of the suspect.",
    )
    _pick(driver, "s.E.0.role", "suspect")
    _fill(driver, "s.E.0.surname", "Jansen")
    _pick(driver, "s.F.0.proceedings", "criminal")
    _fill(driver, "s.G.0.facts", "The suspect sold false invoices to a company in Rotterdam.")
    _fill(driver, "s.K.0.representative", "A. de Vries")
    _click_and_load(driver, "button[value=check]")
    summary = driver.find_element(By.ID, "error-summary")
    assert "legal qualification" in summary.text
    assert driver.switch_to.active_element == summary  # focus moved to the summary
    assert "in the past" in driver.find_element(By.ID, "warning-summary").text
    screenshot(driver, "compose-check")
    _fill(driver, "s.G.0.legal_qualification", "Fraud and money laundering.")
    future = (datetime.now(UTC) + timedelta(days=60)).date()
    driver.execute_script(
        "arguments[0].value = arguments[1]",
        driver.find_element(By.NAME, "s.B.0.deadline"),
        future.isoformat(),
    )
    _click_and_load(driver, "button[value=continue]")
    assert "/ui/drafts/" in driver.current_url
    screenshot(driver, "seal")

    # --- the request JSON is still there for experts (command-line sealing) -------------
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    json_url = driver.find_element(By.ID, "download-request").get_attribute("href")
    with httpx.Client(cookies=cookies, timeout=30) as http:
        request_json = http.get(json_url)
    assert request_json.status_code == 200
    assert json.loads(request_json.content)["sections"]["G"]["legal_qualification"]
    assert "request-ROT-2026-00777.p7m" in driver.find_element(
        By.CSS_SELECTOR, "pre.command"
    ).get_attribute("textContent")

    # --- sign and submit in the browser: her .p12 and its password, nothing else --------
    p12 = make_p12(pki, "magistrate-rsa", "p12-password", out=tmp_path / "a.devries.p12")
    wait_for(
        lambda: driver.find_element(By.ID, "browser-seal").get_attribute("data-ready") == "1",
        timeout=60,
        what="the sealing script",
    )
    driver.find_element(By.ID, "p12-file").send_keys(str(p12))
    driver.find_element(By.ID, "p12-password").send_keys("p12-password")
    driver.find_element(By.ID, "seal-submit").click()
    wait_for(
        lambda: "/ui/requests/" in driver.current_url,
        timeout=120,
        what="the request page after signing in the browser",
    )
    assert "/ui/requests/" in driver.current_url
    assert "accepted by the gateway" in driver.find_element(By.TAG_NAME, "main").text
    assert "different request" not in driver.find_element(By.TAG_NAME, "main").text
    request_id = driver.current_url.split("/ui/requests/")[1].split("?")[0]
    live = driver.find_element(By.ID, "progress-text")
    assert live.get_attribute("aria-live") == "polite"

    # --- the page's own polling shows the worker's progress until "available" -----------
    wait_for(
        lambda: _badge(driver) == "Available to the counterpart",
        timeout=180,
        what="the request to become available",
    )
    driver.get(f"{server.url}/ui/requests/{request_id}")
    assert "Machine translation" in driver.find_element(By.TAG_NAME, "main").text
    assert driver.find_elements(By.PARTIAL_LINK_TEXT, "request.pdf")
    screenshot(driver, "request-available")

    # --- the counterpart pulls and acknowledges through the exchange API ---------------
    work = tmp_path / "counterpart"
    work.mkdir()
    run_cli(
        settings,
        "client",
        "new-key",
        "--out",
        str(work / "client.jwk"),
        "--public-out",
        str(work / "client.pub.jwk"),
    )
    run_cli(
        settings,
        "client",
        "register-key",
        "es-fiscalia-madrid",
        "madrid-client",
        "--jwk-file",
        str(work / "client.pub.jwk"),
    )
    pulled = run_cli(
        settings,
        *madrid_pull_args(server.url, pki, client_key=work / "client.jwk", out=work / "inbox"),
    )
    assert f"{request_id}: acknowledged" in pulled
    wait_for(
        lambda: _badge(driver) == "Acknowledged by the counterpart",
        timeout=60,
        what="the page to show the acknowledgement",
    )
    driver.get(f"{server.url}/ui/requests/{request_id}")
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "Receipt acknowledged by the counterpart" in main
    receipts = driver.find_elements(By.CSS_SELECTOR, "a[href*='/receipts/']")
    assert {r.text for r in receipts} >= {"Submission accepted", "Acknowledged by the counterpart"}
    screenshot(driver, "request-acknowledged")

    # --- the list, in English and in Dutch; keyboard: the skip link reaches main -------
    driver.get(f"{server.url}/ui/requests")
    row = driver.find_element(By.CSS_SELECTOR, "table.requests tbody tr")
    assert "Acknowledged by the counterpart" in row.text
    assert future.isoformat() in row.text
    screenshot(driver, "requests")
    screenshot(driver, "requests-phone", phone=True)
    driver.set_window_size(PHONE_WIDTH, 844)
    # on a phone the list is cards: nothing wider than the screen (it was 722 px in 350)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert "ROT-2026-00777" in driver.find_element(By.CSS_SELECTOR, "table.requests td").text
    driver.set_window_size(1280, 900)
    _pick(driver, "language", "nl")
    _click_and_load(driver, "header form button[type=submit]")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "nl"
    assert "Verzoeken van" in driver.find_element(By.TAG_NAME, "h1").text
    screenshot(driver, "requests-nl")
    screenshot(driver, "requests-nl-phone", phone=True)
    assert driver.find_elements(By.CSS_SELECTOR, "header[class] nav[aria-label]")
    assert driver.find_elements(By.CSS_SELECTOR, "main#main")
