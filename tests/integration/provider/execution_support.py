"""Shared pieces of the start/sensor/trigger integration tests.

A tutorial-like world built through the real SDK against the running emulator, an Airflow
connection (environment variable) pointing the provider at it, and helpers to run a DAG with
``dag.test()`` and read task states and XComs back from the metadata database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from airflow_elasticjobs.execution_id import ExecutionKey, attempt_execution_id
from tests.integration.executions_world import World, fast_options
from tests.support.emulator import FAST_RETRIES, unique_name

CONN_ID = "elastic_jobs_it"
START_TASK_ID = "start"
QUICK = {"poll_interval": 0.5, "progress_interval": 1.0, "error_budget": 30.0}


def connection_json(world: World, **extras: Any) -> str:
    """An ``azure_elastic_jobs`` connection for the emulator, as ``AIRFLOW_CONN_*`` JSON."""
    return world.emulator.connection_json(
        world.rg, world.agent_server, world.agent, **(FAST_RETRIES | extras)
    )


@pytest.fixture(name="world", scope="module")
def world_fixture(emulator, airflow_db) -> Iterator[World]:
    """The tutorial's servers, databases, agent and credentials, plus the Airflow connection.

    One world per test module (building it costs more than most tests); tests keep apart by using
    their own job names.
    """
    with emulator.management_client() as client, pytest.MonkeyPatch.context() as patch:
        built = World(emulator, client, unique_name("rg")).build()
        patch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(built))
        yield built


def sql_job(world: World, name: str, sql: str, **options: Any) -> str:
    """A one-step job running ``sql`` on both target databases."""
    group = world.target_group(f"{name}Group", [world.database_member(d) for d in world.databases])
    return world.job(name, [("Step1", group, sql, fast_options(**options))])


def start_dag(dag_id: str, **operator_kwargs: Any) -> Any:
    """A DAG with one ``ElasticJobsStartJobOperator`` (task ``start``) on the test connection.

    A retry (when ``retries`` is given) follows at once.
    """
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

    with DAG(dag_id, schedule=None, catchup=False) as dag:
        ElasticJobsStartJobOperator(
            task_id=START_TASK_ID,
            elastic_jobs_conn_id=CONN_ID,
            retry_delay=timedelta(seconds=0),
            **operator_kwargs,
        )
    return dag


def serialize_dag(dag: Any) -> None:
    """Write a DAG defined in a test into the metadata DB, as the DAG processor would.

    ``dag.test()`` in Airflow 3 needs a serialized version of the DAG; a DAG built inside a test is
    in no DAG bundle, so it is written under the ``dags-folder`` bundle here (the call differs per
    Airflow version: tests/compat/airflow_versions.py).
    """
    from tests.compat.airflow_versions import write_dag_to_db

    write_dag_to_db(dag)


def run_dag(dag: Any, logical_date: datetime | None = None) -> Any:
    """Serialize the DAG, run it with ``dag.test()`` and return the DagRun."""
    serialize_dag(dag)
    if logical_date is None:
        return dag.test()
    return dag.test(logical_date=logical_date, run_after=logical_date)


def task_instance(dag_run: Any, task_id: str) -> Any:
    """The task instance of ``task_id`` in ``dag_run`` (fresh from the metadata DB)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = dag_run.get_task_instance(task_id, session=session)
        session.expunge(ti)
        return ti


def xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    """One XCom value of ``task_id`` in ``dag_run``."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def manual_run_id(logical_date: datetime) -> str:
    """The run id :func:`run_dag` gives a run with this logical date."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.types import DagRunType

    return DagRun.generate_run_id(
        run_type=DagRunType.MANUAL, logical_date=logical_date, run_after=logical_date
    )


def expected_execution_id(
    world: World, job: str, dag_id: str, run_id: str, task_id: str, attempt: int
) -> str:
    """The execution id the start operator derives for that task instance."""
    key = ExecutionKey(job_id=world.agent_path("jobs", job), dag_id=dag_id, run_id=run_id, task_id=task_id)
    return attempt_execution_id(key, attempt)


def executions_of(world: World, job: str) -> list[Any]:
    """Every root execution of ``job`` (all pages)."""
    ops = world.client.job_executions
    return list(ops.list_by_job(world.rg, world.agent_server, world.agent, job))


def unique_logical_date() -> datetime:
    """A logical date no other test run uses (dag.test clears runs of the same date)."""
    import random

    from tests.compat.airflow_versions import timezone

    return timezone.utcnow().replace(microsecond=0) - timedelta(days=random.randint(1, 10_000))
