"""The Elastic Jobs task-instance tab in headless Chromium against the deployment's api-server.

For a plain deferred start task and for one map index of a mapped start task: while the job runs,
the tab shows the execution active with its target in progress and refreshes by itself; once the
job ends it shows Succeeded, without a reload. Screenshots of both moments go to
``test-artifacts/`` (``deployment-tab-*.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi
from tests.deployment.scenario import MAPPED_START_DAG, START_DAG, START_TASK_ID, start_conf, waiting_job
from tests.integration.executions_world import World
from tests.support.browser import (
    chromium,
    open_tab,
    screenshot,
    shown_lifecycle,
    sign_in,
    target_rows,
    wait_for,
)

pytestmark = pytest.mark.timeout(300)

ACTIVE = {"Created", "InProgress", "WaitingForChildJobExecutions", "WaitingForRetry"}


@pytest.fixture(scope="module")
def browser(stack: LocalStack, airflow_api: DeploymentApi) -> Iterator[Any]:
    """Chromium signed in to the deployment's UI as admin."""
    with chromium() as driver:
        sign_in(driver, stack.api_url, airflow_api.token())
        yield driver


def _follow_the_tab(
    browser: Any,
    api: DeploymentApi,
    url: str,
    dag_id: str,
    run_id: str,
    map_index: int,
    database: str,
    name: str,
) -> None:
    """Open the tab of one task instance while the job runs on ``database``, then watch it reach
    Succeeded without a reload."""
    from selenium.webdriver.common.by import By

    api.wait_for_task(dag_id, run_id, START_TASK_ID, {"deferred"}, timeout=120, map_index=map_index)
    execution_id = api.xcom(dag_id, run_id, START_TASK_ID, key="execution_id", map_index=map_index)
    browser.switch_to.frame(open_tab(browser, url, dag_id, run_id, START_TASK_ID, map_index))
    wait_for(browser, lambda d: shown_lifecycle(d) in ACTIVE, "the running execution shown active")
    assert execution_id in browser.execute_script("return document.getElementById('title').innerText")
    screenshot(browser, f"deployment-tab-{name}-running")

    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe"))  # the same page, no reload
    wait_for(browser, lambda d: shown_lifecycle(d) == "Succeeded", "the tab following the end", timeout=120)
    wait_for(
        browser, lambda d: [r[2:] for r in target_rows(d)] == [(database, "Succeeded")], "the target row"
    )
    screenshot(browser, f"deployment-tab-{name}-ended")
    assert api.wait_for_run(dag_id, run_id, timeout=120)["state"] == "success"


def test_tab_follows_a_deferred_task_on_the_deployment(
    stack: LocalStack, browser: Any, airflow_api: DeploymentApi, agent_world: World
) -> None:
    job = waiting_job(agent_world, "TabPlain", seconds=15)
    run_id = airflow_api.trigger(START_DAG, start_conf(agent_world, job_name=job))
    _follow_the_tab(browser, airflow_api, stack.api_url, START_DAG, run_id, -1, "TargetDb1", "plain")


def test_tab_follows_one_map_index_of_a_mapped_task(
    stack: LocalStack, browser: Any, airflow_api: DeploymentApi, agent_world: World
) -> None:
    jobs = [
        waiting_job(agent_world, "TabMapped0", seconds=5),
        waiting_job(agent_world, "TabMapped1", seconds=15, databases=("TargetDb2",)),
    ]
    run_id = airflow_api.trigger(MAPPED_START_DAG, start_conf(agent_world, job_names=jobs))
    _follow_the_tab(browser, airflow_api, stack.api_url, MAPPED_START_DAG, run_id, 1, "TargetDb2", "mapped")
