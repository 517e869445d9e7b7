"""OpenLineage events of ElasticJobsStartJobOperator, and the operators without the OpenLineage provider.

Each DAG runs with ``dag.test()`` in a child process (the OpenLineage listener is chosen when Airflow
loads its plugins, once per interpreter):

* with the OpenLineage provider's file transport configured, the COMPLETE event of the start task
  is read back from the file: per-target-database inputs and outputs parsed from the T-SQL of a
  job over two databases, the step's output table, the unparsed step's databases and the run facets;
* with ``airflow.providers.openlineage`` and ``openlineage`` made unimportable
  (:mod:`tests.support.no_openlineage`), the same operator still starts and waits for a job, the
  execution sensor watches that execution, and a fleet query over two databases returns its rows.

The child is :mod:`tests.integration.provider.lineage_child`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_elasticjobs.dataset_names import namespace, table_name
from tests.integration.executions_world import JOB_PASSWORD, World, fast_options
from tests.integration.provider.execution_support import QUICK, START_TASK_ID, unique_logical_date
from tests.support.emulator import unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[3]
RESULTS_DB = "ResultsDb"
COPY_SQL = (
    "INSERT INTO dbo.OrdersCopy (id) SELECT id FROM Orders; "
    "SELECT DB_NAME() AS database_name, COUNT(*) AS n FROM dbo.OrdersCopy"
)
PAUSE_SQL = "WAITFOR DELAY '00:00:00.100'"
FAIL_SQL = "THROW 50000, 'Step failed on purpose', 1;"
CHILD_SECONDS = 180
OUTPUT_CONN_ID = "no_lineage_fleet_sql"


@pytest.fixture(scope="module")
def lineage_job(world: World) -> str:
    """A job over TargetDb1 and TargetDb2: ``copy`` (reads Orders, writes OrdersCopy, output table
    ResultsDb.dbo.CopyCounts) then ``pause`` (WAITFOR: no table for the parser)."""
    world.create_database(world.target_server, RESULTS_DB)
    world.grant_job_user(RESULTS_DB)
    for grant in ("SELECT", "INSERT", "DELETE"):
        world.sql(RESULTS_DB, f"GRANT {grant} ON SCHEMA::dbo TO jobuser")
    for database in world.databases:
        world.sql(database, "CREATE TABLE Orders (id INT); INSERT INTO Orders VALUES (1), (2)")
        world.sql(database, "CREATE TABLE OrdersCopy (id INT)")
        world.sql(database, "GRANT SELECT ON SCHEMA::dbo TO jobuser")
        world.sql(database, "GRANT INSERT ON SCHEMA::dbo TO jobuser")
    group = world.target_group("LineageGroup", [world.database_member(d) for d in world.databases])
    job = world.job(unique_name("LineageJob"), [])
    output = {
        "type": "SqlDatabase",
        "serverName": world.target_server,
        "databaseName": RESULTS_DB,
        "tableName": "CopyCounts",
        "credential": world.agent_path("credentials", "jobuser"),
    }
    for step, sql, extra in (("copy", COPY_SQL, {"output": output}), ("pause", PAUSE_SQL, {})):
        body = {
            "targetGroup": group,
            "credential": world.agent_path("credentials", "jobuser"),
            "action": {"type": "TSql", "source": "Inline", "value": sql},
            "executionOptions": fast_options(),
            **extra,
        }
        world.client.job_steps.create_or_update(
            world.rg, world.agent_server, world.agent, job, step, {"properties": body}
        )
    return job


def run_child(
    dag_id: str,
    job: str,
    workdir: Path,
    *,
    block_openlineage: bool,
    env: dict[str, str],
    fleet: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the start DAG for ``job`` (with ``fleet``: start, sensor, fleet query) in a child process
    (:mod:`tests.integration.provider.lineage_child`); return the outcome it wrote."""
    outcome_file = workdir / f"{dag_id}-outcome.json"
    spec = {
        "outcome_file": str(outcome_file),
        "dag_id": dag_id,
        "logical_date": unique_logical_date().isoformat(),
        "start": {**QUICK, "job_name": job, "deferrable": False},
        "fleet": fleet,
        "block_openlineage": block_openlineage,
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.integration.provider.lineage_child", json.dumps(spec)],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=CHILD_SECONDS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert outcome_file.exists(), output[-6000:]
    return json.loads(outcome_file.read_text())


def lineage_env(events_file: Path) -> dict[str, str]:
    """Airflow settings enabling the OpenLineage provider with its file transport."""
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "elasticjobs-tests",
        # The listener stops extraction and emission after this many seconds (default 10): generous
        # on a busy machine, so a slow child never loses the event.
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "90",
    }


def final_event(events_file: Path, dag_id: str, event_type: str) -> dict[str, Any]:
    """The one ``event_type`` (COMPLETE, FAIL) event of the start task in the file transport's output."""
    lines = events_file.read_text().splitlines() if events_file.exists() else []
    events = [json.loads(line) for line in lines if line.strip()]
    job = f"{dag_id}.{START_TASK_ID}"
    found = [e for e in events if e["eventType"] == event_type and e["job"]["name"] == job]
    assert len(found) == 1, f"{event_type} events of {job}: {[e['eventType'] for e in events]}"
    return found[0]


def names(datasets: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in datasets}


def test_complete_event_has_per_database_datasets_and_execution_facets(world, lineage_job, tmp_path):
    events_file = tmp_path / "openlineage.jsonl"
    dag_id = "start_lineage"
    outcome = run_child(dag_id, lineage_job, tmp_path, block_openlineage=False, env=lineage_env(events_file))
    assert (outcome["tasks"]["start"]["state"], outcome["provider_found"], outcome["importable"]) == (
        "success",
        True,
        True,
    )
    event = final_event(events_file, dag_id, "COMPLETE")

    space = namespace(world.target_server)
    assert names(event["inputs"]) == {
        (space, table_name(db, "dbo", table)) for db in world.databases for table in ("Orders", "OrdersCopy")
    }
    assert names(event["outputs"]) == (
        {(space, table_name(db, "dbo", "OrdersCopy")) for db in world.databases}
        | {(space, db) for db in world.databases}  # the unparsed step 'pause'
        | {(space, table_name(RESULTS_DB, "dbo", "CopyCounts"))}
    )
    facets = event["run"]["facets"]
    execution = facets["elasticJobsExecution"]
    job = world.client.jobs.get(world.rg, world.agent_server, world.agent, lineage_job)
    assert execution["executionId"] == outcome["tasks"]["start"]["xcom"]["execution_id"]
    assert (execution["jobName"], execution["jobVersion"]) == (lineage_job, job.version)
    assert (execution["lifecycle"], execution["targetCounts"]) == ("Succeeded", {"Succeeded": 4})
    assert [(s["stepName"], s["counts"]) for s in execution["stepCounts"]] == [
        ("copy", {"Succeeded": 2}),
        ("pause", {"Succeeded": 2}),
    ]
    assert execution["_schemaURL"].startswith("https://")
    error = facets["extractionError"]
    assert (error["totalTasks"], error["failedTasks"]) == (2, 1)
    assert [(e["task"], e["taskNumber"]) for e in error["errors"]] == [("pause", 2)]
    assert "no table" in error["errors"][0]["errorMessage"]


def test_a_failed_execution_fails_the_task_and_still_reports_its_lineage(world, tmp_path):
    group = world.target_group("LineageFailGroup", [world.database_member(d) for d in world.databases])
    job = world.job(unique_name("LineageFailJob"), [("boom", group, FAIL_SQL, fast_options())])
    events_file = tmp_path / "openlineage.jsonl"
    dag_id = "start_lineage_fail"
    outcome = run_child(dag_id, job, tmp_path, block_openlineage=False, env=lineage_env(events_file))
    assert outcome["tasks"]["start"]["state"] == "failed", outcome
    event = final_event(events_file, dag_id, "FAIL")

    space = namespace(world.target_server)
    assert (event["inputs"], names(event["outputs"])) == ([], {(space, db) for db in world.databases})
    execution = event["run"]["facets"]["elasticJobsExecution"]
    assert execution["executionId"] == outcome["tasks"]["start"]["xcom"]["execution_id"]
    assert (execution["lifecycle"], execution["targetCounts"]) == ("Failed", {"Failed": 2})
    assert event["run"]["facets"]["extractionError"]["errors"][0]["task"] == "boom"


def test_operators_work_without_the_openlineage_provider(world, lineage_job, tmp_path):
    """Start, the sensor on the finished execution and a fleet query over two databases."""
    group = unique_name("NoLineageFleetGroup")
    world.target_group(group, [world.database_member(d) for d in world.databases])
    fleet_job = unique_name("NoLineageFleet")
    fleet = {
        **QUICK,
        "job_name": fleet_job,
        "query": "SELECT COUNT(*) AS n FROM dbo.Orders",
        "target_group": group,
        "credential": "jobuser",
        "output_table": {
            "server_name": world.target_server,
            "database_name": RESULTS_DB,
            "table_name": "NoLineageCounts",
        },
        "output_conn_id": OUTPUT_CONN_ID,
        "step_options": {"retry_attempts": 0, "timeout_seconds": 60},
    }
    output_conn = world.emulator.sql_connection_json(world.target_server, "jobuser", JOB_PASSWORD)
    outcome = run_child(
        "operators_without_openlineage",
        lineage_job,
        tmp_path,
        block_openlineage=True,
        env={f"AIRFLOW_CONN_{OUTPUT_CONN_ID.upper()}": output_conn},
        fleet=fleet,
    )
    assert (outcome["provider_found"], outcome["importable"]) == (False, False), outcome
    tasks = outcome["tasks"]
    assert {task_id: task["state"] for task_id, task in tasks.items()} == dict.fromkeys(
        ("start", "wait", "fleet"), "success"
    ), outcome
    started, waited, queried = (tasks[t]["xcom"] for t in ("start", "wait", "fleet"))
    assert (started["lifecycle"], started["counts"]) == ("Succeeded", {"Succeeded": 4})
    assert (waited["execution_id"], waited["lifecycle"]) == (started["execution_id"], "Succeeded")
    assert (queried["lifecycle"], queried["row_count"]) == ("Succeeded", 2)
    assert queried["rows"] == [
        {"target_server_name": world.target_server, "target_database_name": database, "n": 2}
        for database in sorted(world.databases)
    ]
