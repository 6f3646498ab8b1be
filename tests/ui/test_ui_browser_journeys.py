"""A magistrate's journey for the other request types, in Chromium, from sign-in to
"acknowledged", sealing in the browser (the MLA journey is in test_ui_browser.py).

The form is filled from the schema (every required field of every required part), so the
journey follows the real compose page, its completeness check and its prompts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from browser_support import (
    ServerProcess,
    load_next_page,
    make_p12,
    run_cli,
    screenshot,
    sign_in_browser,
    start_chromium,
    web_account,
)
from process_support import wait_for
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from ui_support import PASSWORD

from gateway.domain.fields import FieldKind
from gateway.domain.request_types import SCHEMAS, RequestType
from gateway.runtime.demo import madrid_pull_args

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
    sign_in_browser(driver, server.url, "a.devries", totp_secret)
    yield settings, server, driver
    driver.quit()
    profile.cleanup()
    server.stop()


def _fill_required(driver, request_type: RequestType) -> None:
    """Every required field of every required part, as a magistrate types it."""
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    for section in SCHEMAS[request_type].sections:
        if not section.required:
            continue
        for spec in section.fields:
            name = f"s.{section.key}.0.{spec.key}"
            elements = driver.find_elements(By.NAME, name)
            if not spec.required or not elements:
                continue
            element = elements[0]
            if spec.kind in (FieldKind.CODE, FieldKind.COUNTRY) and element.tag_name == "select":
                if not Select(element).first_selected_option.get_attribute("value"):
                    Select(element).select_by_index(1)
            elif spec.kind is FieldKind.CODES:
                element.click()
            elif spec.kind in (FieldKind.DATE, FieldKind.DATETIME):
                if not element.get_attribute("value"):
                    value = "1980-04-12" if "birth" in spec.key else future
                    driver.execute_script("arguments[0].value = arguments[1]", element, value)
            elif spec.kind is FieldKind.INTEGER:
                element.clear()
                element.send_keys("1")
            elif not element.get_attribute("value") and not element.text:
                element.send_keys("The suspect sold false invoices in Rotterdam.")


def _badge(driver):
    """The state badge's text; the page's polling may replace the node while it is read."""
    try:
        return driver.find_element(By.ID, "state-badge").text
    except WebDriverException:
        return ""


def _click_and_load(driver, css):
    load_next_page(driver, driver.find_element(By.CSS_SELECTOR, css).click)


@pytest.mark.parametrize(
    "request_type", [RequestType.WITNESS_EXAMINATION, RequestType.EXTRADITION], ids=str
)
def test_journey_to_acknowledged_with_sealing_in_the_browser(gateway, tmp_path, request_type):
    settings, server, driver = gateway
    pki = settings.keys_dir / "dev-pki"
    driver.get(f"{server.url}/ui/compose/{request_type.value}")
    Select(driver.find_element(By.NAME, "executing_authority")).select_by_value(
        "es-fiscalia-madrid"
    )
    reference = f"ROT-2026-{request_type.value[:3].upper()}-1"
    driver.find_element(By.NAME, "case_reference").send_keys(reference)
    Select(driver.find_element(By.NAME, "language")).select_by_value("en")
    _fill_required(driver, request_type)
    _click_and_load(driver, "button[value=continue]")
    assert "/ui/drafts/" in driver.current_url, driver.find_element(By.ID, "main").text[:1500]
    assert reference in driver.find_element(By.ID, "what-you-sign").text

    p12 = make_p12(pki, "magistrate-ec", "p12-password", out=tmp_path / "me.p12")
    wait_for(
        lambda: driver.find_element(By.ID, "browser-seal").get_attribute("data-ready") == "1",
        what="the sealing script",
    )
    driver.find_element(By.ID, "p12-file").send_keys(str(p12))
    driver.find_element(By.ID, "p12-password").send_keys("p12-password")
    driver.find_element(By.ID, "seal-submit").click()
    wait_for(lambda: "/ui/requests/" in driver.current_url, what="the request page")
    request_id = driver.current_url.split("/ui/requests/")[1].split("?")[0]
    wait_for(
        lambda: _badge(driver) == "Available to the counterpart",
        timeout=240,
        what="the request to become available",
    )

    work = tmp_path / "counterpart"
    work.mkdir()
    run_cli(settings, "client", "new-key", "--out", work / "c.jwk", "--public-out", work / "p.jwk")
    run_cli(
        settings, "client", "register-key", "es-fiscalia-madrid", "madrid-client",
        "--jwk-file", work / "p.jwk",
    )  # fmt: skip
    pulled = run_cli(
        settings,
        *madrid_pull_args(server.url, pki, client_key=work / "c.jwk", out=work / "inbox"),
    )
    assert f"{request_id}: acknowledged" in pulled
    wait_for(
        lambda: driver.find_element(By.ID, "state-badge").text == "Acknowledged by the counterpart",
        timeout=60,
        what="the acknowledgement on the page",
    )
    driver.get(f"{server.url}/ui/requests?q={reference}")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.requests tbody tr")
    assert len(rows) == 1
    assert reference in rows[0].text
    screenshot(driver, f"journey-{request_type.value}")
