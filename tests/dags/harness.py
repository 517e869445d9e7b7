"""Run the example DAGs end to end against the emulator through real Airflow (``dag.test()``).

The example DAG files are parsed with Airflow's own ``DagBag`` (as the DAG processor does), the
tutorial's connections are set as ``AIRFLOW_CONN_*`` variables exactly the way ``scripts/demo.py``
sets them, and every run uses fresh server names so runs never meet in the shared emulator (server
names are global there, as on Azure).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.demo import connection_env
from scripts.demo_report import DemoNames, tables_by_database
from tests.integration.provider.execution_support import serialize_dag
from tests.support.emulator import EmulatorProcess, unique_name

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


def load_example_dag(dag_id: str) -> Any:
    """Parse ``example_dags/<dag_id>.py`` with a ``DagBag``; fail on any import error."""
    from tests.compat.airflow_versions import DagBag

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS / f"{dag_id}.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


def run_dag(dag: Any, conf: dict[str, Any] | None = None, logical_date: Any = None) -> Any:
    """Serialize the DAG into the metadata DB and run it once with ``dag.test()``; return the run.

    The logical date defaults to now: an earlier date than the DAG's ``start_date`` would give a run
    in which no task is scheduled at all (and that counts as a success).
    """
    from tests.compat.airflow_versions import timezone

    serialize_dag(dag)
    return dag.test(run_conf=conf, logical_date=logical_date or timezone.utcnow())


def failed_tasks(dag_run: Any) -> list[str]:
    """``task_id: state`` of every task instance of the run that did not succeed or skip."""
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = dag_run.get_task_instances(session=session)
        return [f"{ti.task_id}: {ti.state}" for ti in tis if ti.state not in ("success", "skipped")]


@dataclass(frozen=True)
class TutorialWorld:
    """The emulator, the names the tutorial DAG was pointed at and the connections it used."""

    emulator: EmulatorProcess
    names: DemoNames
    connections: dict[str, str]

    def login(self, conn_var: str) -> tuple[str, str]:
        """Login and password of one of the generic connections (e.g. the server admin)."""
        conn = json.loads(self.connections[conn_var])
        return conn["login"], conn["password"]

    def tables(self) -> dict[str, list[str]]:
        """User tables of each target database, read as the server admin through the SQL data plane."""
        login, password = self.login("AIRFLOW_CONN_ELASTIC_JOBS_SERVER_ADMIN")
        return tables_by_database(
            self.emulator, self.names.target_server, self.names.target_databases, login, password
        )

    def sql(self, database: str, statement: str) -> list[tuple[Any, ...]]:
        """Run one T-SQL batch in a target database as the server admin; rows of its result, if any."""
        login, password = self.login("AIRFLOW_CONN_ELASTIC_JOBS_SERVER_ADMIN")
        return self.emulator.run_sql(self.names.target_server, database, login, password, statement)

    def agent_args(self) -> tuple[str, str, str]:
        """``(resource group, agent server, agent)`` for ``azure-mgmt-sql`` calls."""
        return self.names.resource_group, self.names.agent_server, self.names.agent


@contextmanager
def tutorial_world(emulator: EmulatorProcess) -> Iterator[TutorialWorld]:
    """Fresh names and the tutorial's connections set in the environment for the duration."""
    names = DemoNames(
        resource_group=unique_name("rg"),
        agent_server=unique_name("agent-srv"),
        target_server=unique_name("target-srv"),
    )
    connections = connection_env(emulator, names)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in connections.items():
            patch.setenv(name, value)
        yield TutorialWorld(emulator, names, connections)
