"""Fixtures of the UI tests: the tutorial's Job1 run by a DAG on the emulator, and an Airflow api-server.

Once per session: the tutorial's world is built through the real SDK against the emulator (servers,
TargetDb1/TargetDb2, agent, credentials, target logins and users, ServerGroup and
ServerGroupExcludingDb2, Job1 with step1 and step2), a DAG whose ``ElasticJobsStartJobOperator``
starts Job1 runs with ``dag.test()``; a second DAG starts a job that keeps running (a long
WAITFOR) without waiting for it; only then a real ``airflow api-server`` subprocess starts
on a free loopback port over the same metadata database, with the SimpleAuthManager, one known
user and password, and the provider's plugin loaded from its entry point.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.executions_world import TUTORIAL_SQL, World, fast_options
from tests.integration.provider.execution_support import (
    CONN_ID,
    QUICK,
    connection_json,
    run_dag,
    unique_logical_date,
    xcom,
)
from tests.support.emulator import EmulatorProcess, unique_name

DAG_ID = "elastic_jobs_ui_tutorial"
RUNNING_DAG_ID = "elastic_jobs_ui_running"
START_TASK = "start_job1"
PLAIN_TASK = "not_an_elastic_jobs_task"
UI_USER = "ui-tester"
_API_SERVER_START_SECONDS = 120.0


@dataclass(frozen=True)
class TutorialRun:
    """The DAG run that started the tutorial's Job1, and what the tests compare against."""

    world: World
    dag_id: str
    run_id: str
    execution_id: str
    result: dict[str, Any]


@dataclass(frozen=True)
class ApiServer:
    """A running Airflow api-server and the credentials of its one user."""

    url: str
    username: str
    password: str
    log_path: Path

    def token(self) -> str:
        """A JWT from the public login endpoint (``POST /auth/token``)."""
        response = httpx.post(
            f"{self.url}/auth/token", json={"username": self.username, "password": self.password}
        )
        assert response.status_code in (200, 201), response.text
        return response.json()["access_token"]


def _tutorial_job(world: World) -> str:
    """The tutorial's Job1: step1 on ServerGroup, step2 on ServerGroupExcludingDb2."""
    server_group = world.target_group("ServerGroup", [world.server_member()])
    excluding_db2 = world.target_group(
        "ServerGroupExcludingDb2", [world.server_member(), world.database_member("TargetDb2", "Exclude")]
    )
    return world.job(
        "Job1",
        [
            ("step1", server_group, TUTORIAL_SQL.format(table="Step1Table"), None),
            ("step2", excluding_db2, TUTORIAL_SQL.format(table="Step2Table"), None),
        ],
    )


def _start_dag(dag_id: str, job_name: str, wait_for_completion: bool = True) -> Any:
    """A DAG starting ``job_name`` with the start operator, plus a task that is no Elastic Jobs task."""
    from airflow.sdk import DAG, task

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

    with DAG(dag_id, schedule=None, catchup=False) as dag:
        start = ElasticJobsStartJobOperator(
            task_id=START_TASK,
            elastic_jobs_conn_id=CONN_ID,
            job_name=job_name,
            deferrable=False,
            wait_for_completion=wait_for_completion,
            **QUICK,
        )

        @task(task_id=PLAIN_TASK)
        def plain() -> int:
            return 1

        start >> plain()
    return dag


@pytest.fixture(scope="session")
def tutorial_run(emulator: EmulatorProcess, airflow_db: Path) -> Iterator[TutorialRun]:
    """Job1 of the tutorial started and awaited by a DAG's start operator, on the emulator."""
    with emulator.management_client() as client, pytest.MonkeyPatch.context() as patch:
        world = World(emulator, client, unique_name("rg")).build()
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(world))
        dag_run = run_dag(_start_dag(DAG_ID, _tutorial_job(world)), logical_date=unique_logical_date())
        result = xcom(dag_run, START_TASK)
        assert result is not None and result["lifecycle"] == "Succeeded", result
        yield TutorialRun(world, dag_run.dag_id, dag_run.run_id, result["execution_id"], result)


@pytest.fixture(scope="session")
def running_run(tutorial_run: TutorialRun) -> Iterator[TutorialRun]:
    """An execution still running (a 5-minute WAITFOR) that the DAG started without waiting.

    Tests cancel it to watch the tab follow; it is cancelled at the end of the session regardless.
    """
    world = tutorial_run.world
    group = world.target_group("Db1Only", [world.database_member("TargetDb1")])
    job = world.job(
        "SlowJob", [("wait", group, "WAITFOR DELAY '00:05:00';", fast_options(timeoutSeconds=600))]
    )
    dag = _start_dag(RUNNING_DAG_ID, job, wait_for_completion=False)
    dag_run = run_dag(dag, logical_date=unique_logical_date())
    result = xcom(dag_run, START_TASK)
    assert result is not None and result["lifecycle"] in ("Created", "InProgress"), result
    try:
        yield TutorialRun(world, dag_run.dag_id, dag_run.run_id, result["execution_id"], result)
    finally:
        world.client.job_executions.cancel(
            world.rg, world.agent_server, world.agent, job, result["execution_id"]
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + _API_SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"airflow api-server exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"airflow api-server not healthy after {_API_SERVER_START_SECONDS}s; see {log_path}")


@pytest.fixture(scope="session")
def api_server(tutorial_run: TutorialRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """``airflow api-server`` with the plugin, started after the DAG ran (one SQLite writer at a time)."""
    home = tmp_path_factory.mktemp("api-server")
    password = secrets.token_urlsafe(16)
    passwords_file = home / "passwords.json"
    passwords_file.write_text(json.dumps({UI_USER: password}))
    port = _free_port()
    env = {
        **os.environ,
        # Only the endpoint, token and certificate matter here: the execution reference in XCom
        # names the resource group, server and agent.
        f"AIRFLOW_CONN_{CONN_ID.upper()}": connection_json(tutorial_run.world),
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    log_path = home / "api-server.log"
    command = [sys.executable, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield ApiServer(url, UI_USER, password, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
