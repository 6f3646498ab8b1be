"""The translation preview in Chromium (issue 20): the magistrate clicks "Preview
translation" on her draft and the worker's translation appears in the page, with the
words the engine did not know; the page passes axe-core in that state."""

from __future__ import annotations

import pytest
from browser_support import (
    SCREENSHOTS,
    ServerProcess,
    axe_problems,
    sign_in_browser,
    start_chromium,
    web_account,
)
from process_support import wait_for
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from ui_support import PASSWORD, mla_form

from gateway.runtime.container import build_runtime
from gateway.services import ui_requests

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FACTS = "Pieter Jansen sold false invoices to the zorblaxian company in Rotterdam."


@pytest.fixture
def gateway(make_settings, start_worker, tmp_path):
    settings = make_settings(translation_engine="apertium")
    secret = web_account(settings, "a.devries", "nl-om-rotterdam", "A. de Vries", password=PASSWORD)
    start_worker(settings, beat=False)
    server = ServerProcess(settings, tmp_path / "serve.log")
    rt = build_runtime(settings)
    driver, profile = start_chromium()
    try:
        sign_in_browser(driver, server.url, "a.devries", secret)
        yield rt, server, driver
    finally:
        driver.quit()
        profile.cleanup()
        server.stop()
        rt.close()


def _text(driver, element_id):
    try:  # the script replaces the preview's part of the page while it is read
        return driver.find_element(By.ID, element_id).text
    except WebDriverException:
        return ""


def test_magistrate_previews_the_translation_of_her_draft(gateway):
    rt, server, driver = gateway
    form = mla_form()
    form["sections"]["G"]["facts"] = FACTS
    draft_id = ui_requests.save_draft(
        rt.engine,
        rt.blobs,
        username="a.devries",
        authority_id="nl-om-rotterdam",
        form=form,
        attachments=[],
    )
    driver.get(f"{server.url}/ui/drafts/{draft_id}")
    section = driver.find_element(By.ID, "translation-preview")
    wait_for(lambda: section.get_attribute("data-ready") == "1", timeout=60, what="the script")
    assert "facturas" not in section.text
    url = driver.current_url
    driver.find_element(By.ID, "translation-preview-ask").click()
    wait_for(
        lambda: "facturas falsas" in _text(driver, "translation-preview-body"),
        timeout=120,
        what="the translation to appear",
    )
    assert driver.current_url == url  # shown in place, no page load
    shown = driver.find_element(By.ID, "translation-preview-body").text
    assert "Pieter Jansen" in shown
    assert "Words the engine does not know (left as you wrote them): zorblaxian." in shown
    assert "Engine: apertium" in shown
    assert driver.find_element(By.ID, "translation-preview").get_attribute("data-state") == "done"
    assert not [
        entry
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "translation-preview" in entry["message"]
    ]
    assert axe_problems(driver) == []

    # the fields to check are named first, each a link to its translation
    attention = driver.find_element(By.ID, "translation-preview-attention")
    assert "Summary of the facts" in attention.text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 20, 4000))  # the whole part in view
    section = driver.find_element(By.ID, "translation-preview")
    section.screenshot(str(SCREENSHOTS / "ui-compose-translation-preview.png"))
    driver.set_window_size(1280, 900)

    # the gateway stops answering while a preview is prepared: the page says so, and stops
    driver.execute_script(
        "arguments[0].setAttribute('data-status-url', '/ui/no-such-status')", section
    )
    driver.find_element(By.ID, "translation-preview-ask").click()
    wait_for(
        lambda: section.get_attribute("data-state") == "unreachable",
        timeout=60,
        what="the page to give up",
    )
    assert "the gateway did not answer" in _text(driver, "translation-preview-problem")
