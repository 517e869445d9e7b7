"""A user marks a deferred start task failed through the REST API: the triggerer cancels, once, at once.

The trigger polls every 30 s (its default), so a cancel seen within one poll interval of the PATCH
came from the trigger's ``on_kill()``, not from a later round of polling.
"""

from __future__ import annotations

import time

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi, wait_until
from tests.deployment.dags.start_and_wait import DEFAULT_POLL_INTERVAL
from tests.deployment.processes import running_trigger
from tests.deployment.scenario import (
    ACTIVE,
    DEFAULT_POLL_START_DAG,
    START_TASK_ID,
    lifecycle,
    start_conf,
    waiting_job,
)
from tests.integration.executions_world import World
from tests.reliability.chaos_emulator import CANCEL, RequestCounts

pytestmark = pytest.mark.timeout(300)

DAG_ID = DEFAULT_POLL_START_DAG


def test_marking_a_deferred_task_failed_cancels_its_execution_once_within_one_poll_interval(
    stack: LocalStack, airflow_api: DeploymentApi, agent_world: World
) -> None:
    """PATCH new_state=failed while a triggerer watches the execution → one cancel request, and the
    execution Canceled before one poll interval (30 s) has passed since the PATCH."""
    # The job outlasts the trigger's start plus one poll interval by far: only a cancel ends it early.
    job = waiting_job(agent_world, "UserKill", seconds=4 * DEFAULT_POLL_INTERVAL)
    run_id = airflow_api.trigger(DAG_ID, start_conf(agent_world, job_name=job))
    airflow_api.wait_for_task(DAG_ID, run_id, START_TASK_ID, {"deferred"}, timeout=120)
    execution_id = airflow_api.xcom(DAG_ID, run_id, START_TASK_ID, key="execution_id")
    wait_until(lambda: lifecycle(agent_world, job, execution_id) in ACTIVE, 60, "the execution to run")
    running_trigger(airflow_api, stack, DAG_ID, run_id, START_TASK_ID)
    before = RequestCounts.of(agent_world.emulator)
    marked_at = time.monotonic()
    airflow_api.set_task_state(DAG_ID, run_id, START_TASK_ID, "failed")

    # Bounded by the promise itself: the rest of one poll interval since the PATCH.
    within = DEFAULT_POLL_INTERVAL - (time.monotonic() - marked_at)
    cancelled = f"the execution to be Canceled within {DEFAULT_POLL_INTERVAL} s (one poll) of the PATCH"
    wait_until(lambda: lifecycle(agent_world, job, execution_id) == "Canceled", within, cancelled, 0.3)
    cancelled_after = time.monotonic() - marked_at
    time.sleep(3)  # a second cancel, if any, would arrive within the triggerer's next loops
    assert RequestCounts.of(agent_world.emulator).since(before, CANCEL) == 1
    assert airflow_api.task_instance(DAG_ID, run_id, START_TASK_ID)["state"] == "failed"
    print(f"Canceled {cancelled_after:.1f} s after the task was marked failed")
