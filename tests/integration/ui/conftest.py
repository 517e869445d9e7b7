"""Fixtures of the UI tests: the tutorial DAG run on the emulator, and a real Airflow api-server.

Once per session: the tutorial DAG (``example_dags/elastic_jobs_tutorial.py``, one task per step of
Microsoft's PowerShell tutorial) runs with ``dag.test()`` against the emulator process, with fresh
names and its connections as ``AIRFLOW_CONN_*`` variables (``tests/dags/harness.py``); a second,
small DAG starts a job that keeps running (a long WAITFOR) without waiting for it; only then a real
``airflow api-server`` subprocess starts on a free loopback port over the same metadata database,
with the SimpleAuthManager, a viewer and an XCom editor with known passwords, the same connections,
and the provider's plugin loaded from its entry point.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dags.harness import failed_tasks, load_example_dag, run_dag, tutorial_world
from tests.integration.executions_world import World, fast_options
from tests.integration.provider.execution_support import CONN_ID, QUICK, connection_json, xcom
from tests.support.emulator import EmulatorProcess

TUTORIAL_DAG_ID = "elastic_jobs_tutorial"
RUNNING_DAG_ID = "elastic_jobs_ui_running"
START_TASK = "start_job1"
SENSOR_TASK = "wait_for_job1"
PLAIN_TASK = "show_step_and_target_executions"
UI_USER = "ui-tester"
#: A user who may edit XCom (SimpleAuthManager role ``user``) but not connections.
XCOM_EDITOR = "ui-xcom-editor"
_API_SERVER_START_SECONDS = 120.0


@dataclass(frozen=True)
class TutorialRun:
    """A DAG run that started an execution, and what the tests compare against."""

    world: World
    dag_id: str
    run_id: str
    execution_id: str
    result: dict[str, Any]
    #: ``AIRFLOW_CONN_*`` variables the DAG ran with (the api-server needs them too).
    connections: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Every password and token of those connections: none may ever reach a browser."""
        found = []
        for value in self.connections.values():
            conn = json.loads(value)
            found += [v for v in (conn.get("password"), conn.get("extra", {}).get("token")) if v]
        return found


@dataclass(frozen=True)
class ApiServer:
    """A running Airflow api-server and the passwords of its users (a viewer and an XCom editor)."""

    url: str
    username: str
    passwords: dict[str, str]
    log_path: Path

    def token(self, username: str | None = None) -> str:
        """A JWT from the public login endpoint (``POST /auth/token``); the viewer's by default."""
        username = username or self.username
        response = httpx.post(
            f"{self.url}/auth/token", json={"username": username, "password": self.passwords[username]}
        )
        assert response.status_code in (200, 201), response.text
        return response.json()["access_token"]


@pytest.fixture(scope="session")
def tutorial_run(emulator: EmulatorProcess, airflow_db: Path) -> Iterator[TutorialRun]:
    """The tutorial DAG run once on the emulator; its Job1 execution ended Succeeded."""
    with tutorial_world(emulator) as built, emulator.management_client() as client:
        names = built.names
        dag_run = run_dag(load_example_dag(TUTORIAL_DAG_ID), names.dag_conf())
        assert dag_run.state == "success", failed_tasks(dag_run)
        world = World(
            emulator,
            client,
            names.resource_group,
            agent_server=names.agent_server,
            target_server=names.target_server,
            agent=names.agent,
        )
        result = xcom(dag_run, SENSOR_TASK)  # the sensor's summary of the finished execution
        assert result["lifecycle"] == "Succeeded", result
        yield TutorialRun(
            world, dag_run.dag_id, dag_run.run_id, result["execution_id"], result, dict(built.connections)
        )


def _running_dag(job_name: str) -> Any:
    """Start ``job_name`` without waiting for it, plus a task that is no Elastic Jobs task."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

    with DAG(RUNNING_DAG_ID, schedule=None, catchup=False) as dag:
        ElasticJobsStartJobOperator(
            task_id=START_TASK,
            elastic_jobs_conn_id=CONN_ID,
            job_name=job_name,
            deferrable=False,
            wait_for_completion=False,
            **QUICK,
        )
    return dag


@pytest.fixture(scope="session")
def running_run(tutorial_run: TutorialRun) -> Iterator[TutorialRun]:
    """An execution still running (a 5-minute WAITFOR on TargetDb1, the tutorial's jobuser credential).

    Tests cancel it to watch the tab follow; it is cancelled at the end of the session regardless.
    """
    world = tutorial_run.world
    group = world.target_group("Db1Only", [world.database_member("TargetDb1")])
    job = world.job(
        "SlowJob", [("wait", group, "WAITFOR DELAY '00:05:00';", fast_options(timeoutSeconds=600))]
    )
    conn_var = f"AIRFLOW_CONN_{CONN_ID.upper()}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(conn_var, connection_json(world))
        dag_run = run_dag(_running_dag(job))
    result = xcom(dag_run, START_TASK)
    assert result is not None and result["lifecycle"] in ("Created", "InProgress"), result
    connections = {conn_var: connection_json(world)}
    try:
        yield TutorialRun(world, dag_run.dag_id, dag_run.run_id, result["execution_id"], result, connections)
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
def api_server(
    tutorial_run: TutorialRun, running_run: TutorialRun, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """``airflow api-server`` with the plugin, started after both DAGs ran (one SQLite writer at a time)."""
    home = tmp_path_factory.mktemp("api-server")
    passwords = {UI_USER: secrets.token_urlsafe(16), XCOM_EDITOR: secrets.token_urlsafe(16)}
    passwords_file = home / "passwords.json"
    passwords_file.write_text(json.dumps(passwords))
    port = _free_port()
    env = {
        **os.environ,
        # The plugin reads executions through the tasks' own connections, on the server.
        **tutorial_run.connections,
        **running_run.connections,
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:viewer,{XCOM_EDITOR}:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    log_path = home / "api-server.log"
    command = [sys.executable, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"]
    with log_path.open("wb") as log:
        # Outside the repository: its build metadata (``*.egg-info``) would register the plugin twice.
        process = subprocess.Popen(command, env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield ApiServer(url, UI_USER, passwords, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
