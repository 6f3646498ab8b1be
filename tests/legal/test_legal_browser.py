"""In Chromium: the magistrate sees each clock's days left and a breached one in red.

Screenshot: docs/screenshots/ui-request-clocks.png (ROGATORY_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from legal_support import answer, eio_form, issue, make_available, retrieve

from gateway.config import Settings
from gateway.runtime.container import build_runtime
from gateway.services import accounts, legal_notices

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Any]:
    from browser_support import ServerProcess, start_chromium

    settings = make_settings()
    server = ServerProcess(settings, tmp_path / "serve.log")
    driver, profile = start_chromium()
    yield settings, server, driver
    driver.quit()
    profile.cleanup()
    server.stop()


def test_magistrate_sees_days_left_and_the_breach_on_the_request_page(browser: Any) -> None:
    from browser_support import load_next_page, screenshot
    from selenium.webdriver.common.by import By
    from ui_support import PASSWORD

    settings, server, driver = browser
    rt = build_runtime(settings)
    now = datetime.now(UTC)
    totp = accounts.create_user(
        rt.engine,
        "a.devries",
        "nl-om-rotterdam",
        PASSWORD,
        kek=rt.blobs.kek,
        display_name="A. de Vries",
    ).totp_secret
    deadline = (now - timedelta(days=2)).date().isoformat()
    request_id = issue(rt, eio_form(urgency="urgent", deadline=deadline), now)
    make_available(rt, request_id)
    retrieve(rt, request_id, now)
    answer(rt, request_id, "acknowledgement", now)
    assert legal_notices.sweep_clocks(rt.engine, rt.sealer(), now=now) >= 1  # the breach
    rt.close()

    def submit_and_wait(css: str) -> None:
        load_next_page(driver, driver.find_element(By.CSS_SELECTOR, css).click)

    driver.get(f"{server.url}/ui/login")
    driver.find_element(By.NAME, "username").send_keys("a.devries")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit_and_wait("main button[type=submit]")
    driver.find_element(By.NAME, "code").send_keys(accounts.current_totp(totp))
    submit_and_wait("main button[type=submit]")
    driver.get(f"{server.url}/ui/requests/{request_id}")
    table = driver.find_element(By.ID, "legal-clocks")
    rows = {
        row.get_attribute("data-clock"): row
        for row in table.find_elements(By.CSS_SELECTOR, "tr.clock")
    }
    assert set(rows) == {"acknowledgement", "recognition"}
    assert "met" in rows["acknowledgement"].text
    breach = rows["recognition"].find_element(By.CLASS_NAME, "clock-breach")
    assert "overdue (2)" in breach.text
    assert breach.value_of_css_property("color") == "rgba(164, 22, 26, 1)"  # --error, red
    assert "Art 12(2)" in rows["recognition"].text
    timeline = driver.find_element(By.CLASS_NAME, "timeline").text
    assert "Legal time limit passed" in timeline
    screenshot(driver, "request-clocks")
