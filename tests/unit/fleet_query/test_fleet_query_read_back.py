"""The fleet query's read-back through an ``odbc`` connection (Azure): the real OdbcHook, no network.

The connection is the one docs/fleet-queries.md ("Azure") tells users to add; nothing connects:
the test checks the hook the operator gets for the output database and the SELECT it runs there.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_elasticjobs.operators.fleet_query import ElasticJobsFleetQueryOperator

pytest.importorskip("pyodbc", reason="OdbcHook needs pyodbc with the unixODBC library (libodbc2)")

CONN_ID = "fleet_results_sql"
#: docs/fleet-queries.md, "Azure": one odbc connection per output server.
ODBC_CONNECTION = {
    "conn_type": "odbc",
    "host": "results-srv.database.windows.net",
    "port": 1433,
    "login": "reportreader",
    "password": "Reader-Password-1",
    "schema": "FleetResults",
    "extra": {"driver": "ODBC Driver 18 for SQL Server", "Encrypt": "yes"},
}


def fleet_operator(**output: Any) -> ElasticJobsFleetQueryOperator:
    return ElasticJobsFleetQueryOperator(
        task_id="fleet",
        job_name="FleetIndexFragmentation",
        query="SELECT DB_NAME() AS db",
        target_group="AllDatabases",
        credential="jobuser",
        output_table={"server_name": "results-srv", "table_name": "IndexFragmentation", **output},
        output_conn_id=CONN_ID,
    )


@pytest.fixture
def odbc_connection(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The documented connection, with the ODBC provider's setting that lets its extra name the driver."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(ODBC_CONNECTION))
    monkeypatch.setenv("AIRFLOW__PROVIDERS_ODBC__ALLOW_DRIVER_IN_EXTRA", "True")
    return ODBC_CONNECTION


def test_an_odbc_connection_reads_back_through_odbchook_on_the_output_database(
    odbc_connection: dict[str, Any], no_network: list[Any]
) -> None:
    from airflow.providers.odbc.hooks.odbc import OdbcHook

    op = fleet_operator(database_name="ResultsArchive", schema_name="reports")
    hook, sql = op._read_back(op._output())

    assert type(hook) is OdbcHook
    # The output database, not the connection's schema: one connection per output server.
    assert (hook.database, hook.odbc_conn_id) == ("ResultsArchive", CONN_ID)
    parts = hook.odbc_connection_string.split(";")
    for part in (
        "DRIVER={ODBC Driver 18 for SQL Server}",
        "SERVER=results-srv.database.windows.net",
        "PORT=1433",
        "DATABASE=ResultsArchive",
        "UID=reportreader",
        "Encrypt=yes",
    ):
        assert part in parts, hook.odbc_connection_string
    # pyodbc binds qmark parameters only (PEP 249 paramstyle 'qmark').
    assert sql == (
        "SELECT * FROM [reports].[IndexFragmentation] WHERE [job_execution_id] = ? "
        "ORDER BY [target_server_name], [target_database_name]"
    )
    assert no_network == []


def test_a_placeholder_set_in_the_connection_extra_is_kept(
    odbc_connection: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {**odbc_connection["extra"], "placeholder": "%s"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({**odbc_connection, "extra": extra}))
    op = fleet_operator(database_name="FleetResults")
    _, sql = op._read_back(op._output())
    assert "[job_execution_id] = %s " in sql
