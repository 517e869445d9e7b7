"""ElasticJobsCancelExecutionOperator against the emulator: cancels once, then is a no-op."""

from __future__ import annotations

import pytest

from airflow_elasticjobs.operators.execution import ElasticJobsCancelExecutionOperator
from tests.integration.provider.execution_support import (
    CONN_ID,
    run_dag,
    sql_job,
    task_instance,
    xcom,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def make_dag(dag_id: str, **kwargs):
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, catchup=False) as dag:
        ElasticJobsCancelExecutionOperator(task_id="cancel", elastic_jobs_conn_id=CONN_ID, **kwargs)
    return dag


def test_cancel_stops_a_running_execution_and_is_idempotent(world):
    job = sql_job(world, "CancelJob", "WAITFOR DELAY '00:00:30';", timeoutSeconds=120)
    execution_id = world.start(job).name
    dag = make_dag("cancel_execution", job_name=job, execution_id=execution_id)

    first = run_dag(dag)
    assert task_instance(first, "cancel").state == "success"
    assert xcom(first, "cancel")["cancel_requested"] is True
    assert world.wait(job, execution_id, timeout=20).lifecycle == "Canceled"

    again = run_dag(dag)
    assert task_instance(again, "cancel").state == "success"
    assert xcom(again, "cancel") == {
        "execution_id": execution_id,
        "job_name": job,
        "lifecycle": "Canceled",
        "cancel_requested": False,
    }


def test_cancel_of_an_unknown_execution_names_the_field(world, capsys):
    job = sql_job(world, "NoSuchExecutionJob", "SELECT 1;")
    dag_run = run_dag(
        make_dag("cancel_unknown", job_name=job, execution_id="00000000-0000-0000-0000-00000000dead")
    )

    assert task_instance(dag_run, "cancel").state == "failed"
    assert (
        "execution_id='00000000-0000-0000-0000-00000000dead' is invalid: no such execution"
        in capsys.readouterr().out
    )
