"""ElasticJobsStartJobOperator deferred: dag.test() runs the real trigger in-process against the emulator."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.integration.executions_world import TUTORIAL_SQL
from tests.integration.provider.execution_support import (
    QUICK,
    executions_of,
    run_dag,
    sql_job,
    start_dag,
    task_instance,
    xcom,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def make_dag(dag_id: str, **operator_kwargs):
    return start_dag(dag_id, deferrable=True, **{**QUICK, **operator_kwargs})


def test_deferred_wait_succeeds_and_the_trigger_logs_progress(world, capsys):
    job = sql_job(world, "DeferJob", "WAITFOR DELAY '00:00:02'; " + TUTORIAL_SQL.format(table="DeferTable"))
    dag_run = run_dag(make_dag("start_defer_ok", job_name=job))

    assert task_instance(dag_run, "start").state == "success"
    result = xcom(dag_run, "start")
    assert (result["lifecycle"], result["counts"]) == ("Succeeded", {"Succeeded": 2})
    lines = capsys.readouterr().out.splitlines()
    trigger_lines = [line for line in lines if "[airflow_elasticjobs.triggers.execution" in line]
    assert any("step 1 'Step1': 0/2 targets succeeded, 2 in progress" in line for line in trigger_lines)
    assert any(f"of job '{job}' is Succeeded" in line for line in trigger_lines)
    assert any("step 1 'Step1': 2/2 targets succeeded" in line for line in lines)
    assert len(executions_of(world, job)) == 1


def test_deferred_failure_reports_failing_targets(world, capsys):
    job = sql_job(world, "DeferFailJob", "THROW 50000, 'Deferred failure', 1;")
    dag_run = run_dag(make_dag("start_defer_fail", job_name=job))

    assert task_instance(dag_run, "start").state == "failed"
    assert xcom(dag_run, "start")["counts"] == {"Failed": 2}
    output = capsys.readouterr().out
    assert "Failing targets (2):" in output and "Deferred failure" in output


def test_deferred_timeout_cancels_the_execution(world):
    job = sql_job(world, "DeferSlowJob", "WAITFOR DELAY '00:00:30';", timeoutSeconds=120)
    started = time.monotonic()
    dag_run = run_dag(make_dag("start_defer_timeout", job_name=job, timeout=2))

    assert time.monotonic() - started < 25
    assert task_instance(dag_run, "start").state == "failed"
    (execution,) = executions_of(world, job)
    assert world.wait(job, execution.name, timeout=20).lifecycle == "Canceled"


def test_execution_timeout_bounds_the_deferred_wait_too(world):
    job = sql_job(world, "DeferExecTimeoutJob", "WAITFOR DELAY '00:00:30';", timeoutSeconds=120)
    dag_run = run_dag(
        make_dag("start_defer_exec_timeout", job_name=job, execution_timeout=timedelta(seconds=3))
    )

    assert task_instance(dag_run, "start").state == "failed"
    (execution,) = executions_of(world, job)
    assert world.wait(job, execution.name, timeout=20).lifecycle == "Canceled"


def test_a_short_job_within_defer_after_finishes_in_the_slot_without_deferring(world, capsys):
    job = sql_job(
        world, "DeferAfterJob", "WAITFOR DELAY '00:00:01'; " + TUTORIAL_SQL.format(table="SlotTable")
    )
    dag_run = run_dag(make_dag("start_defer_after", job_name=job, defer_after=30))

    assert task_instance(dag_run, "start").state == "success"
    (execution,) = executions_of(world, job)
    result = xcom(dag_run, "start")
    assert (result["execution_id"], result["lifecycle"]) == (execution.name, execution.lifecycle)
    assert result["counts"] == {"Succeeded": 2}
    output = capsys.readouterr().out
    assert "[airflow_elasticjobs.triggers.execution" not in output  # dag.test() never ran the trigger
    assert "in the slot; deferring" not in output
    assert f"Execution {execution.name} ended Succeeded" in output
