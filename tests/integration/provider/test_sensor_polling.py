"""What the execution sensor asks ARM and what it leaves in XCom (dag.test against the emulator).

The latest execution is listed until one is found, then polled by id; ``do_xcom_push=False`` leaves
no XCom at all, also when the sensor fails.
"""

from __future__ import annotations

import pytest

from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from tests.integration.provider.execution_support import CONN_ID, run_dag, sql_job, task_instance, xcom

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

AGENT = "GET /subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/servers/{}/jobAgents/{}"
JOB_EXECUTIONS = AGENT + "/jobs/{}/executions"
EXECUTION_GET = JOB_EXECUTIONS + "/{}"


def sensor_dag(dag_id: str, **sensor_kwargs):
    from airflow.sdk import DAG

    options = {"poke_interval": 0.5, "timeout": 60, "elastic_jobs_conn_id": CONN_ID} | sensor_kwargs
    with DAG(dag_id, schedule=None, catchup=False) as dag:
        ElasticJobsExecutionSensor(task_id="wait", **options)
    return dag


def test_latest_execution_is_listed_once_then_polled_by_id(world):
    job = sql_job(world, "PolledLatestJob", "WAITFOR DELAY '00:00:15';")
    execution_id = world.start(job).name
    world.emulator.reset_controls()

    dag_run = run_dag(sensor_dag("sensor_latest_by_id", job_name=job))

    counts = world.emulator.counters()
    assert task_instance(dag_run, "wait").state == "success"
    assert xcom(dag_run, "wait", "execution_id") == execution_id
    assert xcom(dag_run, "wait")["execution_id"] == execution_id
    assert counts.get(JOB_EXECUTIONS, 0) == 1  # the job's history is listed once, not on every poke
    assert counts.get(EXECUTION_GET, 0) >= 3  # then the execution itself, poke after poke


def test_do_xcom_push_false_pushes_nothing_even_on_failure(world):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    job = sql_job(world, "QuietFailJob", "THROW 50000, 'Quiet failure', 1;")
    execution_id = world.start(job).name

    dag_run = run_dag(
        sensor_dag("sensor_no_xcom", job_name=job, execution_id=execution_id, do_xcom_push=False)
    )

    assert task_instance(dag_run, "wait").state == "failed"
    with create_session() as session:
        keys = [
            row.key
            for row in session.query(XComModel).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id)
        ]
    # Airflow itself stores the rendered extra link ("_link_<class>"); the sensor pushes nothing.
    assert [k for k in keys if not k.startswith("_link_")] == []
