"""Headless Chromium (Debian's chromium + chromium-driver) and a real `rogatory serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from process_support import REPO, GatewayProcess, settings_env
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from gateway.config import Settings

# Committed screenshots are refreshed only on request, so a test run leaves the tree clean.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("ROGATORY_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "rogatory-ui-screenshots"
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--lang=en-GB",
)


def web_account(
    settings: Settings,
    username: str,
    authority: str,
    display_name: str,
    *,
    password: str,
    role: str | None = None,
) -> str:
    """A web account (magistrate, or `role`) in `settings`' database; its TOTP secret."""
    from gateway.persistence.db import make_engine
    from gateway.runtime.container import load_kek
    from gateway.services import accounts, roles

    engine = make_engine(settings.database_url)
    try:
        created = accounts.create_user(
            engine,
            username,
            authority,
            password,
            kek=load_kek(settings),
            display_name=display_name,
        )
        if role is not None:
            roles.set_role(engine, username, role, actor="admin:test")
    finally:
        engine.dispose()
    return created.totp_secret


def run_cli(settings: Settings, *args: object) -> str:
    """`rogatory ARGS` as a subprocess on `settings`' data; its standard output."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway", *map(str, args)],
        cwd=REPO,
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


ServerProcess = GatewayProcess  # the browser tests' name for a `rogatory serve`


def start_chromium() -> tuple[webdriver.Chrome, tempfile.TemporaryDirectory[str]]:
    profile = tempfile.TemporaryDirectory(prefix="rogatory-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile.name}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console, for failures
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_page_load_timeout(60)
    return driver, profile


PHONE_WIDTH = 390

AXE = REPO / "webseal" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(
  (r) => done(r.violations.map((v) => [v.id, v.impact, v.nodes.map((n) => n.target.join(" "))])),
  (e) => done([["axe-error", "critical", [String(e)]]]));
"""


def axe_problems(driver: webdriver.Chrome) -> list[list[object]]:
    """axe-core's critical and serious violations on the page shown: [id, impact, nodes]."""
    assert AXE.exists(), f"{AXE} is missing: run make setup (npm ci in webseal/)"
    driver.execute_script(AXE.read_text())
    driver.set_script_timeout(120)
    violations = driver.execute_async_script(AXE_RUN)
    return [v for v in violations if v[1] in ("critical", "serious")]


def screenshot(driver: webdriver.Chrome, name: str, *, phone: bool = False) -> Path:
    """A full-page PNG (docs/screenshots/ with ROGATORY_UPDATE_SCREENSHOTS=1; the window
    grows to the page's height); `phone` takes it 390 px wide."""
    width = PHONE_WIDTH if phone else 1280
    driver.set_window_size(width, 844 if phone else 900)
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
    )
    driver.set_window_size(width, max(720, min(int(height) + 20, 4000)))
    path = SCREENSHOTS / f"ui-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    return path


def load_next_page(
    driver: webdriver.Chrome, action: Callable[[], object], timeout: float = 60
) -> None:
    """Run ``action`` (a click, a key press) and wait until the next page replaced this one.

    While Chromium replaces the page, a query about the old page's node may be answered
    'Node with given id does not belong to the document' instead of a stale-element error
    (seen once in a full run): both mean the page is gone.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    action()

    def gone(_driver: webdriver.Chrome) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in (exc.msg or ""):
                return True
            raise
        return False

    WebDriverWait(driver, timeout).until(gone)


def sign_in_browser(driver: webdriver.Chrome, base_url: str, username: str, secret: str) -> None:
    """Both sign-in steps (password, then a TOTP code) as a magistrate does them."""
    from selenium.webdriver.common.by import By

    from gateway.services import accounts

    def submit(name: str, value: str) -> None:
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
        load_next_page(
            driver, driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click
        )

    driver.get(f"{base_url}/ui/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    submit("password", "correct horse battery staple")
    submit("code", accounts.current_totp(secret))
    assert driver.current_url.endswith("/ui/requests"), driver.find_element(
        By.TAG_NAME, "main"
    ).text


def make_p12(directory: Path, stem: str, password: str, *, out: Path, legacy: bool = False) -> Path:
    """A .p12 of a dev-PKI key and certificate (with the CA), as `openssl pkcs12 -export`
    writes it today (PBES2/AES-256-CBC, SHA-256 MAC), or as old exporters did (`legacy`:
    RC2/3DES, SHA-1 MAC)."""
    subprocess.run(
        [
            "openssl", "pkcs12", "-export", *(["-legacy"] if legacy else []),
            "-inkey", str(directory / f"{stem}.key"),
            "-in", str(directory / f"{stem}.pem"),
            "-certfile", str(directory / "ca.pem"),
            "-name", stem,
            "-passout", f"pass:{password}",
            "-out", str(out),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return out


def seal_in_page(
    driver: webdriver.Chrome,
    base_url: str,
    draft_id: str,
    p12: Path,
    password: str,
    attachments: Sequence[Path] = (),
) -> None:
    """Open a draft's seal page, choose the .p12 (and attachments), type the password, sign."""
    from process_support import wait_for
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/ui/drafts/{draft_id}")
    wait_for(
        lambda: driver.find_element(By.ID, "browser-seal").get_attribute("data-ready") == "1",
        timeout=60,
        what="the sealing script to load",
    )
    driver.find_element(By.ID, "p12-file").send_keys(str(p12))
    driver.find_element(By.ID, "p12-password").send_keys(password)
    if attachments:
        driver.find_element(By.ID, "attachment-files").send_keys("\n".join(map(str, attachments)))
    driver.find_element(By.ID, "seal-submit").click()
