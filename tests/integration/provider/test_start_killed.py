"""SIGTERM to a task that waits in a worker, with no user action, leaves its execution running.

The DAG runs with dag.test() in a child process; the test sends that process SIGTERM, as Airflow's
supervisor does when heartbeats fail or a pod is evicted, while nobody changed the task instance's
state: ``on_kill`` must not cancel (a retry re-attaches, docs/execution-semantics.md §4). The user
action that does cancel (mark failed, then SIGTERM) is tests/reliability/test_cancellation.py, and
through a real deployment tests/deployment/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.integration.provider.execution_support import (
    CONN_ID,
    executions_of,
    sql_job,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[3]


def test_sigterm_without_a_user_action_leaves_the_execution_running(world, tmp_path):
    job = sql_job(world, "KilledJob", "WAITFOR DELAY '00:00:40';", timeoutSeconds=120)
    script = tmp_path / "killed_dag.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from airflow.sdk import DAG
            from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
            from tests.integration.provider.execution_support import run_dag

            with DAG("start_poll_killed", schedule=None) as dag:
                ElasticJobsStartJobOperator(
                    task_id="start", elastic_jobs_conn_id={CONN_ID!r}, job_name={job!r},
                    deferrable=False, poll_interval=0.5,
                )
            run_dag(dag)
            """
        )
    )
    log = (tmp_path / "child.log").open("wb")
    child = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not [e for e in executions_of(world, job) if e.lifecycle != "Created"]:
            assert child.poll() is None, (tmp_path / "child.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the task never started its execution"
            time.sleep(0.3)
        (execution,) = executions_of(world, job)

        child.send_signal(signal.SIGTERM)

        time.sleep(3)
        assert world.get(job, execution.name).lifecycle in {"InProgress", "WaitingForChildJobExecutions"}
        assert "a retry re-attaches to it" in (tmp_path / "child.log").read_text()
        world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, execution.name)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        log.close()
