"""A user marks a deferred start task failed through the REST API: the triggerer cancels, once."""

from __future__ import annotations

import time

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi, wait_until
from tests.deployment.processes import running_trigger
from tests.deployment.scenario import ACTIVE, START_DAG, START_TASK_ID, lifecycle, start_conf, waiting_job
from tests.integration.executions_world import World
from tests.reliability.chaos_emulator import CANCEL, RequestCounts

pytestmark = pytest.mark.timeout(300)


def test_marking_a_deferred_task_failed_cancels_its_execution_exactly_once(
    stack: LocalStack, airflow_api: DeploymentApi, agent_world: World
) -> None:
    """PATCH new_state=failed while a triggerer watches the execution → one cancel request, Canceled."""
    job = waiting_job(agent_world, "UserKill", seconds=60)
    run_id = airflow_api.trigger(START_DAG, start_conf(agent_world, job_name=job))
    airflow_api.wait_for_task(START_DAG, run_id, START_TASK_ID, {"deferred"}, timeout=120)
    execution_id = airflow_api.xcom(START_DAG, run_id, START_TASK_ID, key="execution_id")
    wait_until(lambda: lifecycle(agent_world, job, execution_id) in ACTIVE, 60, "the execution to run")
    running_trigger(airflow_api, stack, START_DAG, run_id, START_TASK_ID)
    before = RequestCounts.of(agent_world.emulator)
    marked_at = time.monotonic()
    airflow_api.set_task_state(START_DAG, run_id, START_TASK_ID, "failed")

    cancelled = "the execution to be cancelled"
    wait_until(lambda: lifecycle(agent_world, job, execution_id) == "Canceled", 30, cancelled)
    cancelled_after = time.monotonic() - marked_at
    time.sleep(3)  # a second cancel, if any, would arrive within the triggerer's next loops
    assert RequestCounts.of(agent_world.emulator).since(before, CANCEL) == 1
    assert airflow_api.task_instance(START_DAG, run_id, START_TASK_ID)["state"] == "failed"
    print(f"Canceled {cancelled_after:.1f} s after the task was marked failed")
