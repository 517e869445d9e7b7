"""Asset events per target database, read back from Airflow's metadata DB after ``dag.test()``.

A two-step job over three databases: step 1 (a read) succeeds everywhere, step 2 (CREATE TABLE)
fails on TargetDb3, where the job user may not create tables. The execution ends Failed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_elasticjobs.dataset_names import database_uri
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from tests.integration.executions_world import TUTORIAL_SQL, World, fast_options
from tests.integration.provider.execution_support import (
    CONN_ID,
    QUICK,
    run_dag,
    start_dag,
    task_instance,
    xcom,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ALIAS = "retention_targets"
DATABASES = ("TargetDb1", "TargetDb2", "TargetDb3")
#: Fail the task only when the execution did not run to its end; a Failed one emits events.
TOLERATE_FAILED = ["TimedOut", "Canceled", "Skipped"]
#: How a log line of the execution trigger starts (dag.test() runs it in-process, logging to stdout).
TRIGGER_LOGGER = "[airflow_elasticjobs.triggers.execution"


@pytest.fixture(scope="module")
def two_step_job(world: World) -> str:
    """The job; TargetDb3 gets the job user but none of the tutorial's grants."""
    world.create_database(world.target_server, "TargetDb3")
    world.sql("TargetDb3", "CREATE USER jobuser FROM LOGIN jobuser")
    group = world.target_group("AssetsGroup", [world.database_member(d) for d in DATABASES])
    return world.job(
        "AssetsJob",
        [
            ("ReadStep", group, "SELECT 1;", fast_options()),
            ("WriteStep", group, TUTORIAL_SQL.format(table="AssetsTable"), fast_options()),
        ],
    )


def asset_events(dag_run: Any) -> dict[str, dict[str, Any]]:
    """``uri -> extra`` of every asset event the run's tasks emitted; each came through the alias."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .filter_by(source_dag_id=dag_run.dag_id, source_run_id=dag_run.run_id)
            .all()
        )
        for row in rows:
            assert [alias.name for alias in row.source_aliases] == [ALIAS]
        return {row.asset.uri: row.extra for row in rows}


def expected_extra(world: World, execution_id: str, database: str, lifecycle: str) -> dict[str, Any]:
    """The event of ``database``; the job version is the one Azure reports for the execution."""
    return {
        "execution_id": execution_id,
        "job_name": "AssetsJob",
        "job_version": world.get("AssetsJob", execution_id).job_version,
        "execution_lifecycle": "Failed",
        "server_name": world.target_server,
        "database_name": database,
        "lifecycle": lifecycle,
        "step_names": ["ReadStep", "WriteStep"],
        "steps": [
            {"step_id": 1, "step_name": "ReadStep", "lifecycle": "Succeeded"},
            {"step_id": 2, "step_name": "WriteStep", "lifecycle": lifecycle},
        ],
    }


def uri(world: World, database: str) -> str:
    return database_uri(world.target_server, database)


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_one_event_per_succeeded_database_with_its_execution_and_steps(world, two_step_job, deferrable):
    dag_id = f"assets_succeeded_{'deferred' if deferrable else 'polling'}"
    dag = start_dag(
        dag_id,
        job_name=two_step_job,
        deferrable=deferrable,
        fail_on=TOLERATE_FAILED,
        asset_alias=ALIAS,
        **QUICK,
    )
    dag_run = run_dag(dag)

    assert task_instance(dag_run, "start").state == "success"
    result = xcom(dag_run, "start")
    assert (result["lifecycle"], result["counts"]) == ("Failed", {"Succeeded": 5, "Failed": 1})
    events = asset_events(dag_run)
    assert sorted(events) == [uri(world, "TargetDb1"), uri(world, "TargetDb2")]
    for database in ("TargetDb1", "TargetDb2"):
        assert events[uri(world, database)] == expected_extra(
            world, result["execution_id"], database, "Succeeded"
        )


def test_chosen_lifecycles_add_the_failed_database(world, two_step_job):
    dag = start_dag(
        "assets_failed_too",
        job_name=two_step_job,
        deferrable=False,
        fail_on=TOLERATE_FAILED,
        asset_alias=ALIAS,
        asset_lifecycles=["Succeeded", "Failed"],
        **QUICK,
    )
    dag_run = run_dag(dag)

    execution_id = xcom(dag_run, "start")["execution_id"]
    events = asset_events(dag_run)
    assert sorted(events) == [uri(world, d) for d in DATABASES]
    assert events[uri(world, "TargetDb3")] == expected_extra(world, execution_id, "TargetDb3", "Failed")


def test_a_task_failed_by_fail_on_publishes_no_event(world, two_step_job):
    """Airflow records outlet events only for a task instance that succeeds (docs/assets.md)."""
    dag_run = run_dag(start_dag("assets_task_failed", job_name=two_step_job, asset_alias=ALIAS, **QUICK))

    assert task_instance(dag_run, "start").state == "failed"
    assert xcom(dag_run, "start")["counts"] == {"Succeeded": 5, "Failed": 1}
    assert asset_events(dag_run) == {}


class SensorStartingItsExecution(ElasticJobsExecutionSensor):
    """The sensor, starting the execution it watches only after a poke found none.

    So the sensor always waits for it: polling, its later pokes see the execution end; deferred, the
    trigger does and the sensor resumes on the trigger's event. (An execution started before the
    DAG run may end before the first poke, and a sensor whose first poke sees the end never defers.)
    """

    def __init__(self, *, start_execution: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_execution = start_execution

    def poke(self, context: Any) -> Any:
        result = super().poke(context)
        if self._watched_id is None:
            self.start_execution()
        return result


@pytest.mark.parametrize("deferrable", [False, True], ids=["polling", "deferred"])
def test_the_sensor_publishes_the_events_of_the_execution_it_watched(world, two_step_job, deferrable, capsys):
    from airflow.sdk import DAG

    started: list[str] = []

    def start_once() -> None:
        if not started:
            started.append(world.start(two_step_job).name)

    dag_id = f"assets_sensor_{'deferred' if deferrable else 'polling'}"
    with DAG(dag_id, schedule=None, catchup=False) as dag:
        SensorStartingItsExecution(
            task_id="wait",
            job_name=two_step_job,
            created_after=datetime.now(UTC).isoformat(),  # the latest execution: the one it starts
            start_execution=start_once,
            target_states=["Succeeded", "Failed"],
            fail_states=["Canceled"],
            poke_interval=0.5,
            timeout=60,
            elastic_jobs_conn_id=CONN_ID,
            asset_alias=ALIAS,
            deferrable=deferrable,
        )
    dag_run = run_dag(dag)

    assert task_instance(dag_run, "wait").state == "success"
    (execution_id,) = started
    assert xcom(dag_run, "wait")["execution_id"] == execution_id
    trigger_lines = [line for line in capsys.readouterr().out.splitlines() if TRIGGER_LOGGER in line]
    assert bool(trigger_lines) == deferrable  # deferred: the real trigger waited, in dag.test()
    events = asset_events(dag_run)
    assert sorted(events) == [uri(world, "TargetDb1"), uri(world, "TargetDb2")]
    assert events[uri(world, "TargetDb2")] == expected_extra(world, execution_id, "TargetDb2", "Succeeded")
