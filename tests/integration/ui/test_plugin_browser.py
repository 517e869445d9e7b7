"""The "Elastic Jobs" task-instance tab in real headless Chromium, after the tutorial's Job1 ran.

The browser signs in to the api-server (the JWT from ``POST /auth/token`` as Airflow's own session
cookie), opens the task instance page of the start task in Airflow's UI, switches into the plugin's
frame and checks the targets of both steps with their states, the per-lifecycle counts and the state
filter. It then follows the extra link to the emulator's own page. Screenshots are written to
``test-artifacts/``. Skipped only when Chromium or its driver is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.ui.conftest import START_TASK, ApiServer, TutorialRun
from tests.support.browser import (
    ARTIFACTS,
    chromium,
    open_tab,
    shown_lifecycle,
    sign_in,
    target_rows,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by selenium (the Debian ``chromium`` and ``chromium-driver`` packages)."""
    with chromium() as driver:
        yield driver


def _open_tab(driver: Any, api: ApiServer, run: TutorialRun) -> Any:
    """Sign in (Airflow's session cookie), open the start task's Elastic Jobs tab; return its frame."""
    sign_in(driver, api.url, api.token())
    return open_tab(driver, api.url, run.dag_id, run.run_id, START_TASK)


def test_tab_lists_the_targets_of_both_steps_with_their_states(
    browser: Any, api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    ARTIFACTS.mkdir(exist_ok=True)
    frame = _open_tab(browser, api_server, tutorial_run)
    browser.switch_to.frame(frame)
    wait_for(browser, lambda d: len(target_rows(d)) >= 3, "target rows in the Elastic Jobs tab")
    server = tutorial_run.world.target_server
    rows = target_rows(browser)
    databases = [row for row in rows if not row[2].startswith("(")]
    assert databases == [
        ("1 step1", server, "TargetDb1", "Succeeded"),
        ("1 step1", server, "TargetDb2", "Succeeded"),
        ("2 step2", server, "TargetDb1", "Succeeded"),
    ]
    steps = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#steps tbody tr")]
    assert [s.split()[:3] for s in steps] == [["1", "step1", "Succeeded"], ["2", "step2", "Succeeded"]]
    assert browser.find_element(By.ID, "execution-lifecycle").text == "Succeeded"
    assert browser.find_element(By.ID, "counts").text == "Succeeded: 3"
    assert tutorial_run.execution_id in browser.find_element(By.ID, "title").text
    browser.switch_to.default_content()
    browser.save_screenshot(str(ARTIFACTS / "elastic-jobs-task-instance-tab.png"))

    # Filter by state inside the frame: every shown row has the chosen lifecycle.
    browser.switch_to.frame(frame)
    Select(browser.find_element(By.ID, "state-filter")).select_by_value("Succeeded")
    pressed = "return document.querySelector('#counts button').getAttribute('aria-pressed');"
    wait_for(browser, lambda d: d.execute_script(pressed) == "true", "the filtered page")
    assert {row[3] for row in target_rows(browser)} == {"Succeeded"}
    browser.find_element(By.CSS_SELECTOR, "#counts button").click()  # toggles the same filter off
    wait_for(browser, lambda d: len(target_rows(d)) == len(rows), "every row again")
    browser.switch_to.default_content()


def test_tab_pages_through_the_targets(
    browser: Any, api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    """The tab's own page with two rows per page: Next and Previous walk every row exactly once."""
    from selenium.webdriver.common.by import By

    browser.get(f"{api_server.url}/api/v2/monitor/health")
    browser.add_cookie({"name": "_token", "value": api_server.token(), "path": "/"})
    query = f"dag_id={tutorial_run.dag_id}&run_id={quote(tutorial_run.run_id, safe='')}&task_id={START_TASK}"
    browser.get(f"{api_server.url}/elastic-jobs/view?{query}&map_index=-1&limit=2")

    def info(driver: Any) -> str:
        return driver.find_element(By.ID, "page-info").text

    wait_for(browser, lambda d: info(d).startswith("Rows 1-2 of "), "the first page")
    total = int(info(browser).rsplit(" ", 1)[1])
    assert total >= 3 and browser.find_element(By.ID, "prev").get_attribute("disabled")
    seen = target_rows(browser)
    while len(seen) < total:
        start = len(seen) + 1
        browser.find_element(By.ID, "next").click()
        wait_for(
            browser, lambda d, start=start: info(d).startswith(f"Rows {start}-"), f"the page from row {start}"
        )
        seen += target_rows(browser)
    assert len(seen) == len(set(seen)) == total
    assert browser.find_element(By.ID, "next").get_attribute("disabled")
    last_start = (total - 1) // 2 * 2 + 1
    browser.find_element(By.ID, "prev").click()
    wait_for(browser, lambda d: info(d).startswith(f"Rows {last_start - 2}-"), "the previous page")


def test_tab_follows_a_running_execution_until_it_ends(
    browser: Any, api_server: ApiServer, running_run: TutorialRun
) -> None:
    from selenium.webdriver.common.by import By

    browser.switch_to.frame(_open_tab(browser, api_server, running_run))

    active = {"Created", "InProgress", "WaitingForChildJobExecutions", "WaitingForRetry"}
    wait_for(browser, lambda d: shown_lifecycle(d) in active, "the running execution shown active")
    wait_for(
        browser,
        lambda d: "Refreshing every" in d.find_element(By.ID, "refresh-note").text,
        "the refresh note",
    )
    world = running_run.world
    world.client.job_executions.cancel(
        world.rg, world.agent_server, world.agent, "SlowJob", running_run.execution_id
    )
    # No reload: the tab polls while the execution is active and shows the new state by itself.
    wait_for(browser, lambda d: shown_lifecycle(d) == "Canceled", "the tab following the cancellation")
    wait_for(browser, lambda d: {row[3] for row in target_rows(d)} == {"Canceled"}, "every target Canceled")
    wait_for(
        browser, lambda d: "Updated" in d.find_element(By.ID, "refresh-note").text, "the last update time"
    )
    browser.switch_to.default_content()


def test_emulator_link_opens_the_emulator_page_of_the_execution(
    browser: Any, tutorial_run: TutorialRun
) -> None:
    from selenium.webdriver.common.by import By

    world = tutorial_run.world
    execution = world.agent_path("jobs", "Job1", "executions", tutorial_run.execution_id)
    browser.get(f"{world.emulator.url}/_emulator/ui{execution}")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#targets tbody tr")]
    assert sum("TargetDb1" in r and "Succeeded" in r for r in rows) == 2
    assert sum("TargetDb2" in r and "Succeeded" in r for r in rows) == 1
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "emulator-execution-page.png"))
