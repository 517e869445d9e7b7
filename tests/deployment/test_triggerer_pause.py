"""A triggerer paused past the health threshold loses its trigger to the other one: nothing is cancelled.

The trigger is first placed on triggerer 0 (triggerer 1 is stopped while the task defers, then
started again). Triggerer 0's whole process group gets SIGSTOP; after ``[triggerer]
triggerer_health_check_threshold`` (15 s on the stack) Airflow hands the trigger to triggerer 1.
On SIGCONT triggerer 0 finds the trigger gone and Airflow calls its ``on_kill`` as for a user's
kill; the task instance is still deferred, so the trigger must leave the execution running.
"""

from __future__ import annotations

import signal

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi, wait_until
from tests.deployment.processes import running_trigger, signal_triggerer
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


def test_a_paused_triggerer_losing_its_trigger_cancels_nothing_and_the_task_succeeds(
    stack: LocalStack, airflow_api: DeploymentApi, agent_world: World
) -> None:
    """SIGSTOP the owner past the threshold, the other triggerer takes over, SIGCONT: no cancel."""
    job = waiting_job(agent_world, "TriggererPause", seconds=40)
    stack.stop_triggerer(1)
    try:
        run_id = airflow_api.trigger(START_DAG, start_conf(agent_world, job_name=job))
        airflow_api.wait_for_task(START_DAG, run_id, START_TASK_ID, {"deferred"}, timeout=120)
        first = running_trigger(airflow_api, stack, START_DAG, run_id, START_TASK_ID)
    finally:
        stack.start_triggerer(1)
    execution_id = airflow_api.xcom(START_DAG, run_id, START_TASK_ID, key="execution_id")

    wait_until(lambda: lifecycle(agent_world, job, execution_id) in ACTIVE, 60, "the execution to run")
    before = RequestCounts.of(agent_world.emulator)
    signal_triggerer(stack, 0, signal.SIGSTOP)
    try:
        moved = wait_until(
            lambda: (
                (t := running_trigger(airflow_api, stack, START_DAG, run_id, START_TASK_ID, 5))
                and t.triggerer_job_id != first.triggerer_job_id
                and t
            ),
            90,
            "the other triggerer to take the trigger over",
            interval=1,
        )
    finally:
        signal_triggerer(stack, 0, signal.SIGCONT)
    assert moved.trigger_id == first.trigger_id
    assert lifecycle(agent_world, job, execution_id) in ACTIVE

    run = airflow_api.wait_for_run(START_DAG, run_id, timeout=180)
    assert run["state"] == "success"
    assert RequestCounts.of(agent_world.emulator).since(before, CANCEL) == 0
    assert [(e.name, e.lifecycle) for e in executions(agent_world, job)] == [(execution_id, "Succeeded")]
    # Triggerer 0 saw its trigger removed and ran on_kill, which judged the move and cancelled nothing.
    assert "Trigger moved to another triggerer" in first.log.read_text(errors="replace")
