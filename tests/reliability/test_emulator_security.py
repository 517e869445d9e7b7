"""Emulator security (docs/reliability.md): bearer token on every ARM path family and the test controls,
a reader service principal refused every write, issued tokens refused by the test controls,
loopback-only default bind, SQL logins on the data plane, and quoting wherever SQL is generated.

Everything runs against the emulator as a real process over HTTPS on 127.0.0.1; the injection tests
drive the real target-setup operator (``dag.test()``) and the emulator's own T-SQL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from elasticjobs_emulator import dbapi
from tests.reliability.conftest import canary
from tests.support.definitions import ADMIN_LOGIN, ADMIN_PASSWORD, create_agent_setup, create_database
from tests.support.emulator import API_VERSION, READY_PREFIX, EmulatorProcess, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# One route per ARM resource kind (and method), as templates over the names built in ``world``.
ARM_ROUTES = [
    ("GET", "servers"),
    ("PUT", "servers/{server}"),
    ("GET", "servers/{server}/databases/{database}"),
    ("DELETE", "servers/{server}/databases/{database}"),
    ("GET", "servers/{server}/jobAgents"),
    ("PATCH", "servers/{server}/jobAgents/{agent}"),
    ("GET", "servers/{server}/jobAgents/{agent}/credentials"),
    ("PUT", "servers/{server}/jobAgents/{agent}/credentials/c1"),
    ("GET", "servers/{server}/jobAgents/{agent}/targetGroups"),
    ("PUT", "servers/{server}/jobAgents/{agent}/targetGroups/g1"),
    ("GET", "servers/{server}/jobAgents/{agent}/jobs"),
    ("PUT", "servers/{server}/jobAgents/{agent}/jobs/j1"),
    ("GET", "servers/{server}/jobAgents/{agent}/jobs/j1/steps"),
    ("PUT", "servers/{server}/jobAgents/{agent}/jobs/j1/steps/s1"),
    ("GET", "servers/{server}/jobAgents/{agent}/jobs/j1/versions"),
    ("POST", "servers/{server}/jobAgents/{agent}/jobs/j1/start"),
    ("GET", "servers/{server}/jobAgents/{agent}/executions"),
    ("PUT", "servers/{server}/jobAgents/{agent}/jobs/j1/executions/{execution}"),
    ("POST", "servers/{server}/jobAgents/{agent}/jobs/j1/executions/{execution}/cancel"),
    ("GET", "servers/{server}/jobAgents/{agent}/jobs/j1/executions/{execution}/steps"),
    ("GET", "servers/{server}/jobAgents/{agent}/jobs/j1/executions/{execution}/targets"),
    ("GET", "locations/westus2/jobAgentAzureAsyncOperation/op1"),
]
CONTROL_ROUTES = [
    ("GET", "/_emulator/counters"),
    ("DELETE", "/_emulator/counters"),
    ("GET", "/_emulator/faults"),
    ("PUT", "/_emulator/faults"),
    ("DELETE", "/_emulator/faults"),
    ("POST", "/_emulator/reset"),
    ("GET", "/_emulator/principals"),
    ("PUT", "/_emulator/principals/intruder"),
    ("DELETE", "/_emulator/principals/intruder"),
]
# Names with every character that ends a bracketed identifier, a string literal or a statement.
HOSTILE_LOGIN = "x]; DROP TABLE t;--"
HOSTILE_PASSWORD = "Pa'ss]w0rd'); DROP TABLE t;--"
HOSTILE_DATABASE = "db]'; DROP TABLE t;--"


@pytest.fixture(scope="module")
def world(emulator: EmulatorProcess) -> dict[str, str]:
    """A server with a Ready agent, a job ``j1`` with one execution: real ids for every route."""
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
        client.job_credentials.create_or_update(
            *setup.names(), "c1", {"properties": {"username": "u", "password": canary("password")}}
        )
        client.jobs.create_or_update(*setup.names(), "j1", {"properties": {}})
        execution = client.job_executions.begin_create_or_update(*setup.names(), "j1", str(uuid.uuid4()))
        execution = execution.result()
    return {
        "resource_group": setup.resource_group,
        "server": setup.server,
        "database": setup.job_database,
        "agent": setup.agent,
        "execution": execution.name,
    }


def _arm_url(emulator: EmulatorProcess, world: dict[str, str], template: str) -> str:
    path = template.format(**world)
    if path.startswith("locations/"):
        prefix = f"/subscriptions/{emulator.subscription_id}/providers/Microsoft.Sql/"
        return prefix + path
    return emulator.arm_path(world["resource_group"], path)


def _definitions_snapshot(emulator: EmulatorProcess, world: dict[str, str]) -> list[Any]:
    """What a rejected write could have changed: credentials, groups, jobs, steps, executions."""
    with emulator.management_client() as client:
        args = (world["resource_group"], world["server"], world["agent"])
        return [
            sorted(c.name for c in client.job_credentials.list_by_agent(*args)),
            sorted(g.name for g in client.job_target_groups.list_by_agent(*args)),
            sorted(j.name for j in client.jobs.list_by_agent(*args)),
            sorted(s.name for s in client.job_steps.list_by_job(*args, "j1")),
            sorted(e.name for e in client.job_executions.list_by_agent(*args)),
            client.job_agents.get(*args).properties.state,
        ]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dXNlcjpwdw=="])
@pytest.mark.parametrize(("method", "template"), ARM_ROUTES, ids=[f"{m} {t}" for m, t in ARM_ROUTES])
def test_every_arm_route_needs_the_token(
    emulator: EmulatorProcess, world: dict[str, str], method: str, template: str, authorization: str | None
) -> None:
    """No token or a wrong one: 401 with the ARM error shape, and nothing changes."""
    before = _definitions_snapshot(emulator, world)
    headers = {} if authorization is None else {"Authorization": authorization}
    body = {"properties": {"username": "attacker", "password": "x"}} if method in ("PUT", "PATCH") else None
    with httpx.Client(verify=str(emulator.cert_path), timeout=30) as http:
        response = http.request(
            method,
            emulator.url + _arm_url(emulator, world, template),
            params={"api-version": API_VERSION},
            headers=headers,
            json=body,
        )
    assert response.status_code == 401, response.text
    assert set(response.json()["error"]) >= {"code", "message"}
    assert emulator.token not in response.text
    assert _definitions_snapshot(emulator, world) == before


def test_the_same_routes_work_with_the_token(emulator: EmulatorProcess, world: dict[str, str]) -> None:
    """The parametrised 401s are about the token: with it, every GET route above is served."""
    with emulator.http() as http:
        for method, template in ARM_ROUTES:
            if method == "GET":
                response = http.get(_arm_url(emulator, world, template), params={"api-version": API_VERSION})
                expected = 404 if template.endswith("/op1") else 200  # op1: no such operation
                assert response.status_code == expected, (template, response.text)


@pytest.mark.parametrize(("method", "path"), CONTROL_ROUTES, ids=[f"{m} {p}" for m, p in CONTROL_ROUTES])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token"])
def test_test_controls_need_the_token(
    emulator: EmulatorProcess, method: str, path: str, authorization: str | None
) -> None:
    """Fault injection, counters and reset are as protected as ARM (a fault rule is an attack tool)."""
    headers = {} if authorization is None else {"Authorization": authorization}
    rules = {"rules": [{"kind": "500", "path": "/", "probability": 1.0}]}
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path), timeout=30) as http:
        response = http.request(method, path, headers=headers, json=rules if method == "PUT" else None)
    assert response.status_code == 401
    assert emulator.control("GET", "faults")["rules"] == []


@pytest.fixture(scope="module")
def reader_token(emulator: EmulatorProcess) -> str:
    """An access token of a ``reader`` service principal, from the emulator's token endpoint."""
    client_id, secret = unique_name("reader"), canary("client-secret")
    emulator.register_principal(client_id, secret, role="reader")
    return emulator.issue_token(client_id, secret)


@pytest.mark.parametrize(("method", "template"), ARM_ROUTES, ids=[f"{m} {t}" for m, t in ARM_ROUTES])
def test_a_reader_may_read_every_route_but_write_none(
    emulator: EmulatorProcess, world: dict[str, str], reader_token: str, method: str, template: str
) -> None:
    """A reader's GETs are served; every PUT/PATCH/DELETE/POST is 403 ``AuthorizationFailed`` naming
    the action, and nothing changes."""
    before = _definitions_snapshot(emulator, world)
    body = {"properties": {"username": "attacker", "password": "x"}} if method in ("PUT", "PATCH") else None
    with emulator.http(token=reader_token) as http:
        response = http.request(
            method, _arm_url(emulator, world, template), params={"api-version": API_VERSION}, json=body
        )
    if method == "GET":
        assert response.status_code == (404 if template.endswith("/op1") else 200), response.text
    else:
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "AuthorizationFailed"
        assert "does not have authorization to perform action 'Microsoft.Sql/servers" in error["message"]
    assert reader_token not in response.text
    assert _definitions_snapshot(emulator, world) == before


@pytest.mark.parametrize(("method", "path"), CONTROL_ROUTES, ids=[f"{m} {p}" for m, p in CONTROL_ROUTES])
def test_test_controls_refuse_issued_tokens(emulator: EmulatorProcess, method: str, path: str) -> None:
    """Only the static token opens the test controls: a contributor's issued token gets 401."""
    client_id, secret = unique_name("contributor"), canary("client-secret")
    emulator.register_principal(client_id, secret)
    with emulator.http(token=emulator.issue_token(client_id, secret)) as http:
        response = http.request(method, path, json={"secret": "x"} if method == "PUT" else None)
    assert response.status_code == 401
    assert "intruder" not in emulator.principals()


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket in LISTEN state on ``port`` (Linux ``/proc/net/tcp[6]``)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                raw = bytes.fromhex(address)
                if len(raw) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def _other_local_address() -> str | None:
    """A non-loopback address of this machine, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def default_emulator(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The emulator started with no ``--host`` (and no ``ELASTIC_JOBS_EMULATOR_HOST``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELASTIC_JOBS_EMULATOR_")}
    log = tmp_path / "emulator.log"
    command = [sys.executable, "-m", "elasticjobs_emulator", "--port", "0"]
    command += ["--state-dir", str(tmp_path / "state"), "--token", canary("token")]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            ready = [line for line in log.read_text().splitlines() if line.startswith(READY_PREFIX)]
            if ready:
                yield process, ready[0][len(READY_PREFIX) :].split(" ", 1)[0]
                return
            time.sleep(0.05)
        pytest.fail(f"emulator did not start: {log.read_text()[-2000:]}")
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_default_bind_is_loopback_only(default_emulator: tuple[subprocess.Popen[bytes], str]) -> None:
    """Without ``--host`` the emulator listens on 127.0.0.1 only, never on 0.0.0.0 or another NIC."""
    _process, url = default_emulator
    port = int(url.rsplit(":", 1)[1])
    assert url.startswith("https://127.0.0.1:")
    assert _listening_addresses(port) == {"127.0.0.1"}
    other = _other_local_address()
    if other is not None:
        with pytest.raises(OSError), socket.create_connection((other, port), timeout=2):
            pass


# -- SQL data plane: SQL logins ---------------------------------------------------------------------
def _query_url(emulator: EmulatorProcess, server: str, database: str) -> str:
    return f"{emulator.url}/_emulator/sql/servers/{server}/databases/{database}/query"


@pytest.fixture(scope="module")
def sql_server(emulator: EmulatorProcess) -> str:
    """A target server with one database ``Db1`` and a login ``nouser`` that has no user there."""
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
        create_database(client, setup.resource_group, setup.server, "Db1")
    admin_sql(emulator, setup.server, "master", "CREATE LOGIN [nouser] WITH PASSWORD = N'Other-Pw-19!';")
    return setup.server


def admin_sql(emulator: EmulatorProcess, server: str, database: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one batch as the server admin through the DB-API driver; rows of the last result set."""
    return emulator.run_sql(server, database, ADMIN_LOGIN, ADMIN_PASSWORD, sql)


@pytest.mark.parametrize(
    ("authorization", "number"),
    [
        (None, 18456),
        ("Bearer {token}", 18456),  # the ARM token is not a SQL login
        ("Basic " + "c2VydmVyYWRtaW46d3Jvbmc=", 18456),  # serveradmin:wrong
        ("Basic " + "bm9ib2R5Ok5vYm9keS1QdzEh", 18456),  # nobody:Nobody-Pw1!
    ],
    ids=["no auth", "bearer token", "wrong password", "unknown login"],
)
def test_sql_plane_needs_a_valid_login(
    emulator: EmulatorProcess, sql_server: str, authorization: str | None, number: int
) -> None:
    """No Basic auth, the ARM token or a wrong login: 401 Msg 18456 and the batch does not run."""
    headers = {} if authorization is None else {"Authorization": authorization.format(token=emulator.token)}
    with httpx.Client(verify=str(emulator.cert_path), timeout=30) as http:
        response = http.post(
            _query_url(emulator, sql_server, "Db1"),
            headers=headers,
            json={"batch": "CREATE TABLE [dbo].[Intruder]([Id] [int] NOT NULL);"},
        )
    assert response.status_code == 401
    assert response.json()["error"]["number"] == number
    assert "Login failed" in response.json()["error"]["message"]
    assert "Intruder" not in _tables(emulator, sql_server, "Db1")


def test_login_without_a_user_in_the_database_fails_to_log_in(
    emulator: EmulatorProcess, sql_server: str
) -> None:
    """A valid login with no user in the database cannot open it (like Azure SQL), but can open master."""
    with pytest.raises(dbapi.Error, match="Login failed for user 'nouser'"):
        emulator.run_sql(sql_server, "Db1", "nouser", "Other-Pw-19!", "SELECT 1")
    with pytest.raises(dbapi.Error, match="Login failed"):
        emulator.run_sql(sql_server, "master", "nouser", "wrong-password", "SELECT 1")


def _tables(emulator: EmulatorProcess, server: str, database: str) -> list[str]:
    return [row[0] for row in admin_sql(emulator, server, database, "SELECT name FROM sys.tables")]


# -- quoting wherever SQL is generated ---------------------------------------------------------------
def test_emulator_tsql_treats_hostile_names_and_literals_as_data(
    emulator: EmulatorProcess, sql_server: str
) -> None:
    """Bracketed identifiers with ``]]`` and literals with ``''`` never end the statement."""
    table = "t]; DROP TABLE t;--"
    quoted_table = "[" + table.replace("]", "]]") + "]"
    value = "it's'); DROP TABLE t;--"
    admin_sql(emulator, sql_server, "Db1", "CREATE TABLE [dbo].[t]([Id] [int] NOT NULL);")
    admin_sql(
        emulator,
        sql_server,
        "Db1",
        f"CREATE TABLE [dbo].{quoted_table}([Note] [nvarchar](100) NOT NULL); "
        f"INSERT INTO [dbo].{quoted_table} ([Note]) VALUES (N'{value.replace(chr(39), chr(39) * 2)}');",
    )
    assert {"t", table} <= set(_tables(emulator, sql_server, "Db1"))
    assert admin_sql(emulator, sql_server, "Db1", f"SELECT [Note] FROM [dbo].{quoted_table}") == [(value,)]


def test_dbapi_parameters_are_bound_as_literals(emulator: EmulatorProcess, sql_server: str) -> None:
    """The DB-API driver (``qmark``) turns each ``?`` into a quoted literal: values cannot end it."""
    value = "x'); DROP TABLE [dbo].[Victim]; --"
    with emulator.sql_connection(sql_server, "Db1", ADMIN_LOGIN, ADMIN_PASSWORD) as connection:
        cursor = connection.cursor()
        cursor.execute("CREATE TABLE [dbo].[Victim]([Id] [int] NOT NULL);")
        cursor.execute("CREATE TABLE [dbo].[Params]([Note] [nvarchar](100) NOT NULL);")
        cursor.execute("INSERT INTO [dbo].[Params] ([Note]) VALUES (?);", (value,))
        cursor.execute("SELECT [Note] FROM [dbo].[Params] WHERE [Note] = ?;", (value,))
        assert [tuple(row) for row in cursor.fetchall()] == [(value,)]
    assert "Victim" in _tables(emulator, sql_server, "Db1")


@pytest.fixture
def hostile_target(
    emulator: EmulatorProcess, airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A target server with ``t`` in master and in a database whose name is hostile, and the
    Airflow connections of the target-setup operator (a login and password that are hostile too)."""
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
        create_database(client, setup.resource_group, setup.server, HOSTILE_DATABASE)
    quoted_db = "[" + HOSTILE_DATABASE.replace("]", "]]") + "]"
    for database in ("master", HOSTILE_DATABASE):
        admin_sql(emulator, setup.server, database, "CREATE TABLE [dbo].[t]([Id] [int] NOT NULL);")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SEC_TARGET_SQL", emulator.sql_connection_json(setup.server, ADMIN_LOGIN, ADMIN_PASSWORD)
    )
    hostile_login = {"conn_type": "generic", "login": HOSTILE_LOGIN, "password": HOSTILE_PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_SEC_HOSTILE_LOGIN", json.dumps(hostile_login))
    return {"server": setup.server, "quoted_db": quoted_db}


def test_target_setup_quotes_hostile_login_password_and_database(
    emulator: EmulatorProcess, hostile_target: dict[str, Any]
) -> None:
    """The login ``x]; DROP TABLE t;--`` with password ``Pa'ss]w0rd'); …`` in database ``db]'; …``:
    exactly that login and user are created, the password works, and no table ``t`` is dropped."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator
    from tests.integration.provider.execution_support import run_dag, task_instance, xcom

    with DAG(unique_name("sec_target_setup").replace("-", "_"), schedule=None) as dag:
        ElasticJobsTargetSetupOperator(
            task_id="setup",
            sql_conn_id="sec_target_sql",
            logins=[
                {
                    "login_conn_id": "sec_hostile_login",
                    "master_user": True,
                    "databases": [HOSTILE_DATABASE],
                }
            ],
        )
    dag_run = run_dag(dag)
    assert task_instance(dag_run, "setup").state == "success"
    assert xcom(dag_run, "setup") == {
        "logins": {HOSTILE_LOGIN: "created"},
        "users": {"master": {HOSTILE_LOGIN: "created"}, HOSTILE_DATABASE: {HOSTILE_LOGIN: "created"}},
    }
    server = hostile_target["server"]
    logins = [row[0] for row in admin_sql(emulator, server, "master", "SELECT name FROM sys.sql_logins")]
    assert HOSTILE_LOGIN in logins
    assert not [name for name in logins if name != HOSTILE_LOGIN and "DROP" in name]
    for database in ("master", HOSTILE_DATABASE):
        assert "t" in _tables(emulator, server, database), f"table t was dropped in {database}"
        users = admin_sql(emulator, server, database, "SELECT name FROM sys.database_principals")
        assert (HOSTILE_LOGIN,) in users
    # The hostile password is the login's password, byte for byte: the login can work with it.
    emulator.run_sql(
        server,
        HOSTILE_DATABASE,
        HOSTILE_LOGIN,
        HOSTILE_PASSWORD,
        "CREATE TABLE [Mine]([Id] [int]);",
    )
    assert "Mine" in _tables(emulator, server, HOSTILE_DATABASE)
    with pytest.raises(dbapi.Error, match="Login failed"):
        emulator.run_sql(server, HOSTILE_DATABASE, HOSTILE_LOGIN, "Pa", "SELECT 1")
