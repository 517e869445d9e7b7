"""ElasticJobsExecutionSensor in poke, reschedule and deferrable mode against the emulator (dag.test)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from tests.integration.provider.execution_support import (
    CONN_ID,
    run_dag,
    sql_job,
    task_instance,
    xcom,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def make_dag(dag_id: str, **sensor_kwargs):
    from airflow.sdk import DAG

    options = {"poke_interval": 0.5, "timeout": 60, "error_budget": 30.0} | sensor_kwargs
    with DAG(dag_id, schedule=None, catchup=False) as dag:
        ElasticJobsExecutionSensor(task_id="wait", elastic_jobs_conn_id=CONN_ID, **options)
    return dag


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
def test_sensor_waits_for_a_given_execution(world, deferrable):
    job = sql_job(world, f"SensedJob{deferrable}", "WAITFOR DELAY '00:00:02';")
    execution_id = world.start(job).name
    dag_run = run_dag(
        make_dag(f"sensor_by_id_{deferrable}", job_name=job, execution_id=execution_id, deferrable=deferrable)
    )

    assert task_instance(dag_run, "wait").state == "success"
    result = xcom(dag_run, "wait")
    assert (result["execution_id"], result["lifecycle"], result["counts"]) == (
        execution_id,
        "Succeeded",
        {"Succeeded": 2},
    )


@pytest.mark.parametrize(
    ("deferrable", "mode"),
    [(False, "poke"), (False, "reschedule"), (True, "poke")],
    ids=["poke", "reschedule", "deferred"],
)
def test_sensor_waits_for_the_latest_execution_to_appear(world, deferrable, mode):
    """Like monitoring a run the agent's own schedule starts: nothing exists when the sensor starts."""
    job = sql_job(world, f"ScheduledJob{mode}{deferrable}", "WAITFOR DELAY '00:00:01';")
    old = world.start(job).name
    world.wait(job, old)
    created_after = world.get(job, old).create_time + timedelta(milliseconds=1)
    later = threading.Timer(2.0, lambda: world.start(job))
    later.start()
    try:
        dag_run = run_dag(
            make_dag(
                f"sensor_latest_{mode}_{deferrable}",
                job_name=job,
                created_after=created_after.isoformat(),
                deferrable=deferrable,
                mode=mode,
            )
        )
    finally:
        later.join()

    assert task_instance(dag_run, "wait").state == "success"
    result = xcom(dag_run, "wait")
    assert result["execution_id"] != old
    assert result["lifecycle"] == "Succeeded"


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
def test_sensor_fails_on_fail_states_with_the_failing_targets(world, deferrable, capsys):
    job = sql_job(world, f"SensedFailJob{deferrable}", "THROW 50000, 'Sensed failure', 1;")
    execution_id = world.start(job).name
    dag_run = run_dag(
        make_dag(f"sensor_fail_{deferrable}", job_name=job, execution_id=execution_id, deferrable=deferrable)
    )

    assert task_instance(dag_run, "wait").state == "failed"
    assert xcom(dag_run, "wait")["counts"] == {"Failed": 2}
    output = capsys.readouterr().out
    assert "Failing targets (2):" in output and "Sensed failure" in output


def test_deferred_sensor_can_wait_for_a_non_terminal_state(world):
    job = sql_job(world, "StartedJob", "WAITFOR DELAY '00:00:20';", timeoutSeconds=60)
    execution_id = world.start(job).name
    dag_run = run_dag(
        make_dag(
            "sensor_in_progress",
            job_name=job,
            execution_id=execution_id,
            target_states=["InProgress", "WaitingForChildJobExecutions"],
            deferrable=True,
        )
    )

    assert task_instance(dag_run, "wait").state == "success"
    assert xcom(dag_run, "wait")["lifecycle"] in {"InProgress", "WaitingForChildJobExecutions"}
    world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, execution_id)


def test_deferred_sensor_timeout_fails_without_cancelling(world):
    job = sql_job(world, "LongSensedJob", "WAITFOR DELAY '00:00:30';", timeoutSeconds=60)
    execution_id = world.start(job).name
    dag_run = run_dag(
        make_dag("sensor_timeout", job_name=job, execution_id=execution_id, deferrable=True, timeout=2)
    )

    assert task_instance(dag_run, "wait").state == "failed"
    assert world.get(job, execution_id).lifecycle != "Canceled"
    world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, execution_id)
