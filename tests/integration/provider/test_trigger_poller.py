"""The execution trigger run directly in an event loop against the emulator process.

Covers what dag.test() cannot: one shared poll per agent for many waiting triggers (counted by the
emulator), transient faults (429 with Retry-After, 500, dropped connections) that must neither fail
the wait nor cancel the job, and cancellation when the task is killed while deferred versus a
triggerer shutdown that must leave the job running.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger
from tests.integration.provider.execution_support import (
    CONN_ID,
    sql_job,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

AGENT_LIST = (
    "GET /subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/servers/{}/jobAgents/{}/executions"
)
EXECUTION_GET = AGENT_LIST.replace("/jobAgents/{}/executions", "/jobAgents/{}/jobs/{}/executions/{}")
TARGETS_LIST = EXECUTION_GET + "/targets"


def start(world, job: str) -> str:
    return world.start(job).name


def trigger_for(job: str, execution_id: str, **kwargs) -> ElasticJobsExecutionTrigger:
    options = {"poll_interval": 0.5, "progress_interval": 5.0, "error_budget": 30.0} | kwargs
    return ElasticJobsExecutionTrigger(
        elastic_jobs_conn_id=CONN_ID, job_name=job, execution_id=execution_id, **options
    )


async def first_event(trigger: ElasticJobsExecutionTrigger) -> dict:
    event = await asyncio.wait_for(anext(trigger.run()), 60)
    return event.payload


async def cancel_while_waiting(trigger: ElasticJobsExecutionTrigger) -> None:
    """Let the trigger wait for 1.5 s, then cancel its ``run()`` as the triggerer does."""
    task = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(1.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_many_waiting_triggers_share_one_poll_per_agent(world):
    jobs = [sql_job(world, f"SharedJob{i}", f"WAITFOR DELAY '00:00:0{2 + i % 3}';") for i in range(6)]
    executions = [start(world, job) for job in jobs]
    world.emulator.reset_controls()

    began = time.monotonic()
    events = await asyncio.gather(
        *(first_event(trigger_for(j, e)) for j, e in zip(jobs, executions, strict=True))
    )
    elapsed = time.monotonic() - began

    assert [e["status"] for e in events] == ["done"] * 6
    assert {e["lifecycle"] for e in events} == {"Succeeded"}
    counts = world.emulator.counters()
    lists = counts.get(AGENT_LIST, 0)
    # One ended-executions list per interval for all six, plus the active list (same path, other
    # filter) read beside the rounds every third round.
    assert 1 <= lists <= elapsed / 0.5 + 2 + len(executions)
    rounds = lists
    # Ended executions are found by that list, never by one GET each; targets only on change.
    assert counts.get(EXECUTION_GET, 0) == 0
    assert counts.get(TARGETS_LIST, 0) <= 4 * len(executions)
    naive = len(executions) * rounds  # what one GET per trigger per interval would have cost
    assert counts.get(EXECUTION_GET, 0) + counts.get(TARGETS_LIST, 0) < naive


async def test_transient_faults_neither_fail_the_wait_nor_cancel_the_job(world, capsys):
    job = sql_job(world, "FaultyJob", "WAITFOR DELAY '00:00:02';")
    execution_id = start(world, job)
    # Each rule outlasts the SDK's own retries (retry_total=2) of both agent lists a round may have in
    # flight (the ended list, and the active list read beside it), so whole polls fail and back off.
    world.emulator.set_faults(
        [
            {"kind": "drop", "path": "/executions", "method": "GET", "max_count": 6},
            {"kind": "429", "path": "/executions", "method": "GET", "max_count": 6, "retry_after": 1},
            {"kind": "500", "path": "/executions", "method": "GET", "max_count": 6},
        ]
    )
    try:
        event = await first_event(trigger_for(job, execution_id))
        faults = world.emulator.control("GET", "faults")
    finally:
        world.emulator.reset_controls()

    assert (event["status"], event["lifecycle"]) == ("done", "Succeeded")
    assert world.get(job, execution_id).lifecycle == "Succeeded"
    assert [rule["hits"] for rule in faults["rules"]] == [6, 6, 6]
    retried = [line for line in capsys.readouterr().out.splitlines() if "failed, retrying" in line]
    assert len(retried) >= 2  # whole polls failed after the SDK's retries, and were retried by the poller


async def test_an_outage_longer_than_the_budget_is_an_error_event_and_the_job_keeps_running(world):
    job = sql_job(world, "OutageJob", "WAITFOR DELAY '00:00:10';", timeoutSeconds=60)
    execution_id = start(world, job)
    world.emulator.set_faults([{"kind": "503", "path": "/executions", "method": "GET"}])
    try:
        event = await first_event(trigger_for(job, execution_id, error_budget=1.0))
    finally:
        world.emulator.reset_controls()

    assert event["status"] == "error"
    assert "No successful poll" in event["message"] and "503" in event["message"]
    assert world.get(job, execution_id).lifecycle not in {"Canceled"}
    world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, execution_id)


async def test_neither_triggerer_shutdown_nor_an_unconfirmed_kill_cancels(world):
    """Shutdown never cancels; on_kill cancels only once Airflow confirms a user ended the task.

    Here the trigger runs outside a triggerer, so no task instance can be asked: on_kill must leave
    the execution running (the confirmed user-action path is covered in
    tests/reliability/test_cancellation.py and on the real deployment in tests/deployment/).
    """
    job = sql_job(world, "KillJob", "WAITFOR DELAY '00:00:30';", timeoutSeconds=120)
    kept = start(world, job)
    world.wait(job, kept, until=lambda e: e.lifecycle != "Created")

    # Triggerer shutdown / redistribution: the run() task is cancelled, on_kill is not called.
    await cancel_while_waiting(trigger_for(job, kept))
    await asyncio.sleep(1)
    assert world.get(job, kept).lifecycle in {"InProgress", "WaitingForChildJobExecutions"}

    # on_kill without a task instance to confirm a user action: nothing is cancelled.
    unconfirmed = trigger_for(job, kept)
    await cancel_while_waiting(unconfirmed)
    await unconfirmed.on_kill()
    await asyncio.sleep(1)
    assert world.get(job, kept).lifecycle in {"InProgress", "WaitingForChildJobExecutions"}
    world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, kept)


async def test_latest_execution_is_found_when_no_id_is_given(world):
    job = sql_job(world, "LatestJob", "WAITFOR DELAY '00:00:01';")
    world.wait(job, start(world, job))
    newest = start(world, job)
    trigger = trigger_for(job, None, cancel_on_kill=False)

    event = await first_event(trigger)

    assert (event["status"], event["execution_id"], event["lifecycle"]) == ("done", newest, "Succeeded")
