"""The reusable scenario DAGs on the real deployment: the start operator waits in a triggerer."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi
from tests.deployment.processes import trigger_log_files
from tests.deployment.scenario import START_DAG, START_TASK_ID, executions, start_conf, waiting_job
from tests.integration.executions_world import World

pytestmark = pytest.mark.timeout(300)

#: What azure-core's HTTP logging policy writes for every request and response at INFO
#: (airflow_elasticjobs/hooks/sdk_logging.py keeps it out of the triggerer's logs).
SDK_HTTP_LINES = ("Request URL", "Request headers", "Response headers")


def _log_offsets(stack: LocalStack) -> dict[Path, int]:
    """The current size of each triggerer's log: what was written before the test."""
    return {log: log.stat().st_size for log in stack.logs.glob("triggerer-*.log")}


def _written_since(offsets: dict[Path, int]) -> str:
    """What the triggerers logged after ``offsets`` were taken."""
    written = []
    for log, offset in offsets.items():
        with log.open("rb") as file:
            file.seek(offset)
            written.append(file.read().decode(errors="replace"))
    return "\n".join(written)


def test_deferred_start_waits_in_a_triggerer_and_starts_the_job_once(
    stack: LocalStack, airflow_api: DeploymentApi, agent_world: World
) -> None:
    """The task is deferred while the job runs (WAITFOR 6 s), then succeeds; one execution, Succeeded.
    The triggerer's logs of the wait (its own, the trigger's) hold the trigger's lines and no
    per-request HTTP lines of the Azure SDK, although the trigger polled every second."""
    offsets = _log_offsets(stack)
    assert offsets, f"no triggerer log in {stack.logs}"
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

    trigger_logs = trigger_log_files(stack, START_DAG, run_id, START_TASK_ID)
    assert trigger_logs, "the deferred task has no trigger log"
    logged = "\n".join([_written_since(offsets), *(p.read_text(errors="replace") for p in trigger_logs)])
    assert f"Execution {result['execution_id']} of job {job!r} is Succeeded" in logged
    flood = [line for line in logged.splitlines() if any(marker in line for marker in SDK_HTTP_LINES)]
    assert not flood, flood[:10]
