"""The tutorial DAG on the real deployment: triggered through the REST API, run by the scheduler
(LocalExecutor), with the tutorial's outcome in the emulator.

This test does not show that anything deferred, and cannot: the tutorial's ``start_job1`` only
starts (``wait_for_completion=False``), and ``wait_for_job1``, deferrable through ``[operators]
default_deferrable`` (set by the stack, as in docker-compose.yml), pokes once in its worker slot
first and defers only when Job1 still runs then, which with the emulator's quick job it usually
does not. tests/deployment/test_start_and_wait.py shows the deferred wait, with a job that is sure
to still run.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.dags.harness import TutorialWorld
from tests.deployment.client import DeploymentApi

pytestmark = pytest.mark.timeout(600)

DAG_ID = "elastic_jobs_tutorial"


def test_tutorial_run_succeeds_with_the_tutorials_tables_and_one_execution(
    airflow_api: DeploymentApi, tutorial_world: TutorialWorld
) -> None:
    """Step1Table in both target databases, Step2Table only in TargetDb1, Job1 started exactly once."""
    run_id = airflow_api.trigger(DAG_ID, tutorial_world.names.dag_conf())
    run = airflow_api.wait_for_run(DAG_ID, run_id, timeout=420)
    states = {t["task_id"]: t["state"] for t in airflow_api.task_instances(DAG_ID, run_id)}
    assert run["state"] == "success", states
    assert states["clean_up_resources"] == "skipped"  # cleanup param false
    assert {s for task, s in states.items() if task != "clean_up_resources"} == {"success"}

    tables = tutorial_world.tables()
    assert "Step1Table" in tables["TargetDb1"] and "Step2Table" in tables["TargetDb1"], tables
    assert "Step1Table" in tables["TargetDb2"], tables
    assert "Step2Table" not in tables["TargetDb2"], tables

    # Airflow started Job1 once; the hourly schedule set by the last task fires its first slot (its
    # start time is that task's start) on its own, which the agent does, not Airflow.
    started = airflow_api.xcom(DAG_ID, run_id, "start_job1")
    scheduled_at = datetime.fromisoformat(
        airflow_api.task_instance(DAG_ID, run_id, "schedule_job1_hourly")["start_date"]
    )
    with tutorial_world.emulator.management_client() as client:
        executions = list(client.job_executions.list_by_job(*tutorial_world.agent_args(), "Job1"))
    before_schedule = [e for e in executions if e.create_time < scheduled_at]
    assert [e.name for e in before_schedule] == [started["execution_id"]], executions
    assert before_schedule[0].lifecycle == "Succeeded"
    assert len(executions) <= 2, [(e.name, e.create_time) for e in executions]
