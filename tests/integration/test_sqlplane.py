"""The SQL data plane over HTTPS: the DB-API driver and the Airflow hook against the running emulator.

Servers and databases are created with the real ``azure-mgmt-sql`` client; T-SQL then goes through
``elasticjobs_emulator.dbapi`` exactly as the target-setup operator sends it in local mode.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from elasticjobs_emulator import dbapi
from tests.integration.executions_world import TUTORIAL_SQL
from tests.support.definitions import create_database, create_server
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration

ADMIN = "sqladmin"
ADMIN_PASSWORD = "Adm1n-Sql-Pass!"
JOB_PASSWORD = "password!123"
STEP1 = TUTORIAL_SQL.format(table="Step1Table")


@dataclass
class Server:
    """An emulated server with TargetDb1 and TargetDb2."""

    emulator: EmulatorProcess
    name: str

    def connect(
        self, database: str, user: str = ADMIN, password: str = ADMIN_PASSWORD, **kwargs
    ) -> dbapi.Connection:
        """A DB-API connection to ``database`` over HTTPS, trusting the emulator's certificate."""
        return self.emulator.sql_connection(self.name, database, user, password, **kwargs)

    def run(
        self,
        database: str,
        sql: str,
        params=None,
        user: str = ADMIN,
        password: str = ADMIN_PASSWORD,
        **kwargs,
    ) -> list[tuple]:
        """Run one batch (as the admin by default); return the rows of its first result set ([] if none)."""
        return self.emulator.run_sql(self.name, database, user, password, sql, params, **kwargs)


def create_target_server(emulator: EmulatorProcess, name: str) -> Server:
    """A server with TargetDb1 and TargetDb2, made with the real SDK in a fresh resource group."""
    rg = unique_name("rg")
    with emulator.management_client() as client:
        create_server(client, rg, name, admin_login=ADMIN, admin_password=ADMIN_PASSWORD)
        for db in ("TargetDb1", "TargetDb2"):
            create_database(client, rg, name, db)
    return Server(emulator, name)


@pytest.fixture(scope="module")
def server(emulator: EmulatorProcess) -> Iterator[Server]:
    """A server made with the real SDK, with the tutorial's logins set up through the driver."""
    srv = create_target_server(emulator, unique_name("sqlsrv"))
    srv.run("master", f"CREATE LOGIN jobuser WITH PASSWORD = '{JOB_PASSWORD}'")
    srv.run(
        "TargetDb1",
        "CREATE USER jobuser FROM LOGIN jobuser; GRANT ALTER ON SCHEMA::dbo TO jobuser; "
        "GRANT CREATE TABLE TO jobuser",
    )
    yield srv


def test_tutorial_step_runs_as_jobuser_where_it_has_a_user(server: Server) -> None:
    with server.connect("TargetDb1", "jobuser", JOB_PASSWORD) as conn:
        cur = conn.cursor()
        cur.execute(STEP1)
        cur.execute(STEP1)  # idempotent: the IF NOT EXISTS guard sees the table
        cur.execute("SELECT name FROM sys.tables WHERE name = ?", ("Step1Table",))
        assert cur.fetchall() == [("Step1Table",)]
        cur.execute("SELECT DB_NAME(), USER_NAME()")
        assert cur.fetchone() == ("TargetDb1", "jobuser")


def test_login_without_user_in_database_fails_like_azure(server: Server) -> None:
    with pytest.raises(dbapi.OperationalError) as info:
        server.connect("TargetDb2", "jobuser", JOB_PASSWORD)
    assert info.value.number == 18456
    assert "Login failed for user 'jobuser'." in str(info.value)


def test_wrong_password_and_unknown_server_and_database(server: Server) -> None:
    with pytest.raises(dbapi.OperationalError) as wrong:
        server.connect("master", ADMIN, "Not-The-Passw0rd")
    assert wrong.value.number == 18456
    assert "Not-The-Passw0rd" not in str(wrong.value)
    with pytest.raises(dbapi.OperationalError) as missing_db:
        server.connect("NoSuchDb")
    assert missing_db.value.number == 4060
    with pytest.raises(dbapi.OperationalError) as missing_server:
        Server(server.emulator, "no-such-server").connect("master")
    assert missing_server.value.number == 40532


def test_errors_map_to_dbapi_exceptions(server: Server) -> None:
    with pytest.raises(dbapi.NotSupportedError) as unsupported:
        server.run("TargetDb1", "EXEC sp_who")
    assert "'EXEC' is not supported by the emulator" in str(unsupported.value)
    with (
        server.connect("TargetDb1", "jobuser", JOB_PASSWORD) as conn,
        pytest.raises(dbapi.ProgrammingError) as denied,
    ):
        conn.cursor().execute("INSERT INTO Step1Table VALUES (1)")
    assert denied.value.number == 229
    with pytest.raises(dbapi.ProgrammingError) as thrown:
        server.run("TargetDb1", "PRINT 'before'; THROW 50001, 'custom failure', 1;")
    assert (thrown.value.number, thrown.value.messages) == (50001, ["before"])


def test_parameters_are_bound_as_literals_not_sql(server: Server) -> None:
    server.run("TargetDb1", "CREATE TABLE [dbo].[Params] ([v] NVARCHAR(100), [n] INT)")
    evil = "x'); DROP TABLE [Params]; --"
    with server.connect("TargetDb1") as conn:
        cur = conn.cursor()
        cur.executemany("INSERT INTO Params (v, n) VALUES (?, ?)", [(evil, 1), ("it's [ok]", None)])
        assert cur.rowcount == 2
        cur.execute("SELECT v, n FROM Params WHERE v = ? ORDER BY v", (evil,))
        assert cur.fetchall() == [(evil, 1)]
        cur.execute("SELECT COUNT(*) FROM sys.tables WHERE name = 'Params'; SELECT '?' AS q")
        assert cur.fetchone() == (1,)
        assert cur.nextset() and cur.fetchall() == [("?",)]


def test_messages_and_result_sets(server: Server) -> None:
    with server.connect("master") as conn:
        cur = conn.cursor()
        cur.execute(
            "PRINT 'hello'; SELECT name FROM sys.databases ORDER BY database_id; RAISERROR('n=%d', 10, 1, 7)"
        )
        assert cur.messages == ["hello", "n=7"]
        assert [r[0] for r in cur.fetchall()] == ["master", "TargetDb1", "TargetDb2"]
        assert cur.nextset() is None and cur.description is None


def test_batch_timeout_cancels_waitfor(server: Server) -> None:
    started = time.monotonic()
    with pytest.raises(dbapi.OperationalError) as info:
        server.run("TargetDb1", "WAITFOR DELAY '00:00:20'", timeout=0.3)
    assert info.value.number == 3980
    assert time.monotonic() - started < 5


def test_basic_auth_is_required_and_password_never_logged(server: Server) -> None:
    path = f"/_emulator/sql/servers/{server.name}/databases/master/query"
    with httpx.Client(base_url=server.emulator.url, verify=str(server.emulator.cert_path)) as client:
        response = client.post(path, json={"batch": "SELECT 1"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("basic")
    assert response.json()["error"]["number"] == 18456
    assert ADMIN_PASSWORD not in server.emulator.log_text()
    assert JOB_PASSWORD not in server.emulator.log_text()


def _emulator_sql_connection(server: Server, conn_id: str) -> None:
    """Register an ``elastic_jobs_emulator_sql`` connection for the admin in the environment."""
    import os

    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = server.emulator.sql_connection_json(
        server.name, ADMIN, ADMIN_PASSWORD
    )


def test_hook_reaches_each_database_through_get_hook(server: Server) -> None:
    from airflow_elasticjobs.compat import BaseHook
    from elasticjobs_emulator.hooks.emulator_sql import ElasticJobsEmulatorSqlHook

    _emulator_sql_connection(server, "sqlplane_admin")
    connection = BaseHook.get_connection("sqlplane_admin")
    for database in ("master", "TargetDb1"):
        hook = connection.get_hook(hook_params={"database": database})
        assert isinstance(hook, ElasticJobsEmulatorSqlHook)
        assert hook.get_first("SELECT DB_NAME()") == (database,)
    hook = ElasticJobsEmulatorSqlHook("sqlplane_admin", database="TargetDb1")
    hook.run("CREATE TABLE HookRows ([id] INT)")
    hook.insert_rows("HookRows", [(1,), (2,)], target_fields=["id"])
    assert hook.get_records("SELECT id FROM HookRows ORDER BY id") == [(1,), (2,)]
    assert hook.test_connection() == (True, "Connection successfully tested")
    assert ADMIN_PASSWORD not in hook.get_uri()


def test_target_setup_operator_in_a_dag_run_is_idempotent_and_quotes_names(
    emulator: EmulatorProcess, airflow_db, monkeypatch, capfd
) -> None:
    import json

    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator
    from tests.integration.provider.execution_support import run_dag, task_instance, unique_logical_date, xcom

    server = create_target_server(emulator, unique_name("setupsrv"))
    _emulator_sql_connection(server, "setup_admin")
    job_login, job_password = "job]user'; --", "pa'ss;word]1A!"
    for conn_id, login, password in (
        ("setup_masteruser", "masteruser", "Master-Passw0rd!"),
        ("setup_jobuser", job_login, job_password),
    ):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}",
            json.dumps({"conn_type": "generic", "login": login, "password": password}),
        )
    with DAG(unique_name("target_setup"), schedule=None) as dag:
        ElasticJobsTargetSetupOperator(
            task_id="setup",
            sql_conn_id="setup_admin",
            logins=[
                {"login_conn_id": "setup_masteruser", "master_user": True},
                {"login_conn_id": "setup_jobuser", "databases": ["TargetDb1", "TargetDb2"]},
            ],
        )
    first = run_dag(dag, unique_logical_date())
    assert task_instance(first, "setup").state == "success"
    assert xcom(first, "setup") == {
        "logins": {"masteruser": "created", job_login: "created"},
        "users": {
            "master": {"masteruser": "created"},
            "TargetDb1": {job_login: "created"},
            "TargetDb2": {job_login: "created"},
        },
    }
    second = run_dag(dag, unique_logical_date())
    assert xcom(second, "setup") == {
        "logins": {"masteruser": "existed", job_login: "existed"},
        "users": {
            "master": {"masteruser": "existed"},
            "TargetDb1": {job_login: "existed"},
            "TargetDb2": {job_login: "existed"},
        },
    }
    for db in ("TargetDb1", "TargetDb2"):  # the tutorial's step now runs as the job user
        server.run(db, STEP1, user=job_login, password=job_password)
        assert server.run(db, "SELECT name FROM sys.tables") == [("Step1Table",)]
    assert server.run("master", "SELECT USER_NAME()", user="masteruser", password="Master-Passw0rd!") == [
        ("masteruser",)
    ]
    output = capfd.readouterr()
    assert "WITH PASSWORD = N'***'" in output.out + output.err  # the batch was logged, redacted
    assert job_password not in output.out + output.err
    assert job_password not in emulator.log_text()
