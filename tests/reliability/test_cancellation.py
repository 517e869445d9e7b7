"""Cancellation: every way a waiting task is ended early cancels its execution in time, and nothing else does.

Paths (docs/execution-semantics.md §4): a user marks the polling task failed and the worker gets
SIGTERM → ``on_kill`` reads ``failed`` → cancel; SIGTERM with the task instance still running (lost
heartbeats, an evicted pod) → no cancel, the rerun re-attaches; the task's ``execution_timeout`` and the
operator's own ``timeout``, polling and deferred; Airflow's triggerer cancelling a trigger with its
user-action message → the trigger's ``on_kill``, which cancels only when the task instance left the
deferred state. A cancel must leave the execution Canceled in the emulator within one poll interval of
the moment it should stop; the emulator's own ``createTime`` / ``endTime`` are the clock.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from airflow_elasticjobs.task_instance_state import StateReading
from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger
from tests.integration.provider.execution_support import (
    CONN_ID,
    executions_of,
    manual_run_id,
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
FIRST_POLL = "targets succeeded"  # the operator's progress line (airflow_elasticjobs/execution_state.py)
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
    the limit, measured to the execution's endTime from where each limit starts. ``execution_timeout``
    starts at the task instance's start (Airflow's clock: on a busy machine the task may start a
    second or two before it creates the execution). ``timeout`` starts when the operator's ``run``
    begins, which is not recorded: it lies between the task instance's start and the execution's
    createTime (the hook connects in between, 0.6 s once on a busy machine). So the limit must fire
    no sooner than LIMIT after the earliest possible start and no later than LIMIT + POLL after the
    latest: both hold whatever that gap is."""
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

    ti = task_instance(dag_run, TASK_ID)
    assert ti.state == "failed"
    (execution,) = executions_of(world, job)
    execution = world.wait(job, execution.name, timeout=10)
    assert execution.lifecycle == "Canceled"
    latest_start = execution.create_time if limit == "timeout" else ti.start_date
    after_earliest = (execution.end_time - ti.start_date).total_seconds()
    after_latest = (execution.end_time - latest_start).total_seconds()
    print(f"MEASURED {limit} deferrable={deferrable}: Canceled {after_latest:.2f} s after the limit's start")
    assert after_earliest >= LIMIT - 0.5, f"cancelled {after_earliest:.2f} s after the task instance started"
    assert after_latest <= LIMIT + POLL, f"cancelled {after_latest:.2f} s after the limit's latest start"


def _mark(dag_id: str, run_id: str, state: str) -> None:
    """Set the task instance's state in the metadata DB, as the UI's mark failed / success does."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        session.execute(
            update(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == TASK_ID
            )
            .values(state=state)
        )


def _polling_child(world, tmp_path, job: str, dag_id: str, date) -> tuple[ChildDag, str]:
    """A polling worker (dag.test() in a child) asleep between two polls; the execution id.

    Signals are sent only once the first poll was logged: from then on the task talks to nobody but
    the emulator. Before that it pushes its XComs through dag.test()'s in-process supervisor channel,
    which removes ``task_runner.SUPERVISOR_COMMS`` while it serves a request
    (``airflow/sdk/execution_time/supervisor.py``, ``InProcessSupervisorComms.send``), so a SIGTERM
    landing in a push reads no state and cancels nothing: a dag.test()-only window, not what these
    tests measure.
    """
    child = ChildDag(tmp_path / "child.log", dag_id, date, job_name=job, deferrable=False, **WAIT)
    child.wait_for(lambda: FIRST_POLL in child.output(), 60, "the task's first poll")
    (execution,) = executions_of(world, job)
    return child, execution.name


def test_sigterm_without_a_user_action_leaves_the_job_running_and_the_rerun_reattaches(world, tmp_path):
    """SIGTERM while the task instance is still running (lost heartbeats, an evicted pod): on_kill
    reads the state through Airflow, cancels nothing; the worker is then SIGKILLed (as the supervisor
    escalates) and the rerun re-attaches to the same execution, which succeeds."""
    job = sql_job(world, "SigtermJob", "WAITFOR DELAY '00:00:08';", timeoutSeconds=120)
    dag_id, date = "cancel_sigterm", unique_logical_date()
    before = RequestCounts.of(world.emulator)
    child, execution_id = _polling_child(world, tmp_path, job, dag_id, date)
    try:
        child.signal(signal.SIGTERM)
        wait_until(lambda: "re-attaches to it" in child.output(), 30, "on_kill's verdict")
        child.kill()
    finally:
        child.close()
    assert "is running (no user action" in child.output()
    assert world.get(job, execution_id).lifecycle not in ("Canceled", "Succeeded")

    dag_run = run(dag_id, date, job_name=job, deferrable=False, **WAIT)

    assert task_instance(dag_run, TASK_ID).state == "success"
    assert [(e.name, e.lifecycle) for e in executions_of(world, job)] == [(execution_id, "Succeeded")]
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0


def test_sigterm_after_a_user_marked_the_task_failed_cancels_within_one_poll_interval(world, tmp_path):
    """The user-action row: the task instance is marked failed, then the worker gets SIGTERM (what the
    supervisor does when the next heartbeat answers 409); on_kill reads ``failed`` and cancels."""
    job = sql_job(world, "MarkedFailedJob", SLOW, timeoutSeconds=120)
    dag_id, date = "cancel_marked_failed", unique_logical_date()
    child, execution_id = _polling_child(world, tmp_path, job, dag_id, date)
    try:
        _mark(dag_id, manual_run_id(date), "failed")
        killed_at = time.monotonic()
        child.signal(signal.SIGTERM)
        lag = _canceled_within(world, job, execution_id, killed_at, POLL)
        print(f"MEASURED mark failed + SIGTERM: Canceled seen {lag:.2f} s after the signal")
        assert lag <= POLL
    finally:
        child.close()
    assert "the task instance is failed" in child.output()


async def _watched_while_running(world, job: str, execution_id: str, harness: TriggerHarness) -> None:
    """Let the trigger run (off the event loop's thread we wait) until the job is running."""

    def started() -> bool:
        return world.get(job, execution_id).lifecycle != "Created"

    await asyncio.to_thread(wait_until, started, 20, "the job to start")
    await asyncio.sleep(2 * 0.3)
    assert not harness.task.done(), harness.events


@pytest.mark.parametrize(
    ("state", "cancels"),
    [("failed", 1), ("deferred", 0)],
    ids=["marked-failed", "moved-to-another-triggerer"],
)
async def test_the_triggerers_user_action_cancel_cancels_only_when_the_task_left_deferred(
    world, monkeypatch, state, cancels
):
    """Airflow's triggerer cancels the trigger with its user-action message and awaits ``on_kill``
    both when a user ended the task and when the trigger moved to another triggerer. The task
    instance's state tells them apart: ``failed`` → one cancel, the execution Canceled within one
    poll interval; still ``deferred`` → nothing cancelled. (The state is what Airflow's API server
    answers; this harness has no supervisor channel, so our own reader is replaced. The real read is
    covered in tests/unit/execution/test_kill_and_clear.py and in a deployment.)"""
    import airflow_elasticjobs.triggers.execution as trigger_module

    async def airflow_answers(ref, timeout):
        return StateReading(state)

    monkeypatch.setattr(trigger_module, "aread_state", airflow_answers)
    job = sql_job(world, f"UserActionJob{state.title()}", SLOW, timeoutSeconds=120)
    execution = world.start(job)
    trigger = ElasticJobsExecutionTrigger(
        elastic_jobs_conn_id=CONN_ID, job_name=job, execution_id=execution.name, poll_interval=POLL
    )
    harness = TriggerHarness(trigger)
    await _watched_while_running(world, job, execution.name, harness)
    # Bound only now: the runner reads the task instance for its log context and spans at start.
    trigger.task_instance = SimpleNamespace(
        dag_id="dag",
        run_id="run",
        task_id=TASK_ID,
        map_index=-1,
    )
    before = RequestCounts.of(world.emulator)

    killed_at = time.monotonic()
    assert await harness.user_kill() <= POLL
    assert harness.events == []
    if cancels:
        lag = _canceled_within(world, job, execution.name, killed_at, POLL)
        print(f"MEASURED mark failed while deferred: Canceled seen {lag:.2f} s after the user action")
        assert lag <= POLL
    else:
        await asyncio.sleep(POLL)
        assert world.get(job, execution.name).lifecycle not in ("Canceled", "Succeeded")
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == cancels
    if not cancels:  # the test's own clean-up, not part of what is measured
        world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, execution.name)


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
