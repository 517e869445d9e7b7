"""ElasticJobsFleetQueryOperator end to end: real azure-mgmt-sql over HTTPS, the emulator, dag.test().

The rows the operator returns are compared with what each database answers when the same query is
run on it directly (SQL data plane, DB-API driver, as the server admin).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.dags.harness import failed_tasks as failed_tasks_of
from tests.integration.executions_world import ADMIN, ADMIN_PASSWORD, JOB_PASSWORD, World
from tests.integration.provider.execution_support import (
    CONN_ID,
    QUICK,
    connection_json,
    executions_of,
    run_dag,
    task_instance,
    unique_logical_date,
    xcom,
)
from tests.support.emulator import unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FLEET = tuple(f"FleetDb{i:03d}" for i in range(100))
SMALL = FLEET[:5]
NO_USER_DB = "NoJobUserDb"  # jobuser has no user here: its target fails (Msg 18456)
RESULTS_DB = "ResultsDb"
OUTPUT_CONN_ID = "fleet_output_sql"
# Two rows per database (master and itself), values that differ per database and per run.
QUERY = "SELECT name, database_id, (SELECT COUNT(*) FROM sys.tables) AS table_count FROM sys.databases"
FAST_STEP = {"retry_attempts": 0, "timeout_seconds": 60}


@pytest.fixture(scope="module")
def world(emulator, airflow_db) -> Iterator[World]:
    """100 target databases with the tutorial's job user, a results database, both connections."""
    with emulator.management_client() as client, pytest.MonkeyPatch.context() as patch:
        built = World(emulator, client, unique_name("rg"), databases=FLEET).build()
        for database in (RESULTS_DB, NO_USER_DB):
            built.create_database(built.target_server, database)
        built.output_writer("outputuser", RESULTS_DB)
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(built))
        patch.setenv(
            f"AIRFLOW_CONN_{OUTPUT_CONN_ID.upper()}",
            emulator.sql_connection_json(built.target_server, "outputuser", JOB_PASSWORD),
        )
        yield built


def _group(world: World, databases: tuple[str, ...]) -> str:
    name = unique_name("grp")
    world.target_group(name, [world.database_member(d) for d in databases])
    return name


def _dag(world: World, dag_id: str, group: str, table: str, **kwargs: Any) -> Any:
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.fleet_query import ElasticJobsFleetQueryOperator

    with DAG(dag_id, schedule=None, catchup=False) as dag:
        ElasticJobsFleetQueryOperator(
            task_id="fleet",
            elastic_jobs_conn_id=CONN_ID,
            job_name=dag_id,
            query=QUERY,
            target_group=group,
            credential="jobuser",
            output_table={
                "server_name": world.target_server,
                "database_name": RESULTS_DB,
                "table_name": f"{dag_id}_rows",
                "credential": "outputuser",
            },
            output_conn_id=OUTPUT_CONN_ID,
            step_options=FAST_STEP,
            retry_delay=timedelta(seconds=0),
            **{**QUICK, **kwargs},
        )
    return dag


def _expected(world: World, databases: tuple[str, ...]) -> list[dict[str, Any]]:
    """The query run on each database directly, as the server admin, with the target columns."""
    rows = []
    for database in databases:
        for name, database_id, table_count in world.emulator.run_sql(
            world.target_server, database, ADMIN, ADMIN_PASSWORD, QUERY
        ):
            rows.append(
                {
                    "target_server_name": world.target_server,
                    "target_database_name": database,
                    "name": name,
                    "database_id": database_id,
                    "table_count": table_count,
                }
            )
    return _sorted(rows)


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["target_database_name"], str(r["name"])))


def _table_rows(world: World, table: str) -> int:
    result = world.sql(RESULTS_DB, f"SELECT COUNT(*) FROM [dbo].[{table}]")
    return result["result_sets"][0]["rows"][0][0]


def test_xcom_rows_of_100_databases_equal_each_databases_answer_and_exclude_earlier_runs(
    world: World,
) -> None:
    """Two runs: each returns exactly its own execution's rows, equal to the databases' answers."""
    dag_id = unique_name("fleet_xcom").replace("-", "_")
    group = _group(world, FLEET)

    first = run_dag(_dag(world, dag_id, group, "rows", max_xcom_rows=500), unique_logical_date())
    assert first.state == "success", failed_tasks_of(first)
    first_result = xcom(first, "fleet")
    assert first_result["lifecycle"] == "Succeeded"
    assert first_result["row_count"] == 200
    assert _sorted(first_result["rows"]) == _expected(world, FLEET)

    world.sql(FLEET[7], "CREATE TABLE [dbo].[added_between_runs] (id INT)")  # changes that db's rows
    second = run_dag(_dag(world, dag_id, group, "rows", max_xcom_rows=500), unique_logical_date())
    assert second.state == "success", failed_tasks_of(second)
    second_result = xcom(second, "fleet")
    assert second_result["execution_id"] != first_result["execution_id"]
    assert _table_rows(world, f"{dag_id}_rows") == 400  # both executions' rows are in the table
    assert second_result["row_count"] == 200
    assert _sorted(second_result["rows"]) == _expected(world, FLEET)
    changed = [r for r in second_result["rows"] if r["target_database_name"] == FLEET[7]]
    assert {r["table_count"] for r in changed} == {1}


def test_more_rows_than_max_xcom_rows_fail_the_task_and_a_retry_does_not_run_the_query_again(
    world: World,
) -> None:
    dag_id = unique_name("fleet_cap").replace("-", "_")
    dag = _dag(world, dag_id, _group(world, SMALL), "rows", max_xcom_rows=9, retries=1)
    dag_run = run_dag(dag, unique_logical_date())
    assert dag_run.state == "failed"
    assert task_instance(dag_run, "fleet").try_number == 2
    assert len(executions_of(world, dag_id)) == 1  # the retry re-attached to the finished execution
    assert _table_rows(world, f"{dag_id}_rows") == 10  # the job ran once; only reading back refused


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_mode_writes_every_row_and_returns_path_and_count(
    world: World, tmp_path: Path, suffix: str
) -> None:
    dag_id = unique_name("fleet_file").replace("-", "_")
    path = tmp_path / f"rows{suffix}"
    dag_run = run_dag(
        _dag(world, dag_id, _group(world, SMALL), "rows", output_path=f"file://{path}"), unique_logical_date()
    )
    assert dag_run.state == "success", failed_tasks_of(dag_run)
    result = xcom(dag_run, "fleet")
    assert "rows" not in result
    assert result["row_count"] == 10
    assert result["format"] == suffix[1:]
    assert result["path"] == f"file://{path}"
    expected = _expected(world, SMALL)
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            written = list(csv.DictReader(handle))
        expected = [{k: str(v) for k, v in row.items()} for row in expected]
    else:
        import pyarrow.parquet as pq

        written = pq.read_table(path).to_pylist()
    assert list(written[0]) == [
        "target_server_name",
        "target_database_name",
        "name",
        "database_id",
        "table_count",
    ]
    assert _sorted(written) == expected


def test_a_failing_target_fails_the_task_by_default_and_not_when_failed_is_not_in_fail_on(
    world: World,
) -> None:
    databases = (*SMALL[:3], NO_USER_DB)
    group = _group(world, databases)

    strict_id = unique_name("fleet_strict").replace("-", "_")
    strict = run_dag(_dag(world, strict_id, group, "rows"), unique_logical_date())
    assert strict.state == "failed"
    summary = xcom(strict, "fleet")
    assert summary["lifecycle"] == "Failed"
    assert "rows" not in summary

    lenient_id = unique_name("fleet_lenient").replace("-", "_")
    lenient = run_dag(
        _dag(world, lenient_id, group, "rows", fail_on=("TimedOut", "Canceled", "Skipped")),
        unique_logical_date(),
    )
    assert lenient.state == "success", failed_tasks_of(lenient)
    result = xcom(lenient, "fleet")
    assert result["lifecycle"] == "Failed"
    assert _sorted(result["rows"]) == _expected(world, SMALL[:3])
    failed = [t for t in result["targets"] if t.get("lifecycle") == "Failed" and t.get("database_name")]
    assert [t["database_name"] for t in failed] == [NO_USER_DB]


def test_no_target_succeeding_fails_the_read_even_when_failed_is_not_in_fail_on(world: World) -> None:
    dag_id = unique_name("fleet_none").replace("-", "_")
    dag = _dag(
        world, dag_id, _group(world, (NO_USER_DB,)), "rows", fail_on=("TimedOut", "Canceled", "Skipped")
    )
    dag_run = run_dag(dag, unique_logical_date())
    assert dag_run.state == "failed"
    assert [e.lifecycle for e in executions_of(world, dag_id)] == ["Failed"]
    tables = world.sql(RESULTS_DB, "SELECT name FROM sys.tables")["result_sets"][0]["rows"]
    assert [f"{dag_id}_rows"] not in tables
