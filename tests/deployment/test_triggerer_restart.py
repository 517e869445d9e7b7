"""Triggerers stopped (SIGTERM) and started again mid-wait: nothing is cancelled, the job runs once."""

from __future__ import annotations

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi, wait_until
from tests.deployment.processes import running_trigger, trigger_log_files
from tests.deployment.scenario import (
    ACTIVE,
    START_DAG,
    START_TASK_ID,
    executions,
    lifecycle,
    start_conf,
    waiting_job,
)
from tests.integration.executions_world import World
from tests.reliability.chaos_emulator import CANCEL, RequestCounts

pytestmark = pytest.mark.timeout(300)


def test_a_triggerer_restart_mid_wait_cancels_nothing_and_the_task_succeeds(
    stack: LocalStack, airflow_api: DeploymentApi, agent_world: World
) -> None:
    """Both triggerers get SIGTERM while the task is deferred; after their restart it re-attaches."""
    job = waiting_job(agent_world, "TriggererRestart", seconds=20)
    run_id = airflow_api.trigger(START_DAG, start_conf(agent_world, job_name=job))
    airflow_api.wait_for_task(START_DAG, run_id, START_TASK_ID, {"deferred"}, timeout=120)
    execution_id = airflow_api.xcom(START_DAG, run_id, START_TASK_ID, key="execution_id")

    wait_until(lambda: lifecycle(agent_world, job, execution_id) in ACTIVE, 60, "the execution to run")
    first = running_trigger(airflow_api, stack, START_DAG, run_id, START_TASK_ID)
    before = RequestCounts.of(agent_world.emulator)
    for index in (0, 1):
        stack.stop_triggerer(index)
    assert lifecycle(agent_world, job, execution_id) in ACTIVE
    for index in (0, 1):
        stack.start_triggerer(index)
    # The same trigger row is picked up again, by a triggerer job started after the stop.
    again = running_trigger(airflow_api, stack, START_DAG, run_id, START_TASK_ID, timeout=120)
    assert again.trigger_id == first.trigger_id and again.triggerer_job_id != first.triggerer_job_id

    run = airflow_api.wait_for_run(START_DAG, run_id, timeout=180)
    assert run["state"] == "success"
    assert RequestCounts.of(agent_world.emulator).since(before, CANCEL) == 0
    assert [(e.name, e.lifecycle) for e in executions(agent_world, job)] == [(execution_id, "Succeeded")]
    # One log per triggerer job that ran the trigger: the stopped one and the one after the restart. On a
    # busy machine a late heartbeat can move the trigger once more; that adds a log, never a cancel.
    logs = trigger_log_files(stack, START_DAG, run_id, START_TASK_ID)
    assert first.log in logs and again.log in logs and first.log != again.log
