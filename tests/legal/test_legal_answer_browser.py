"""In Chromium: the executing side refuses a request with an Art 11 ground chosen from the list.

Real `rogatory serve`, real worker (Apertium): the EIO is translated, rendered and packaged;
the Madrid prosecutor signs in, opens it, chooses "refusal", ticks a ground, seals the answer
in the browser with her .p12; the Rotterdam magistrate then reads the refusal with the
ground's hand-kept label and the request `rejected`. Madrid cannot open a request addressed
to another authority. Screenshot: docs/screenshots/ui-answer-refusal.png
(ROGATORY_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from legal_support import MADRID, ROTTERDAM, eio_form, issue, retrieve, submit
from process_support import WorkerProcess, wait_for

from gateway.config import Settings
from gateway.domain.labels import catalogue_for
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.broker import ensure_embedded_broker
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.dispatch import flush_outbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GROUND = "eio-art11-1g-dual-criminality"
P12_PASSWORD = "Madrid-p12-secret"


def _state(rt: Runtime, request_id: str) -> str:
    with transaction(rt.engine) as conn:
        return requests_store.get(conn, request_id).state.value


def _from_madrid_to_rotterdam() -> dict[str, object]:
    form = eio_form()
    form.update(issuing_authority=MADRID, executing_authority=ROTTERDAM, language="es")
    form["sections"]["A"] = {"issuing_state": "ES", "executing_state": "NL"}
    return form


def test_executing_side_refuses_with_a_ground_from_the_list_and_the_issuer_reads_it(
    make_settings: Callable[..., Settings],
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    from browser_support import (
        ServerProcess,
        load_next_page,
        make_p12,
        screenshot,
        seal_in_page,
        sign_in_browser,
        start_chromium,
        web_account,
    )
    from selenium.webdriver.common.by import By
    from ui_support import PASSWORD

    settings = make_settings(translation_engine="apertium")
    ensure_embedded_broker(settings)
    rt = build_runtime(settings)
    start_worker(settings)
    server = ServerProcess(settings, tmp_path / "serve.log")
    driver, profile = start_chromium()
    try:
        madrid = web_account(settings, "m.garcia", MADRID, "M. García", password=PASSWORD)
        rotterdam = web_account(settings, "a.devries", ROTTERDAM, "A. de Vries", password=PASSWORD)
        now = datetime.now(UTC)
        request_id = issue(rt, eio_form(), now)
        elsewhere = submit(rt, _from_madrid_to_rotterdam(), now, signer="authority-b-sign")
        flush_outbox(rt.engine, rt.sender)
        for rid in (request_id, elsewhere.request_id):
            wait_for(lambda r=rid: _state(rt, r) == "available", timeout=300, what="available")
        retrieve(rt, request_id, now)  # Madrid's system pulled it (the clocks start)

        def open_next(css: str) -> None:
            """Click a link or button and wait until the next page replaced this one."""
            load_next_page(driver, driver.find_element(By.CSS_SELECTOR, css).click)

        sign_in_browser(driver, server.url, "m.garcia", madrid)
        driver.get(f"{server.url}/ui/inbox")
        assert elsewhere.request_id[:8] not in driver.find_element(By.ID, "inbox").text
        open_next(f'a[href="/ui/inbox/{request_id}"]')
        open_next("#answer-button")
        driver.find_element(By.CSS_SELECTOR, 'input[name="kind"][value="refusal"]').click()
        open_next("#choose-kind button[type=submit]")
        # the form checks the kind's needs: a refusal without a ground goes nowhere
        driver.find_element(By.ID, "f-s-R-0-body").send_keys("Los hechos no son delito en España.")
        driver.find_element(By.ID, "f-s-K-0-representative").send_keys("M. García")
        open_next("#answer-continue")
        summary = driver.find_element(By.ID, "error-summary").text
        assert "Choose at least one ground of refusal from the list." in summary
        label = catalogue_for("en").code_meaning("refusal_grounds", GROUND)
        ground = driver.find_element(By.CSS_SELECTOR, f'input[value="{GROUND}"]')
        assert label in ground.find_element(By.XPATH, "..").text
        ground.click()
        screenshot(driver, "answer-refusal")
        open_next("#answer-continue")

        wait_for(lambda: "/ui/drafts/" in driver.current_url, timeout=60, what="the seal page")
        draft_id = driver.current_url.rsplit("/", 1)[-1]
        p12 = make_p12(
            settings.keys_dir / "dev-pki",
            "authority-b-sign",
            P12_PASSWORD,
            out=tmp_path / "madrid.p12",
        )
        seal_in_page(driver, server.url, draft_id, p12, P12_PASSWORD)

        def answered() -> bool:
            if "answered=1" in driver.current_url:
                return True
            problem = driver.find_elements(By.ID, "seal-problem")
            if problem and problem[0].is_displayed():
                raise AssertionError(f"{problem[0].text}\n{driver.get_log('browser')}")
            return False

        wait_for(answered, timeout=120, what="the request page after sealing the answer")
        assert driver.find_element(By.ID, "answer-sent").is_displayed()
        assert _state(rt, request_id) == "rejected"
        other = elsewhere.request_id
        for path in (f"/ui/inbox/{other}", f"/ui/inbox/{other}/answer?kind=refusal"):
            driver.get(f"{server.url}{path}")
            assert other not in driver.find_element(By.TAG_NAME, "main").text
            assert not driver.find_elements(By.ID, "answer-form")
            status = driver.execute_script(
                "return fetch(arguments[0]).then(r => r.status)", f"{server.url}{path}"
            )
            assert status == 404
        reply_id = wait_for(  # the answer went through the reply pipeline to the issuer
            lambda: next(
                (r for r in _replies(rt, request_id) if _state(rt, r) == "available"), None
            ),
            timeout=300,
            what="the refusal translated, rendered and packaged",
        )

        driver.delete_all_cookies()
        sign_in_browser(driver, server.url, "a.devries", rotterdam)
        driver.get(f"{server.url}/ui/requests/{request_id}")
        assert driver.find_element(By.ID, "state-badge").text == "Rejected"
        refusal = driver.find_element(By.CSS_SELECTOR, '.reply-kind[data-kind="refusal"]')
        assert refusal.text == catalogue_for("en").code_meaning("reply_kind", "refusal")
        grounds = driver.find_element(By.CSS_SELECTOR, f'.reply-grounds li[data-ground="{GROUND}"]')
        assert grounds.text == label
        pdf = driver.find_elements(
            By.CSS_SELECTOR, f'a[href^="/ui/requests/{reply_id}/documents/"]'
        )
        assert pdf, "the bilingual PDF of the refusal is offered"
    finally:
        driver.quit()
        profile.cleanup()
        server.stop()
        rt.close()


def _replies(rt: Runtime, request_id: str) -> list[str]:
    from gateway.persistence.tables import requests as requests_table

    with transaction(rt.engine) as conn:
        return list(
            conn.execute(
                requests_table.select()
                .with_only_columns(requests_table.c.id)
                .where(requests_table.c.in_reply_to == request_id)
            ).scalars()
        )
