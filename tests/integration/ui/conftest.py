"""Fixtures of the UI tests: the tutorial DAG run on the emulator, and a real Airflow api-server.

Once per session: the tutorial DAG (``example_dags/elastic_jobs_tutorial.py``, one task per step of
Microsoft's PowerShell tutorial) runs with ``dag.test()`` against the emulator process, with fresh
names and its connections as ``AIRFLOW_CONN_*`` variables (``tests/dags/harness.py``); a second,
small DAG starts a job that keeps running (a long WAITFOR) without waiting for it; a third starts a
job over a fleet of 1,000 databases on two servers that fails on every database whose name ends in
7 (and waits until that execution ends); only then a real
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dags.harness import failed_tasks, load_example_dag, run_dag, tutorial_world
from tests.integration.executions_world import ADMIN, ADMIN_PASSWORD, World, fast_options
from tests.integration.provider.execution_support import CONN_ID, QUICK, connection_json, xcom
from tests.support.definitions import create_database, create_server
from tests.support.emulator import EmulatorProcess, unique_name

TUTORIAL_DAG_ID = "elastic_jobs_tutorial"
RUNNING_DAG_ID = "elastic_jobs_ui_running"
FLEET_DAG_ID = "elastic_jobs_ui_fleet"
#: The fleet: two servers of 500 databases each; the step fails on names ending in 7 (100 of 1,000).
FLEET_DATABASES = tuple(f"fleetdb{i:03d}" for i in range(500))
FLEET_FAILURE = "Fleet check failed on this database."
FLEET_SQL = f"IF DB_NAME() LIKE '%7' THROW 50000, '{FLEET_FAILURE}', 1; ELSE PRINT 'checked';"
_FLEET_SECONDS = 600.0
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


def _running_dag(job_name: str, dag_id: str = RUNNING_DAG_ID) -> Any:
    """Start ``job_name`` without waiting for it."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

    with DAG(dag_id, schedule=None, catchup=False) as dag:
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


@dataclass(frozen=True)
class FleetRun:
    """The 1,000-database execution (ended) and what the tests expect of it."""

    run: TutorialRun
    job_name: str
    servers: tuple[str, ...]

    @property
    def failed(self) -> set[tuple[str, str]]:
        """(server, database) of every target the step fails on (names ending in 7)."""
        return {(s, d) for s in self.servers for d in FLEET_DATABASES if d.endswith("7")}

    def arm_targets(self) -> list[Any]:
        """Every target execution ARM lists for the execution (read through the SDK)."""
        return self.run.world.target_executions(self.job_name, self.run.execution_id)


def _fleet_job(world: World, servers: list[str]) -> str:
    """One step over both fleet servers, as their admin (no per-database user to set up)."""
    credential = world.agent_path("credentials", "fleetadmin")
    world.client.job_credentials.create_or_update(
        world.rg,
        world.agent_server,
        world.agent,
        "fleetadmin",
        {"properties": {"username": ADMIN, "password": ADMIN_PASSWORD}},
    )
    members = [
        {"type": "SqlServer", "serverName": s, "refreshCredential": credential, "membershipType": "Include"}
        for s in servers
    ]
    group = world.target_group("Fleet", members)
    job = "FleetCheck"
    world.client.jobs.create_or_update(world.rg, world.agent_server, world.agent, job, {"properties": {}})
    step = {
        "targetGroup": group,
        "credential": credential,
        "action": {"type": "TSql", "source": "Inline", "value": FLEET_SQL},
        "executionOptions": fast_options(timeoutSeconds=300),
    }
    world.client.job_steps.create_or_update(
        world.rg, world.agent_server, world.agent, job, "check", {"properties": step}
    )
    return job


@pytest.fixture(scope="session")
def fleet_run(tutorial_run: TutorialRun) -> FleetRun:
    """Job ``FleetCheck`` started by a DAG over 2 servers x 500 databases; ended Failed (100 failed)."""
    world = tutorial_run.world
    servers = [unique_name("fleetsrv") for _ in range(2)]
    for server in servers:
        create_server(world.client, world.rg, server, admin_login=ADMIN, admin_password=ADMIN_PASSWORD)
    with ThreadPoolExecutor(8) as pool:
        wanted = [(server, name) for server in servers for name in FLEET_DATABASES]
        list(pool.map(lambda target: create_database(world.client, world.rg, *target), wanted))
    job = _fleet_job(world, servers)
    conn_var = f"AIRFLOW_CONN_{CONN_ID.upper()}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(conn_var, connection_json(world))
        dag_run = run_dag(_running_dag(job, FLEET_DAG_ID))
    result = xcom(dag_run, START_TASK)
    assert result is not None, failed_tasks(dag_run)
    ended = world.wait(job, result["execution_id"], timeout=_FLEET_SECONDS)
    assert ended.lifecycle == "Failed", ended.last_message
    run = TutorialRun(
        world,
        dag_run.dag_id,
        dag_run.run_id,
        result["execution_id"],
        result,
        {conn_var: connection_json(world)},
    )
    return FleetRun(run, job, tuple(servers))


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
    tutorial_run: TutorialRun,
    running_run: TutorialRun,
    fleet_run: FleetRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ApiServer]:
    """``airflow api-server`` with the plugin, started after every DAG ran (one SQLite writer at a time)."""
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
        **fleet_run.run.connections,
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
