"""The fleet view of a 1,000-database execution with failures, in real headless Chromium.

The tab (inside Airflow's UI) shows a square per target database; the test checks the squares
against the plugin's API (counts per lifecycle, one colour and one text per lifecycle), filters the
table by clicking a square and a lifecycle, pages, moves between squares with the keyboard and saves
``test-artifacts/elastic-jobs-fleet-1000-targets.png`` (the tab in Airflow's UI) and
``…-failed.png`` (the tab's page filtered to the failed targets). Skipped only when Chromium is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.ui.conftest import START_TASK, ApiServer, FleetRun
from tests.support.browser import chromium, open_tab, screenshot, sign_in, target_rows, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

SCREENSHOT = "elastic-jobs-fleet-1000-targets"
_SQUARES = "#fleet-groups .cell"
#: Per lifecycle shown: squares, their distinct colours, and whether each one names its lifecycle.
_SQUARES_BY_LIFECYCLE = """
const out = {};
for (const cell of document.querySelectorAll('#fleet-groups .cell')) {
  const l = cell.dataset.lifecycle;
  out[l] = out[l] || {count: 0, colours: [], named: true};
  out[l].count += 1;
  const colour = getComputedStyle(cell).backgroundColor;
  if (!out[l].colours.includes(colour)) out[l].colours.push(colour);
  out[l].named = out[l].named && cell.getAttribute('aria-label').includes(': ' + l);
}
return out;
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by selenium (the Debian ``chromium`` and ``chromium-driver`` packages)."""
    with chromium() as driver:
        yield driver


def _api_counts(api: ApiServer, fleet: FleetRun) -> dict[str, int]:
    run = fleet.run
    response = httpx.get(
        f"{api.url}/elastic-jobs/fleet",
        params={"dag_id": run.dag_id, "run_id": run.run_id, "task_id": START_TASK, "map_index": -1},
        headers={"Authorization": f"Bearer {api.token()}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["counts"]


def _page_info(driver: Any) -> str:
    return driver.execute_script("return document.getElementById('page-info').innerText;")


def test_fleet_of_1000_targets_shows_every_database_and_filters_by_click(
    browser: Any, api_server: ApiServer, fleet_run: FleetRun
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    sign_in(browser, api_server.url, api_server.token())
    frame = open_tab(browser, api_server.url, fleet_run.run.dag_id, fleet_run.run.run_id, START_TASK)
    browser.switch_to.frame(frame)
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, _SQUARES)) == 1000, "1,000 squares", 90)
    total = len(fleet_run.arm_targets())
    wait_for(browser, lambda d: _page_info(d) == f"Rows 1-100 of {total}", "the first page of rows")

    # Squares per lifecycle match the API; one colour per lifecycle, distinct; each square names it.
    counts = _api_counts(api_server, fleet_run)
    assert counts == {"Failed": 100, "Succeeded": 900}
    shown = browser.execute_script(_SQUARES_BY_LIFECYCLE)
    assert {lifecycle: v["count"] for lifecycle, v in shown.items()} == counts
    assert all(len(v["colours"]) == 1 and v["named"] for v in shown.values()), shown
    assert shown["Failed"]["colours"] != shown["Succeeded"]["colours"]
    legend = browser.find_element(By.ID, "counts").text
    assert "Failed: 100" in legend and "Succeeded: 900" in legend
    groups = browser.find_elements(By.CSS_SELECTOR, "#fleet-groups h3")
    assert len(groups) == 2 and all("500 databases: " in g.text for g in groups)
    assert browser.find_element(By.ID, "histogram-total").text == "1000 targets"
    screenshot(browser, SCREENSHOT)

    # The rest on the tab's own page (the whole window; Airflow's layout overlaps the framed page's
    # lower part, where a click would land on Airflow's own elements).
    run = fleet_run.run
    query = f"dag_id={run.dag_id}&run_id={quote(run.run_id, safe='')}&task_id={START_TASK}&map_index=-1"
    browser.get(f"{api_server.url}/elastic-jobs/view?{query}")
    wait_for(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, _SQUARES)) == 1000, "1,000 squares", 90)
    wait_for(browser, lambda d: _page_info(d) == f"Rows 1-100 of {total}", "the first page of rows")

    # Keyboard: one tab stop per group, arrow keys move between squares.
    first, second = browser.find_elements(By.CSS_SELECTOR, _SQUARES)[:2]
    assert first.get_attribute("tabindex") == "0" and second.get_attribute("tabindex") == "-1"
    first.send_keys(Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element == second
    assert second.get_attribute("aria-label") in browser.find_element(By.ID, "cell-detail").text

    # Paging over the whole execution, 100 rows at a time.
    browser.find_element(By.ID, "next").click()
    wait_for(browser, lambda d: _page_info(d) == f"Rows 101-200 of {total}", "the second page")

    # Click a failed square: the table shows that database's row (filtered on the server).
    square = browser.find_element(By.CSS_SELECTOR, "#fleet-groups .cell.Failed")
    database = square.get_attribute("data-database")
    square.click()
    wait_for(browser, lambda d: _page_info(d) == "Rows 1-1 of 1", f"the row of {database}")
    ((_, server, name, lifecycle),) = target_rows(browser)
    assert (server, name, lifecycle) in {(s, d, "Failed") for s, d in fleet_run.failed}
    assert name == database

    # Click the Failed legend entry: every failed target, on one page of 100.
    browser.find_element(By.ID, "clear-filters").click()
    wait_for(browser, lambda d: _page_info(d) == f"Rows 1-100 of {total}", "the filters cleared")
    browser.find_element(By.CSS_SELECTOR, "#counts button.Failed").click()
    wait_for(browser, lambda d: _page_info(d) == "Rows 1-100 of 100", "the failed targets")
    rows = target_rows(browser)
    assert {(r[1], r[2]) for r in rows} == fleet_run.failed and {r[3] for r in rows} == {"Failed"}
    screenshot(browser, SCREENSHOT + "-failed")
