"""Many deferred tasks on one agent, through the triggerers' shared per-agent poller.

* 50 mapped start tasks wait on 50 jobs of one agent; one job is deleted mid-wait (its execution is
  cancelled and then gone: a 404 for that one watch). Only that task fails; the other 49 succeed,
  each job with one execution.
* 10 tasks wait through a service-principal connection stored in the metadata database; the client
  secret is rotated (the emulator's principal gets a new secret, then the connection is updated
  through the REST API) while they wait. Tokens live 5 s, so every poller must ask for new ones with
  the revoked secret, read the connection again and go on: none fails, and no secret appears in any
  log of the deployment.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi, connection_body, wait_until
from tests.deployment.processes import trigger_log_files
from tests.deployment.scenario import MAPPED_START_DAG, START_TASK_ID, executions, start_conf, waiting_job
from tests.integration.executions_world import World
from tests.support.emulator import FAST_RETRIES, unique_name

pytestmark = pytest.mark.timeout(600)

FLEET = 50
ROTATING = 10


def _states(api: DeploymentApi, run_id: str) -> dict[int, str]:
    """State of each map index of the mapped start task."""
    return {
        ti["map_index"]: ti["state"]
        for ti in api.task_instances(MAPPED_START_DAG, run_id)
        if ti["task_id"] == START_TASK_ID
    }


def _wait_all_deferred(api: DeploymentApi, run_id: str, count: int, timeout: float) -> None:
    wait_until(
        lambda: (states := _states(api, run_id)) and list(states.values()).count("deferred") == count,
        timeout,
        f"all {count} mapped start tasks to be deferred",
        interval=1,
    )


def _only_execution(world: World, job: str) -> tuple[str, str]:
    (execution,) = executions(world, job)
    return execution.name, execution.lifecycle


def test_a_deleted_job_fails_only_its_own_task_among_50_deferred(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    jobs = [waiting_job(agent_world, f"Fleet{i:02d}", seconds=75) for i in range(FLEET)]
    run_id = airflow_api.trigger(MAPPED_START_DAG, start_conf(agent_world, job_names=jobs))
    _wait_all_deferred(airflow_api, run_id, FLEET, timeout=240)
    doomed = 17
    agent_world.client.jobs.delete(agent_world.rg, agent_world.agent_server, agent_world.agent, jobs[doomed])

    airflow_api.wait_for_run(MAPPED_START_DAG, run_id, timeout=300)
    states = _states(airflow_api, run_id)
    assert states.pop(doomed) == "failed"
    assert set(states.values()) == {"success"} and len(states) == FLEET - 1
    for index, job in enumerate(jobs):
        if index != doomed:
            assert _only_execution(agent_world, job)[1] == "Succeeded", job


def _deployment_logs(stack: LocalStack) -> list[Path]:
    assert stack.settings is not None
    return [*stack.logs.glob("*.log"), *(stack.settings.home / "logs").glob("**/*.log")]


def test_waiting_tasks_survive_a_client_secret_rotation(
    stack: LocalStack, airflow_api: DeploymentApi, agent_world: World
) -> None:
    emulator = stack.emulator
    conn_id = unique_name("rotating").replace("-", "_")
    client_id = unique_name("app")
    old_secret, new_secret = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"

    def connection(secret: str) -> dict:
        as_json = emulator.service_principal_connection_json(
            client_id, secret, agent_world.rg, agent_world.agent_server, agent_world.agent, **FAST_RETRIES
        )
        return connection_body(as_json, conn_id)

    emulator.register_principal(client_id, old_secret, lifetime_seconds=5)
    airflow_api.call("POST", "connections", json=connection(old_secret))
    jobs = [waiting_job(agent_world, f"Rotating{i}", seconds=40) for i in range(ROTATING)]
    conf = start_conf(agent_world, job_names=jobs, elastic_jobs_conn_id=conn_id)
    run_id = airflow_api.trigger(MAPPED_START_DAG, conf)
    _wait_all_deferred(airflow_api, run_id, ROTATING, timeout=180)
    wait_until(
        lambda: len(trigger_log_files(stack, MAPPED_START_DAG, run_id, START_TASK_ID)) >= ROTATING,
        60,
        "every trigger to run (each writes its log after its first poll)",
        interval=1,
    )
    issued_before = emulator.principals()[client_id]["tokens_issued"]

    emulator.register_principal(client_id, new_secret, lifetime_seconds=5)  # the old secret is revoked
    time.sleep(6)  # the tokens issued with the old secret expire while the connection still has it
    airflow_api.call("PATCH", f"connections/{conn_id}", json=connection(new_secret))

    airflow_api.wait_for_run(MAPPED_START_DAG, run_id, timeout=240)
    instances = [
        t for t in airflow_api.task_instances(MAPPED_START_DAG, run_id) if t["task_id"] == START_TASK_ID
    ]
    # Every task succeeded in its first try: a retry would hide a wait that failed on the rotation.
    assert {(t["state"], t["try_number"]) for t in instances} == {("success", 1)} and len(
        instances
    ) == ROTATING
    assert all(_only_execution(agent_world, job)[1] == "Succeeded" for job in jobs)
    assert emulator.principals()[client_id]["tokens_issued"] > issued_before  # new tokens, new secret
    texts = [log.read_text(errors="replace") for log in _deployment_logs(stack)]
    assert any("AADSTS7000215" in text for text in texts)  # the revoked secret was really refused
    for log, text in zip(_deployment_logs(stack), texts, strict=True):
        assert old_secret not in text and new_secret not in text, f"a client secret in {log}"
