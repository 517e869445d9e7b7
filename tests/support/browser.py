"""Headless Chromium for UI tests (the Debian ``chromium`` and ``chromium-driver`` packages), and the
reads of the Elastic Jobs tab that the browser tests share.

The tab re-renders while it refreshes, so element reads go through :func:`wait_for`, which retries a
read whose element was just replaced, and rows are read in one script (:func:`target_rows`).
Screenshots and post-mortems go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_SECONDS = 30
TAB_ROUTE = "plugin/elastic-jobs"


@contextmanager
def chromium() -> Iterator[Any]:
    """A selenium driver of headless Chromium; skips the test when Chromium is not installed, except
    under CI (``CI`` set), where scripts/test.sh installs it and its absence is a failure."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        reason = "Chromium is not installed here: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (test extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        "--ignore-certificate-errors",  # the emulator's self-signed certificate
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, condition: Any, what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Wait for ``condition``; on timeout keep a screenshot and the page source for the post-mortem.

    The tab re-renders while it refreshes, so an element found a moment ago may be gone: such a read
    is retried at the next poll instead of failing the test.
    """
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        waiter = WebDriverWait(
            driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
        )
        return waiter.until(condition, message=what)
    except TimeoutException:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "failure.png"))
        (ARTIFACTS / "failure.html").write_text(driver.page_source)
        raise


def sign_in(driver: Any, base_url: str, token: str) -> None:
    """Airflow's UI session: the JWT of ``POST /auth/token`` as the ``_token`` cookie of its origin."""
    driver.get(f"{base_url}/api/v2/monitor/health")  # same origin first, to set the cookie
    driver.add_cookie({"name": "_token", "value": token, "path": "/"})


def open_tab(driver: Any, base_url: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
    """Open a task instance's Elastic Jobs tab in Airflow's UI (signed in); return the tab's frame."""
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    task = f"tasks/{task_id}" + (f"/mapped/{map_index}" if map_index >= 0 else "")
    driver.get(f"{base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/{task}/{TAB_ROUTE}")
    frame = wait_for(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "iframe")), "the plugin frame")
    assert "/elastic-jobs/view?" in frame.get_attribute("src")
    return frame


def target_rows(driver: Any) -> list[tuple[str, str, str, str]]:
    """(step, server, database, lifecycle) of every row the tab shows, read at once (no stale rows)."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('#targets tbody tr')]"
        ".map(row => [...row.cells].slice(0, 4).map(cell => cell.innerText.trim()));"
    )
    return [tuple(row) for row in rows]


def shown_lifecycle(driver: Any) -> str:
    """The execution lifecycle the tab shows (read in the page: the element is replaced on refresh)."""
    script = "const e = document.getElementById('execution-lifecycle'); return e ? e.innerText : '';"
    return (driver.execute_script(script) or "").strip()


def screenshot(driver: Any, name: str) -> Path:
    """Save the whole page (from the top-level document) as ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.switch_to.default_content()
    driver.save_screenshot(str(path))
    return path
