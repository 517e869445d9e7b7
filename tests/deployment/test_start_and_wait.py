"""The reusable scenario DAGs on the real deployment: the start operator waits in a triggerer."""

from __future__ import annotations

import pytest

from tests.deployment.client import DeploymentApi
from tests.deployment.scenario import START_DAG, START_TASK_ID, executions, start_conf, waiting_job
from tests.integration.executions_world import World

pytestmark = pytest.mark.timeout(300)


def test_deferred_start_waits_in_a_triggerer_and_starts_the_job_once(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """The task is deferred while the job runs (WAITFOR 6 s), then succeeds; one execution, Succeeded."""
    job = waiting_job(agent_world, "DeferredWait", seconds=6)
    run_id = airflow_api.trigger(START_DAG, start_conf(agent_world, job_name=job))
    airflow_api.wait_for_task(START_DAG, run_id, START_TASK_ID, {"deferred"}, timeout=120)
    run = airflow_api.wait_for_run(START_DAG, run_id, timeout=180)
    assert run["state"] == "success"
    ti = airflow_api.task_instance(START_DAG, run_id, START_TASK_ID)
    assert ti["try_number"] == 1
    result = airflow_api.xcom(START_DAG, run_id, START_TASK_ID)
    found = executions(agent_world, job)
    assert [e.name for e in found] == [result["execution_id"]]
    assert (result["lifecycle"], found[0].lifecycle) == ("Succeeded", "Succeeded")
