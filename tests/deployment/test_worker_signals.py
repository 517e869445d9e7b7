"""Signals to a task that waits in its worker slot (``deferrable=False``), as a real deployment sends them.

* SIGKILL (OOM killer, node loss): the try dies without ``on_kill``; the retry re-attaches.
* SIGTERM with no user action, in both orderings of the retry: ``on_kill`` finds the task instance
  still ``running`` and cancels nothing.
  - Retry after the killed try: a pod eviction. Kubernetes sends SIGTERM to the pod, whose
    supervisor forwards it to the task (Airflow's task runner only calls ``on_kill`` on SIGTERM and
    goes on), then SIGKILL after the grace period; the scheduler fails the silent try after the
    heartbeat timeout and the retry re-attaches.
  - Retry first: the supervisor paused past the heartbeat timeout; the scheduler fails the try and
    the retry re-attaches; resumed, the old supervisor hears its try is gone and sends the task
    SIGTERM (then SIGKILL after 5 s), as on any heartbeat loss.
* SIGTERM because a user marked the task failed: ``on_kill`` finds ``failed`` and cancels, once.

Evidence comes from the emulator: the job's executions and the cancel requests it received.
"""

from __future__ import annotations

import signal

import pytest

from tests.deployment.client import DeploymentApi, wait_until
from tests.deployment.processes import task_process
from tests.deployment.scenario import (
    ACTIVE,
    POLLING_START_DAG,
    START_TASK_ID,
    executions,
    start_conf,
    waiting_job,
)
from tests.integration.executions_world import World
from tests.reliability.chaos_emulator import CANCEL, RequestCounts

pytestmark = pytest.mark.timeout(420)

NO_USER_ACTION = "no user action"


def _polling_run(api: DeploymentApi, world: World, name: str, seconds: int) -> tuple[str, str]:
    """Start the polling scenario DAG on a new ``WAITFOR`` job; return (job, run id)."""
    job = waiting_job(world, name, seconds=seconds)
    return job, api.trigger(POLLING_START_DAG, start_conf(world, job_name=job))


def _lifecycle(world: World, job: str) -> str | None:
    """The lifecycle of the job's first execution (``None`` before it exists)."""
    found = executions(world, job)
    return found[0].lifecycle if found else None


def _assert_ran_once_and_succeeded(
    api: DeploymentApi, world: World, job: str, run_id: str, before: RequestCounts
) -> None:
    run = api.wait_for_run(POLLING_START_DAG, run_id, timeout=240)
    assert run["state"] == "success"
    assert api.task_instance(POLLING_START_DAG, run_id, START_TASK_ID)["try_number"] == 2
    found = [(e.name, e.lifecycle) for e in executions(world, job)]
    assert [lifecycle for _, lifecycle in found] == ["Succeeded"], found
    assert api.xcom(POLLING_START_DAG, run_id, START_TASK_ID)["execution_id"] == found[0][0]
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0


def test_sigkill_mid_poll_then_the_retry_re_attaches(airflow_api: DeploymentApi, agent_world: World) -> None:
    """SIGKILL to the task process: no on_kill; try 2 re-attaches; one execution, Succeeded."""
    job, run_id = _polling_run(airflow_api, agent_world, "WorkerSigkill", seconds=20)
    process = task_process(airflow_api, POLLING_START_DAG, run_id, START_TASK_ID)
    wait_until(lambda: _lifecycle(agent_world, job) in ACTIVE, 60, "the execution to run")
    before = RequestCounts.of(agent_world.emulator)
    process.signal(signal.SIGKILL)
    _assert_ran_once_and_succeeded(airflow_api, agent_world, job, run_id, before)
    assert "Re-attaching to execution" in airflow_api.task_log(POLLING_START_DAG, run_id, START_TASK_ID, 2)


def test_an_evicted_worker_leaves_the_execution_for_the_retry(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """SIGTERM to the supervisor, then SIGKILL to both (an evicted pod): no cancel; try 2 re-attaches."""
    job, run_id = _polling_run(airflow_api, agent_world, "WorkerEvicted", seconds=45)
    process = task_process(airflow_api, POLLING_START_DAG, run_id, START_TASK_ID)
    wait_until(lambda: _lifecycle(agent_world, job) in ACTIVE, 60, "the execution to run")
    before = RequestCounts.of(agent_world.emulator)
    process.signal(signal.SIGTERM, supervisor=True)
    wait_until(
        lambda: NO_USER_ACTION in airflow_api.task_log(POLLING_START_DAG, run_id, START_TASK_ID, 1),
        30,
        "on_kill of try 1 (the supervisor forwards SIGTERM)",
    )
    process.signal(signal.SIGKILL, supervisor=True)  # the grace period is over: the pod is gone
    process.signal(signal.SIGKILL)
    assert _lifecycle(agent_world, job) in ACTIVE
    _assert_ran_once_and_succeeded(airflow_api, agent_world, job, run_id, before)
    assert "Re-attaching to execution" in airflow_api.task_log(POLLING_START_DAG, run_id, START_TASK_ID, 2)


def test_a_zombie_told_to_stop_after_its_retry_re_attached_cancels_nothing(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """The supervisor of try 1 paused past the heartbeat timeout: the scheduler fails the try and
    try 2 re-attaches; resumed, the old supervisor hears its try is gone and SIGTERMs the task,
    whose on_kill finds the task instance running (try 2) and cancels nothing."""
    job, run_id = _polling_run(airflow_api, agent_world, "WorkerZombie", seconds=75)
    process = task_process(airflow_api, POLLING_START_DAG, run_id, START_TASK_ID)
    wait_until(lambda: _lifecycle(agent_world, job) in ACTIVE, 60, "the execution to run")
    before = RequestCounts.of(agent_world.emulator)
    process.signal(signal.SIGSTOP, supervisor=True)
    try:
        wait_until(
            lambda: (
                "Re-attaching to execution"
                in airflow_api.task_log(POLLING_START_DAG, run_id, START_TASK_ID, 2)
            ),
            120,
            "try 2 to re-attach while try 1's supervisor is paused",
            interval=1,
        )
    finally:
        process.signal(signal.SIGCONT, supervisor=True)
    wait_until(
        lambda: NO_USER_ACTION in airflow_api.task_log(POLLING_START_DAG, run_id, START_TASK_ID, 1),
        60,
        "try 1's on_kill, once its supervisor is told the try is gone",
        interval=1,
    )
    assert _lifecycle(agent_world, job) in ACTIVE
    _assert_ran_once_and_succeeded(airflow_api, agent_world, job, run_id, before)


def test_marking_a_polling_task_failed_cancels_its_execution_once(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """PATCH new_state=failed while the task polls: the supervisor SIGTERMs it, on_kill cancels once."""
    job, run_id = _polling_run(airflow_api, agent_world, "WorkerMarkedFailed", seconds=60)
    task_process(airflow_api, POLLING_START_DAG, run_id, START_TASK_ID)
    wait_until(lambda: _lifecycle(agent_world, job) in ACTIVE, 60, "the execution to run")
    before = RequestCounts.of(agent_world.emulator)
    airflow_api.set_task_state(POLLING_START_DAG, run_id, START_TASK_ID, "failed")
    wait_until(lambda: _lifecycle(agent_world, job) == "Canceled", 60, "the execution to be cancelled")
    wait_until(
        lambda: "Cancelled execution" in airflow_api.task_log(POLLING_START_DAG, run_id, START_TASK_ID, 1),
        30,
        "on_kill's cancel in the task log",
    )
    assert RequestCounts.of(agent_world.emulator).since(before, CANCEL) == 1
    assert len(executions(agent_world, job)) == 1
    assert airflow_api.task_instance(POLLING_START_DAG, run_id, START_TASK_ID)["state"] == "failed"
