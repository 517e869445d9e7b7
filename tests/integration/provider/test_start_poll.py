"""ElasticJobsStartJobOperator waiting in the worker (poll mode) against the emulator with dag.test()."""

from __future__ import annotations

import time

import pytest

from airflow_elasticjobs.execution_state import is_terminal
from tests.integration.executions_world import TUTORIAL_SQL
from tests.integration.provider.execution_support import (
    QUICK,
    executions_of,
    expected_execution_id,
    manual_run_id,
    run_dag,
    sql_job,
    start_dag,
    task_instance,
    unique_logical_date,
    xcom,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def make_dag(dag_id: str, **operator_kwargs):
    return start_dag(dag_id, deferrable=False, **{**QUICK, **operator_kwargs})


def test_start_and_wait_succeeds_with_per_target_summary(world):
    job = sql_job(world, "PollJob", TUTORIAL_SQL.format(table="PollTable"))
    dag_run = run_dag(make_dag("start_poll_ok", job_name=job))

    ti = task_instance(dag_run, "start")
    assert ti.state == "success"
    result = xcom(dag_run, "start")
    assert result["lifecycle"] == "Succeeded"
    assert result["counts"] == {"Succeeded": 2}
    assert {t["database_name"] for t in result["targets"] if t["database_name"]} == {"TargetDb1", "TargetDb2"}
    assert xcom(dag_run, "start", "execution_id") == result["execution_id"]
    assert [e.name for e in executions_of(world, job)] == [result["execution_id"]]
    assert all("PollTable" in world.tables(db) for db in world.databases)


FAIL_SQL = "THROW 50000, 'Step failed on purpose', 1;"
SLOW_SQL = "WAITFOR DELAY '00:00:30';"


def test_failed_execution_fails_the_task_with_a_summary_of_failing_targets(world, capsys):
    job = sql_job(world, "FailJob", FAIL_SQL)
    dag_run = run_dag(make_dag("start_poll_fail", job_name=job))

    assert task_instance(dag_run, "start").state == "failed"
    result = xcom(dag_run, "start")  # pushed even though the task failed
    assert result["lifecycle"] == "Failed"
    assert result["counts"] == {"Failed": 2}
    output = capsys.readouterr().out
    assert f"of job '{job}' ended Failed" in output
    assert "Failing targets (2):" in output
    for database in world.databases:
        assert f"{world.target_server}/{database} (step 1 'Step1'): Failed - " in output
    assert "Step failed on purpose" in output


def test_fail_on_decides_which_terminal_states_fail(world):
    job = sql_job(world, "TolerantJob", FAIL_SQL)
    dag_run = run_dag(make_dag("start_poll_tolerant", job_name=job, fail_on=["TimedOut"]))

    assert task_instance(dag_run, "start").state == "success"
    assert xcom(dag_run, "start")["lifecycle"] == "Failed"


def test_retry_after_a_failed_execution_starts_a_new_one(world):
    job = sql_job(world, "RetryJob", FAIL_SQL)
    logical_date = unique_logical_date()
    dag_run = run_dag(make_dag("start_poll_retry", job_name=job, retries=1), logical_date)

    ti = task_instance(dag_run, "start")
    assert (ti.state, ti.try_number) == ("failed", 2)
    ids = [expected_execution_id(world, job, "start_poll_retry", dag_run.run_id, "start", n) for n in (0, 1)]
    executions = executions_of(world, job)
    assert sorted(e.name for e in executions) == sorted(ids)
    assert {e.lifecycle for e in executions} == {"Failed"}


def test_a_restarted_try_reattaches_instead_of_starting_a_second_execution(world):
    job = sql_job(world, "ReattachJob", "WAITFOR DELAY '00:00:02';")
    logical_date = unique_logical_date()
    run_id = manual_run_id(logical_date)
    # What a first try left behind when its worker died: the execution it started, still running.
    orphan = expected_execution_id(world, job, "start_poll_reattach", run_id, "start", 0)
    world.client.job_executions.begin_create_or_update(
        world.rg, world.agent_server, world.agent, job, orphan, polling=False
    ).result()

    dag_run = run_dag(make_dag("start_poll_reattach", job_name=job), logical_date)

    assert dag_run.run_id == run_id
    assert task_instance(dag_run, "start").state == "success"
    assert xcom(dag_run, "start")["execution_id"] == orphan
    assert [e.name for e in executions_of(world, job)] == [orphan]


def test_an_execution_that_already_succeeded_is_not_run_again(world):
    job = sql_job(world, "DoneJob", TUTORIAL_SQL.format(table="DoneTable"))
    logical_date = unique_logical_date()
    done = expected_execution_id(world, job, "start_poll_done", manual_run_id(logical_date), "start", 0)
    world.client.job_executions.begin_create_or_update(
        world.rg, world.agent_server, world.agent, job, done, polling=False
    ).result()
    world.wait(job, done)

    dag_run = run_dag(make_dag("start_poll_done", job_name=job), logical_date)

    assert task_instance(dag_run, "start").state == "success"
    assert xcom(dag_run, "start")["execution_id"] == done
    assert len(executions_of(world, job)) == 1


def test_timeout_cancels_the_execution_and_fails(world):
    job = sql_job(world, "SlowJob", SLOW_SQL, timeoutSeconds=120)
    started = time.monotonic()
    dag_run = run_dag(make_dag("start_poll_timeout", job_name=job, timeout=2))

    assert time.monotonic() - started < 25
    assert task_instance(dag_run, "start").state == "failed"
    (execution,) = executions_of(world, job)
    assert world.wait(job, execution.name, timeout=20).lifecycle == "Canceled"


def test_no_wait_returns_once_started(world):
    job = sql_job(world, "NoWaitJob", SLOW_SQL, timeoutSeconds=120)
    dag_run = run_dag(make_dag("start_poll_nowait", job_name=job, wait_for_completion=False))

    assert task_instance(dag_run, "start").state == "success"
    result = xcom(dag_run, "start")
    assert not is_terminal(result["lifecycle"])
    execution = world.get(job, result["execution_id"])
    assert not is_terminal(execution.lifecycle)
    world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, execution.name)
