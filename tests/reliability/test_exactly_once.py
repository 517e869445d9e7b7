"""Exactly once: chaos against the start operator, executions counted in the emulator.

Every scenario runs real Airflow (``dag.test()``, in a child process where it must be killed) and the
real ``azure-mgmt-sql`` client against the emulator process. The promise under test
(docs/execution-semantics.md §1): one execution per task-instance attempt that needs one, never two;
a retry after a *failed* execution starts the next attempt id.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger
from tests.integration.provider.execution_support import (
    CONN_ID,
    executions_of,
    expected_execution_id,
    manual_run_id,
    sql_job,
    task_instance,
    unique_logical_date,
    xcom,
)
from tests.reliability.chaos_dag import TASK_ID, ChildDag, run, wait_until
from tests.reliability.chaos_emulator import CANCEL, EXECUTION_PUT, RequestCounts, faults
from tests.reliability.chaos_triggerer import TriggerHarness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

FAST = {"poll_interval": 0.3, "progress_interval": 1.0, "error_budget": 30.0}
RUNNING = "WAITFOR DELAY '00:00:03';"


def _started(world, job):
    """The job's executions once one of them left Created (the worker is waiting on it)."""
    found = executions_of(world, job)
    return found if any(e.lifecycle != "Created" for e in found) else None


def _killed_once_started(world, job, log_path, dag_id, date, deferrable):
    """Run the start-and-wait DAG in a child; kill -9 it once the job's one execution started; return that."""
    child = ChildDag(log_path, dag_id, date, job_name=job, deferrable=deferrable, **FAST)
    try:
        (started,) = child.wait_for(lambda: _started(world, job), 60, "a start")
        child.kill()
    finally:
        child.close()
    return started


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_worker_killed_mid_wait_then_the_same_task_reattaches(world, tmp_path, deferrable):
    """kill -9 of the worker (and, deferred, of the triggerer in the same process) while the job runs;
    the same task instance run again re-attaches: one execution, no cancel, the task succeeds."""
    job = sql_job(world, f"CrashJob{int(deferrable)}", RUNNING, timeoutSeconds=60)
    dag_id, date = f"chaos_crash_{int(deferrable)}", unique_logical_date()
    before = RequestCounts.of(world.emulator)
    running = _killed_once_started(world, job, tmp_path / "child.log", dag_id, date, deferrable)
    assert world.get(job, running.name).lifecycle not in ("Canceled", "Succeeded")

    dag_run = run(dag_id, date, job_name=job, deferrable=deferrable, **FAST)

    assert task_instance(dag_run, TASK_ID).state == "success"
    assert xcom(dag_run, TASK_ID)["execution_id"] == running.name
    assert running.name == expected_execution_id(world, job, dag_id, dag_run.run_id, TASK_ID, 0)
    assert [(e.name, e.lifecycle) for e in executions_of(world, job)] == [(running.name, "Succeeded")]
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0


def test_a_crash_during_a_failing_execution_then_a_retry_starts_the_next_attempt(world, tmp_path):
    """The documented retry rule: the killed try's execution ends Failed, so the rerun starts attempt 1
    (a new id) once, and only once; it does not start attempt 0 again or a third execution."""
    job = sql_job(world, "CrashFailJob", "WAITFOR DELAY '00:00:02'; THROW 50000, 'still broken', 1;")
    dag_id, date = "chaos_crash_fail", unique_logical_date()
    first = _killed_once_started(world, job, tmp_path / "child.log", dag_id, date, deferrable=False)
    assert world.wait(job, first.name, timeout=20).lifecycle == "Failed"

    dag_run = run(dag_id, date, job_name=job, deferrable=False, **FAST)

    assert task_instance(dag_run, TASK_ID).state == "failed"
    ids = [expected_execution_id(world, job, dag_id, dag_run.run_id, TASK_ID, n) for n in (0, 1)]
    assert first.name == ids[0]
    assert sorted((e.name, e.lifecycle) for e in executions_of(world, job)) == sorted(
        (i, "Failed") for i in ids
    )


async def test_triggerer_restart_mid_wait_neither_cancels_nor_duplicates(world):
    """The triggerer shuts down while a deferred task waits (its trigger task is cancelled without the
    user-action message, as Airflow's runner does on stop); a new triggerer runs a fresh trigger from
    the serialized form: no cancel request, the same single execution ends Succeeded."""
    job = sql_job(world, "TriggererJob", RUNNING, timeoutSeconds=60)
    execution = world.client.job_executions.begin_create_or_update(
        world.rg, world.agent_server, world.agent, job, str(uuid.uuid4()), polling=False
    ).result()
    trigger = ElasticJobsExecutionTrigger(
        elastic_jobs_conn_id=CONN_ID, job_name=job, execution_id=execution.name, poll_interval=0.3
    )
    before = RequestCounts.of(world.emulator)

    first = TriggerHarness(trigger)
    await asyncio.sleep(1.5)
    await first.shutdown()
    assert first.events == []
    assert world.get(job, execution.name).lifecycle not in ("Canceled", "Succeeded")

    classpath, kwargs = trigger.serialize()
    assert classpath.endswith("ElasticJobsExecutionTrigger")
    second = TriggerHarness(ElasticJobsExecutionTrigger(**kwargs))
    (event,) = await second.until_event(timeout=30)

    assert (event["status"], event["lifecycle"]) == ("done", "Succeeded")
    assert [e.name for e in executions_of(world, job)] == [execution.name]
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0


def test_a_start_answer_lost_after_the_emulator_accepted_it_is_retried_into_a_200(world):
    """The PUT is held past the client's read timeout twice (the emulator serves each one after the
    client gave up); azure-core retries the same PUT: the emulator started one execution (201 to a
    client that was gone) and the retry that got through was answered 200 with it."""
    job = sql_job(world, "LostAnswerJob", "PRINT 'ok';")
    execution_id = str(uuid.uuid4())
    statuses: list[int] = []
    held = {"kind": "latency", "path": f"/jobs/{job}/executions/", "method": "PUT", "latency_ms": 1000}
    before = RequestCounts.of(world.emulator)
    with (
        faults(world.emulator, [{**held, "max_count": 2}]),
        world.emulator.management_client(retry_total=3, retry_backoff_factor=0.5) as client,
    ):
        client.job_executions.begin_create_or_update(
            world.rg,
            world.agent_server,
            world.agent,
            job,
            execution_id,
            polling=False,
            read_timeout=0.5,
            raw_response_hook=lambda response: statuses.append(response.http_response.status_code),
        ).result()

    assert RequestCounts.of(world.emulator).since(before, EXECUTION_PUT) == 3
    assert statuses == [200]
    assert [e.name for e in executions_of(world, job)] == [execution_id]


def test_a_worker_killed_while_its_start_request_is_in_flight_starts_once(world, tmp_path):
    """The emulator holds the worker's PUT; the worker is killed before any answer; the emulator then
    accepts the PUT anyway. The rerun of the same task instance re-attaches to that execution."""
    job = sql_job(world, "InFlightStartJob", RUNNING, timeoutSeconds=60)
    dag_id, date = "chaos_inflight_start", unique_logical_date()
    held = {"kind": "latency", "path": f"/jobs/{job}/executions/", "method": "PUT", "latency_ms": 2000}
    before = RequestCounts.of(world.emulator)
    with faults(world.emulator, [{**held, "max_count": 1}]):
        child = ChildDag(tmp_path / "child.log", dag_id, date, job_name=job, deferrable=False, **FAST)
        try:
            child.wait_for(
                lambda: RequestCounts.of(world.emulator).since(before, EXECUTION_PUT),
                60,
                "the worker's PUT",
                interval=0.05,
            )
            child.kill()
        finally:
            child.close()
    expected = expected_execution_id(world, job, dag_id, manual_run_id(date), TASK_ID, 0)
    # The emulator serves the held PUT after its client died: the execution exists, nobody knows it.
    wait_until(lambda: [e.name for e in executions_of(world, job)] == [expected], 10, "the orphan start")

    dag_run = run(dag_id, date, job_name=job, deferrable=False, **FAST)

    assert task_instance(dag_run, TASK_ID).state == "success"
    assert xcom(dag_run, TASK_ID)["execution_id"] == expected
    assert [(e.name, e.lifecycle) for e in executions_of(world, job)] == [(expected, "Succeeded")]


def test_two_overlapping_dag_runs_start_one_execution_each_and_the_later_one_is_skipped(world, tmp_path):
    """Two run ids → two executions, each exactly once; the second finds the targets busy with the
    first and is Skipped (Azure's overlap rule), which fails its task under the default ``fail_on``."""
    job = sql_job(world, "OverlapJob", "WAITFOR DELAY '00:00:06';", timeoutSeconds=60)
    dag_id = "chaos_overlap"
    first_date, second_date = unique_logical_date(), unique_logical_date()
    child = ChildDag(tmp_path / "child.log", dag_id, first_date, job_name=job, deferrable=False, **FAST)
    try:
        child.wait_for(lambda: _started(world, job), 60, "the first run's start")
        second = run(dag_id, second_date, job_name=job, deferrable=True, **FAST)
        assert child.wait(timeout=60) == "success"
    finally:
        child.close()

    assert task_instance(second, TASK_ID).state == "failed"
    assert xcom(second, TASK_ID)["lifecycle"] == "Skipped"
    first_id = expected_execution_id(world, job, dag_id, manual_run_id(first_date), TASK_ID, 0)
    second_id = expected_execution_id(world, job, dag_id, second.run_id, TASK_ID, 0)
    executions = {e.name: e for e in executions_of(world, job)}
    assert sorted((name, e.lifecycle) for name, e in executions.items()) == sorted(
        [(first_id, "Succeeded"), (second_id, "Skipped")]
    )
    assert executions[second_id].create_time < executions[first_id].end_time  # they did overlap
