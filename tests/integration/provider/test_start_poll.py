"""ElasticJobsStartJobOperator waiting in the worker (poll mode) against the emulator with dag.test()."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from tests.integration.executions_world import TUTORIAL_SQL
from tests.integration.provider.execution_support import (
    CONN_ID,
    QUICK,
    executions_of,
    run_dag,
    sql_job,
    task_instance,
    world_fixture,  # noqa: F401  (the "world" fixture)
    xcom,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def make_dag(dag_id: str, **operator_kwargs):
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, catchup=False) as dag:
        ElasticJobsStartJobOperator(
            task_id="start",
            elastic_jobs_conn_id=CONN_ID,
            deferrable=False,
            retry_delay=timedelta(seconds=0),
            **{**QUICK, **operator_kwargs},
        )
    return dag


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
