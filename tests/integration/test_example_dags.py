"""Every example DAG parses fast without the Azure SDK, and the non-tutorial ones run against the emulator.

The retention and monitoring DAGs need what the tutorial sets up (agent, logins, Job1 on an hourly
agent schedule), so the module first runs the tutorial DAG once for fresh names.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from airflow_elasticjobs.dataset_names import database_uri
from tests.dags.harness import (
    EXAMPLE_DAGS,
    TutorialWorld,
    failed_tasks,
    load_example_dag,
    run_dag,
    tutorial_world,
)
from tests.integration.provider.execution_support import serialize_dag, xcom

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

EXAMPLE_DAG_IDS = {
    "elastic_jobs_tutorial",
    "elastic_jobs_tutorial_managed_identity",  # run by tests/integration/test_tutorial_managed_identity.py
    "elastic_jobs_hourly_retention",
    "elastic_jobs_monitor_agent_schedule",
    "elastic_jobs_fleet_database_sizes",
    "elastic_jobs_job1_asset_events",
    "elastic_jobs_after_job1_targetdb1",
    "elastic_jobs_after_job1_targetdb2",
}
# Parse in a fresh interpreter so nothing a test imported earlier hides an import at parse time.
_PARSE_SCRIPT = """
import json, sys, time
from tests.compat.airflow_versions import DagBag
started = time.monotonic()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "seconds": time.monotonic() - started,
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {str(k): v for k, v in bag.import_errors.items()},
    "azure_modules": sorted(m for m in sys.modules if m == "azure" or m.startswith("azure.")),
}))
"""


def test_example_dags_parse_fast_without_importing_the_azure_sdk(airflow_db) -> None:
    """A DagBag over ``example_dags/`` has every DAG, no import error and no ``azure.*`` module loaded."""
    result = subprocess.run(
        [sys.executable, "-c", _PARSE_SCRIPT, str(EXAMPLE_DAGS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed["import_errors"] == {}
    assert set(parsed["dag_ids"]) == EXAMPLE_DAG_IDS
    assert parsed["azure_modules"] == []
    assert parsed["seconds"] < 10, f"parsing the example DAGs took {parsed['seconds']:.1f} s"


# The tutorial's steps in its order; create_target_db1/db2 may run in parallel.
TUTORIAL_ORDER = [
    "create_agent_server",
    "create_job_database",
    "create_target_server",
    ("create_target_db1", "create_target_db2"),
    "create_job_agent",
    "create_target_logins_and_users",
    "create_credential_masteruser",
    "create_credential_jobuser",
    "create_target_group_server_group",
    "create_target_group_server_group_excluding_db2",
    "create_job1_with_steps",
    "start_job1",
    "wait_for_job1",
    "show_step_and_target_executions",
    "schedule_job1_hourly",
    "cleanup_requested",
    "clean_up_resources",
]
CMDLET = re.compile(r"`[^`]*\b((New|Add|Set|Start|Get|Remove)-Az\w+|Invoke-SqlCmd)\b")


def test_tutorial_tasks_follow_the_tutorial_and_name_their_cmdlet(airflow_db) -> None:
    """One task per step, each downstream of the previous step, each doc naming the cmdlet it replaces."""
    dag = load_example_dag("elastic_jobs_tutorial")
    steps = [step if isinstance(step, tuple) else (step,) for step in TUTORIAL_ORDER]
    assert sorted(t for step in steps for t in step) == sorted(dag.task_ids)
    for earlier, later in pairwise(steps):
        for before in earlier:
            downstream = dag.get_task(before).get_flat_relative_ids(upstream=False)
            assert set(later) <= downstream, f"{later} should run after {before}"
    for task_id in dag.task_ids:
        if task_id != "cleanup_requested":
            assert CMDLET.search(dag.get_task(task_id).doc_md or ""), f"{task_id}: doc_md names no cmdlet"


@pytest.fixture(scope="module")
def world(emulator, airflow_db) -> Iterator[TutorialWorld]:
    """The tutorial DAG run once for fresh names: agent, logins, Job1 scheduled hourly."""
    with tutorial_world(emulator) as built:
        dag_run = run_dag(load_example_dag("elastic_jobs_tutorial"), built.names.dag_conf())
        assert dag_run.state == "success", failed_tasks(dag_run)
        yield built


def _retention_dag() -> object:
    dag = load_example_dag("elastic_jobs_hourly_retention")
    run = dag.get_task("run_retention_job")
    run.poll_interval = 0.5
    run.retries = 0
    return dag


def _event_ids(world: TutorialWorld, database: str) -> list[int]:
    return sorted(row[0] for row in world.sql(database, "SELECT [EventId] FROM [dbo].[EventLog]"))


def test_retention_dag_purges_old_rows_in_every_database_of_the_server(world: TutorialWorld) -> None:
    """Without DELETE permission the run fails naming the targets; with it, old rows go everywhere."""
    for database in world.names.target_databases:
        world.sql(
            database,
            "CREATE TABLE [dbo].[EventLog]([EventId] [int] NOT NULL, [CreatedAt] [datetime2] NOT NULL); "
            "INSERT INTO [dbo].[EventLog] VALUES (1, DATEADD(day, -40, SYSUTCDATETIME())); "
            "INSERT INTO [dbo].[EventLog] VALUES (2, SYSUTCDATETIME());",
        )
    conf = world.names.dag_conf()

    denied = run_dag(_retention_dag(), conf)
    assert denied.state == "failed"
    assert failed_tasks(denied) == ["run_retention_job: failed"]
    result = xcom(denied, "run_retention_job")
    assert result["lifecycle"] == "Failed"
    assert all(
        "DELETE permission was denied" in t["last_message"] for t in result["targets"] if t["database_name"]
    )

    for database in world.names.target_databases:
        world.sql(
            database,
            "ALTER ROLE db_datareader ADD MEMBER [jobuser]; ALTER ROLE db_datawriter ADD MEMBER [jobuser];",
        )
    allowed = run_dag(_retention_dag(), conf)
    assert allowed.state == "success", failed_tasks(allowed)
    assert xcom(allowed, "deploy_retention_job")["changed"] is False
    for database in world.names.target_databases:
        assert _event_ids(world, database) == [2]
        assert world.sql(database, "SELECT COUNT(*) FROM [dbo].[MaintenanceHistory]") == [(1,)]


def _monitor_dag(timeout: float) -> object:
    dag = load_example_dag("elastic_jobs_monitor_agent_schedule")
    sensor = dag.get_task("wait_for_scheduled_run")
    sensor.poke_interval = 0.5
    sensor.timeout = timeout
    return dag


def test_monitor_dag_reports_the_latest_run_of_the_agent_scheduled_job(world: TutorialWorld) -> None:
    """The latest Job1 execution created in the interval is found, waited for and reported per target."""

    def executions() -> dict[str, object]:
        with world.emulator.management_client() as client:
            listed = client.job_executions.list_by_job(*world.agent_args(), "Job1")
            return {e.name: e.properties.create_time for e in listed}

    before = executions()
    interval_start = min(before.values())
    dag_run = run_dag(_monitor_dag(timeout=60), world.names.dag_conf(), logical_date=interval_start)
    assert dag_run.state == "success", failed_tasks(dag_run)
    watched = xcom(dag_run, "wait_for_scheduled_run", "execution_id")
    after = executions()  # the agent's schedule may have started another one meanwhile
    assert watched in after
    assert after[watched] >= max(before.values())
    assert xcom(dag_run, "log_target_results")["Succeeded"] >= 3


def test_monitor_dag_fails_when_no_run_appears_in_time(world: TutorialWorld) -> None:
    """No execution created after the interval start before the timeout: the run fails (alerting)."""
    from tests.compat.airflow_versions import timezone

    dag_run = run_dag(
        _monitor_dag(timeout=3), world.names.dag_conf(), logical_date=timezone.utcnow() + timedelta(minutes=5)
    )
    assert dag_run.state == "failed"
    assert "wait_for_scheduled_run: failed" in failed_tasks(dag_run)


def test_fleet_database_sizes_dag_reports_every_database_of_the_server(
    world: TutorialWorld, tmp_path: Path
) -> None:
    """One CSV row per database of the target server (the reports database excluded), each size equal
    to what the database itself answers."""
    dag = load_example_dag("elastic_jobs_fleet_database_sizes")
    fleet_query = dag.get_task("collect_database_sizes")
    fleet_query.poll_interval = 0.5
    try:
        dag_run = run_dag(dag, world.names.dag_conf(report_dir=f"file://{tmp_path}/reports"))
    finally:  # the reports database would join the target server's fleet in the other tests' jobs
        world.emulator.management_client().databases.begin_delete(
            world.names.resource_group, world.names.target_server, "FleetReports"
        ).result()
    assert dag_run.state == "success", failed_tasks(dag_run)

    result = xcom(dag_run, "collect_database_sizes")
    assert result["lifecycle"] == "Succeeded"
    assert result["format"] == "csv"
    assert result["path"].startswith(f"file://{tmp_path}/reports/database_sizes_")
    with Path(result["path"].removeprefix("file://")).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert result["row_count"] == len(rows)
    expected = {}
    for database in world.names.target_databases:
        [(size_kb, files)] = world.sql(database, fleet_query.query)
        expected[database] = {"data_size_kb": str(size_kb), "data_files": str(files)}
    assert {row["target_server_name"] for row in rows} == {world.names.target_server}
    assert {
        row["target_database_name"]: {"data_size_kb": row["data_size_kb"], "data_files": row["data_files"]}
        for row in rows
    } == expected
    assert all(int(row["data_size_kb"]) > 0 for row in rows)


ASSET_DAGS = "elastic_jobs_job1_asset_events"


def test_job1_asset_events_queue_the_follow_up_dag_of_each_database(
    world: TutorialWorld, monkeypatch
) -> None:
    """The producer's per-database events land in the metadata DB and queue each database's consumer."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    from tests.compat.airflow_versions import DagBag

    monkeypatch.setenv("ELASTIC_JOBS_TARGET_SERVER", world.names.target_server)
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS / f"{ASSET_DAGS}.py"))
    assert not bag.import_errors, bag.import_errors
    consumers = {
        database: f"elastic_jobs_after_job1_{database.lower()}" for database in world.names.target_databases
    }
    for dag_id in consumers.values():
        serialize_dag(bag.get_dag(dag_id))
    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id.in_(consumers.values())).update(
            {DagModel.is_paused: False}, synchronize_session=False
        )
    producer = bag.get_dag(ASSET_DAGS)
    producer.get_task("run_job1").poll_interval = 0.5

    dag_run = run_dag(producer, world.names.dag_conf())

    assert dag_run.state == "success", failed_tasks(dag_run)
    execution_id = xcom(dag_run, "run_job1")["execution_id"]
    uris = {database: database_uri(world.names.target_server, database) for database in consumers}
    with create_session() as session:
        events = session.query(AssetEvent).filter_by(source_dag_id=ASSET_DAGS, source_run_id=dag_run.run_id)
        extras = {event.asset.uri: event.extra for event in events}
        queued = {
            uri: row.target_dag_id
            for row, uri in session.query(AssetDagRunQueue, AssetModel.uri).join(
                AssetModel, AssetModel.id == AssetDagRunQueue.asset_id
            )
        }
    assert sorted(extras) == sorted(uris.values())
    for database, uri in uris.items():
        assert extras[uri]["execution_id"] == execution_id
        assert (extras[uri]["database_name"], extras[uri]["lifecycle"]) == (database, "Succeeded")
        assert queued[uri] == consumers[database]
