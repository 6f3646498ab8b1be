"""Issue 19 in headless Chromium: a translator reviews, edits two segments, signs off; the
counterpart pulls the reviewed, sealed PDF. Screenshots: docs/screenshots/ui-review*.png.
"""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from browser_support import (
    SCREENSHOTS,
    ServerProcess,
    load_next_page,
    run_cli,
    screenshot,
    start_chromium,
    web_account,
)
from process_support import wait_for
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from ui_support import PASSWORD, mla_form, sealed_submission

from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.container import build_runtime
from gateway.runtime.demo import madrid_pull_args
from gateway.services import accounts
from gateway.services import translation_review as review

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def gateway(make_settings, start_worker, tmp_path):
    settings = make_settings(translation_engine="apertium")
    totp_secret = web_account(
        settings,
        "ana.perez",
        "es-fiscalia-madrid",
        "Ana Pérez",
        password=PASSWORD,
        role="translator",
    )
    start_worker(settings)
    server = ServerProcess(settings, tmp_path / "serve.log")
    driver, profile = start_chromium()
    yield settings, server, driver, totp_secret
    driver.quit()
    profile.cleanup()
    server.stop()


def _keys_and_load(driver, *keys):
    """Send keys to the focused element and wait for the page the form post leads to."""
    load_next_page(driver, lambda: _press(driver, *keys))
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _press(driver, *keys):
    """Keys to whatever has the focus, as a keyboard user types them (no click first)."""
    chain = ActionChains(driver)
    modifiers = [k for k in keys if k in (Keys.CONTROL, Keys.SHIFT)]
    for key in modifiers:
        chain.key_down(key)
    for key in keys:
        if key not in modifiers:
            chain.send_keys(key)
    for key in modifiers:
        chain.key_up(key)
    chain.perform()


def _current(driver):
    return driver.execute_script("return document.activeElement.closest('tr.segment')")


def test_translator_reviews_edits_two_signs_off_and_counterpart_pulls_reviewed_pdf(
    gateway, tmp_path
):
    settings, server, driver, totp_secret = gateway
    form = mla_form()
    # Two segments the translation genuinely flags. A capitalised unknown word is a name to
    # the span protector now (kept, never sent to the engine), so it flags nothing; a surname
    # that is also an English word, opening a sentence, is not protected and Apertium
    # translates it ("El panadero"): the output guard flags `missing: Baker` (needs-review).
    # The lowercase coinages are Apertium's unknown words (`unknown-words`).
    form["sections"]["G"]["facts"] = (
        "The suspect sold false invoices to a company on 12 January 2026 through the "
        "zorblaxian scheme. Baker sent the money to a bank account in Madrid."
    )
    form["sections"]["G"]["maximum_penalty"] = (
        "Four years of prison. Baker also risks a quibbletax."
    )
    submitted = httpx.post(
        f"{server.url}/api/v1/submissions",
        content=sealed_submission(settings, form),
        headers={"Content-Type": "application/pkcs7-mime"},
        timeout=60,
    )
    assert submitted.status_code == 202, submitted.text
    request_id = submitted.json()["request_id"]
    rt = build_runtime(settings)

    def state():
        with transaction(rt.engine) as conn:
            return requests_store.get(conn, request_id).state.value

    wait_for(lambda: state() == "available", timeout=300, what="machine-translated package")

    # --- sign in (password + TOTP), open the review page --------------------------------
    driver.get(f"{server.url}/ui/login")
    driver.find_element(By.NAME, "username").send_keys("ana.perez")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    _keys_and_load(driver, Keys.ENTER)
    driver.find_element(By.NAME, "code").send_keys(accounts.current_totp(totp_secret))
    _keys_and_load(driver, Keys.ENTER)
    driver.get(f"{server.url}/ui/review")
    screenshot(driver, "review-list")
    driver.find_element(By.CSS_SELECTOR, f"a[href$='/ui/review/{request_id}']").click()
    WebDriverWait(driver, 30).until(expected_conditions.url_contains(request_id))
    flagged = driver.find_elements(By.CSS_SELECTOR, "tr.segment[data-flagged='true']")
    assert len(flagged) >= 2
    assert driver.find_elements(By.CSS_SELECTOR, ".flag")
    screenshot(driver, "review")

    # --- keyboard: j to the first flagged segment, e to edit, Ctrl+Enter to save, twice -----
    edited_paths = []
    for _ in range(2):
        _press(driver, "j")
        row = _current(driver)
        assert row is not None, [e["message"][:300] for e in driver.get_log("browser")]
        assert row.get_attribute("data-flagged") == "true", row.get_attribute("id")
        assert row.get_attribute("data-decided") == "false"
        edited_paths.append(row.find_element(By.CSS_SELECTOR, ".path").text.split(" · ")[1])
        _press(driver, "e")
        textarea = driver.switch_to.active_element
        assert textarea.tag_name == "textarea"
        _press(driver, Keys.CONTROL, Keys.END)
        _press(driver, " [revisado]")
        _keys_and_load(driver, Keys.CONTROL, Keys.ENTER)
    assert len(set(edited_paths)) == 2

    # --- accept the rest: a on each undecided segment, from the top ---------------------
    driver.get(f"{server.url}/ui/review/{request_id}#s1")
    for _ in range(40):
        undecided = driver.find_elements(By.CSS_SELECTOR, "tr.segment[data-decided='false']")
        if not undecided:
            break
        driver.execute_script("arguments[0].focus()", undecided[0])
        _keys_and_load(driver, "a")
    progress = driver.find_element(By.ID, "progress-text").text
    done, total = (int(x) for x in progress.split(" / "))
    assert done == total
    driver.find_element(By.ID, "sign-off").click()
    WebDriverWait(driver, 60).until(expected_conditions.url_contains("signed-off"))
    assert "signed-off:2" in driver.find_element(By.ID, "review-message").text

    def reviewed_ready():
        with transaction(rt.engine) as conn:
            return review.reviewed_versions(conn, rt.blobs, request_id)

    wait_for(reviewed_ready, timeout=240, what="reviewed PDF and package")
    driver.get(f"{server.url}/ui/review/{request_id}")
    assert "v2" in driver.find_element(By.TAG_NAME, "main").text
    rt.close()

    # --- the counterpart pulls: the latest version is the reviewed one ------------------
    work = tmp_path / "counterpart"
    work.mkdir()
    run_cli(settings, "client", "new-key", "--out", str(work / "client.jwk"),
         "--public-out", str(work / "client.pub.jwk"))  # fmt: skip
    run_cli(settings, "client", "register-key", "es-fiscalia-madrid", "madrid-client",
         "--jwk-file", str(work / "client.pub.jwk"))  # fmt: skip
    pki = settings.keys_dir / "dev-pki"
    pulled = run_cli(
        settings,
        *madrid_pull_args(server.url, pki, client_key=work / "client.jwk", out=work / "inbox"),
    )
    assert request_id in pulled
    folder = work / "inbox" / request_id
    text = subprocess.run(
        ["pdftotext", "-layout", str(folder / "request.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    flat = " ".join(text.split())
    assert "revisada y corregida por Ana Pérez, Fiscalía Provincial de Madrid" in flat
    assert "reviewed and corrected by Ana Pérez" in flat
    assert "not a certified translation" not in flat
    translation = json.loads((folder / "translation.json").read_text())
    assert translation["version"] == 2
    origin = {s["path"]: s["provenance"]["engine"] for s in translation["fields"]}
    for path in edited_paths:
        assert origin[path] == "human:ana.perez"
    assert sum(1 for e in origin.values() if e == "apertium") >= 1
    if SCREENSHOTS.parent.name == "docs":
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(folder / "request.pdf"),
             str(SCREENSHOTS / "pdf-mla-reviewed")],
            check=True, timeout=120,
        )  # fmt: skip
