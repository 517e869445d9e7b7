"""Cancellation (issue 6 item 2): every way a waiting task ends early cancels its execution in time.

Paths (docs/execution-semantics.md §4): the worker killed with SIGTERM (what Airflow's supervisor does
when a polling task is marked failed) → ``on_kill``; the task's ``execution_timeout`` and the operator's
own ``timeout``, polling and deferred; a deferred task marked failed → Airflow's triggerer cancels the
trigger with its user-action message → the trigger's ``on_kill``. Each must leave the execution
Canceled in the emulator within one poll interval of the moment it should stop; the emulator's own
``createTime`` / ``endTime`` are the clock.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import timedelta

import pytest

from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger
from tests.integration.provider.execution_support import (
    CONN_ID,
    executions_of,
    sql_job,
    task_instance,
    unique_logical_date,
)
from tests.reliability.chaos_dag import TASK_ID, ChildDag, run, wait_until
from tests.reliability.chaos_emulator import CANCEL, RequestCounts
from tests.reliability.chaos_triggerer import TriggerHarness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

POLL = 2.0  # the poll interval every scenario must beat
LIMIT = 3.0  # timeout / execution_timeout in seconds
SLOW = "WAITFOR DELAY '00:00:30';"
WAIT = {"poll_interval": POLL, "progress_interval": 5.0, "error_budget": 30.0}


def _canceled_within(world, job, execution_id, since: float, seconds: float) -> float:
    """Wait until the execution is Canceled; how long after ``since`` (monotonic) that was seen."""
    execution = world.wait(job, execution_id, timeout=seconds + 10, until=lambda e: e.lifecycle == "Canceled")
    elapsed = time.monotonic() - since
    assert execution.lifecycle == "Canceled"
    return elapsed


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
@pytest.mark.parametrize("limit", ["timeout", "execution_timeout"])
def test_a_time_limit_cancels_the_execution_within_one_poll_interval(world, deferrable, limit):
    """The operator's ``timeout`` or Airflow's ``execution_timeout``, waiting in a worker or deferred:
    the task fails and the emulator ends the execution Canceled no later than one poll interval after
    the limit (measured from the execution's own createTime to its endTime)."""
    job = sql_job(world, f"Limit{limit.title().replace('_', '')}{int(deferrable)}", SLOW, timeoutSeconds=120)
    value = LIMIT if limit == "timeout" else timedelta(seconds=LIMIT)
    dag_run = run(
        f"cancel_{limit}_{int(deferrable)}",
        unique_logical_date(),
        job_name=job,
        deferrable=deferrable,
        **{limit: value},
        **WAIT,
    )

    assert task_instance(dag_run, TASK_ID).state == "failed"
    (execution,) = executions_of(world, job)
    execution = world.wait(job, execution.name, timeout=10)
    assert execution.lifecycle == "Canceled"
    ran_for = (execution.end_time - execution.create_time).total_seconds()
    print(f"MEASURED {limit} deferrable={deferrable}: Canceled {ran_for:.2f} s after createTime")
    assert LIMIT - 0.5 <= ran_for <= LIMIT + POLL, f"cancelled after {ran_for:.2f} s"


def test_sigterm_to_a_polling_worker_cancels_within_one_poll_interval(world, tmp_path):
    """Marking a polling task failed makes the supervisor SIGTERM it: ``on_kill`` cancels at once."""
    job = sql_job(world, "SigtermJob", SLOW, timeoutSeconds=120)
    child = ChildDag(
        tmp_path / "child.log",
        "cancel_sigterm",
        unique_logical_date(),
        job_name=job,
        deferrable=False,
        **WAIT,
    )
    try:
        started = child.wait_for(
            lambda: [e for e in executions_of(world, job) if e.lifecycle != "Created"], 60, "the job to start"
        )
        killed_at = time.monotonic()
        child.signal(signal.SIGTERM)
        lag = _canceled_within(world, job, started[0].name, killed_at, POLL)
        print(f"MEASURED SIGTERM: Canceled seen {lag:.2f} s after the signal")
        assert lag <= POLL
        assert child.wait(timeout=30) == "failed"
    finally:
        child.close()
    assert "because the task was killed" in child.output()


async def _watched_while_running(world, job: str, execution_id: str, harness: TriggerHarness) -> None:
    """Let the trigger run (off the event loop's thread we wait) until the job is running."""

    def started() -> bool:
        return world.get(job, execution_id).lifecycle != "Created"

    await asyncio.to_thread(wait_until, started, 20, "the job to start")
    await asyncio.sleep(2 * 0.3)
    assert not harness.task.done(), harness.events


async def test_a_deferred_task_marked_failed_cancels_through_the_triggers_on_kill(world):
    """Airflow's triggerer cancels the trigger with its user-action message (the TI is no longer
    deferred); ``on_kill`` must cancel the execution, once, within one poll interval."""
    job = sql_job(world, "MarkFailedJob", SLOW, timeoutSeconds=120)
    execution = world.start(job)
    trigger = ElasticJobsExecutionTrigger(
        elastic_jobs_conn_id=CONN_ID, job_name=job, execution_id=execution.name, poll_interval=POLL
    )
    harness = TriggerHarness(trigger)
    await _watched_while_running(world, job, execution.name, harness)
    before = RequestCounts.of(world.emulator)

    killed_at = time.monotonic()
    assert await harness.user_kill() <= POLL
    lag = _canceled_within(world, job, execution.name, killed_at, POLL)
    print(f"MEASURED mark failed while deferred: Canceled seen {lag:.2f} s after the user action")
    assert lag <= POLL
    assert harness.events == []
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 1


async def test_a_triggerer_shutdown_is_not_a_kill(world):
    """The counterpart: the same trigger cancelled without the user-action message leaves the job
    running (a redeploy of the triggerer must never cancel anybody's job)."""
    job = sql_job(world, "ShutdownJob", "WAITFOR DELAY '00:00:04';", timeoutSeconds=120)
    execution = world.start(job)
    harness = TriggerHarness(
        ElasticJobsExecutionTrigger(
            elastic_jobs_conn_id=CONN_ID, job_name=job, execution_id=execution.name, poll_interval=0.3
        )
    )
    before = RequestCounts.of(world.emulator)
    await _watched_while_running(world, job, execution.name, harness)
    await harness.shutdown()

    assert world.wait(job, execution.name, timeout=20).lifecycle == "Succeeded"
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0
