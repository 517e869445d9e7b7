"""The tutorial DAG and the provider's operators against real Azure (opt-in, docs/live-tests.md).

The same claims as the emulator tests (``tests/integration/test_tutorial_dag.py``,
``tests/integration/provider/``): the tutorial leaves Step1Table in both target databases and
Step2Table only in TargetDb1, reports step1 on two databases and step2 on one, puts Job1 on an
hourly schedule, keeps passwords out of XCom, and its cleanup run deletes everything. Then, on the
same agent (one agent per run: agents are billed by the hour), the operators the tutorial does not
use: deploy (a second deploy writes nothing), start and wait, the deferrable sensor, cancel, and
the cleanup operator for the jobs it added; and a fleet query read back through the ``odbc``
connection.

Everything is named ``<run prefix>-…`` and deleted in the module fixture's teardown whatever
happens; a teardown that cannot delete in time fails and names what is left.
Heavy imports (Airflow, Azure) happen inside fixtures and tests, so CI collects this file for free.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.live.settings import LiveSettings, random_sql_password, run_prefix

pytestmark = [pytest.mark.live, pytest.mark.timeout(5400)]

DAG_ID = "elastic_jobs_tutorial"
POLL = 15  # seconds between status reads of our own DAGs on Azure (ARM read limits are per hour)
WAIT_TIMEOUT = 1800  # seconds for one job execution on Azure (the tutorial's sensor uses the same)


@pytest.fixture(scope="module")
def live(live_settings: LiveSettings, airflow_db) -> Iterator[Any]:
    """A fresh run prefix, the tutorial's connections for it, both servers with their firewall rules;
    at the end everything with the prefix is deleted (agent first: it is billed by the hour)."""
    from tests.live.azure_fleet import LiveRun, delete_run

    prefix = run_prefix()
    print(f"live run prefix: {prefix} (after an interrupt: python -m tests.live.cleanup --prefix {prefix})")
    names = live_settings.names(prefix)
    passwords = {"masteruser": random_sql_password(), "jobuser": random_sql_password()}
    connections = live_settings.connection_env(names, passwords)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in connections.items():
            patch.setenv(name, value)
        run = LiveRun(live_settings, prefix, names, connections)
        try:
            run.open_firewalls()
            yield run
        finally:
            leftovers = delete_run(live_settings, prefix)
            assert not leftovers, (
                f"could not delete in time: {leftovers}; run python -m tests.live.cleanup --prefix {prefix}"
            )


def _run(dag: Any, conf: dict[str, Any] | None = None) -> Any:
    from tests.dags.harness import failed_tasks, run_dag

    dag_run = run_dag(dag, conf)
    assert dag_run.state == "success", failed_tasks(dag_run)
    return dag_run


@pytest.fixture(scope="module")
def first_run(live) -> Any:
    """The tutorial DAG run once on Azure (no cleanup)."""
    from tests.dags.harness import load_example_dag

    return _run(load_example_dag(DAG_ID), live.names.dag_conf(location=live.settings.location))


def test_step1_table_everywhere_step2_table_everywhere_but_db2(live, first_run) -> None:
    """TargetDb1 gets both tables; TargetDb2, excluded from step2's group, only Step1Table."""
    tables = live.tables()
    assert {"Step1Table", "Step2Table"} <= set(tables["TargetDb1"])
    assert "Step1Table" in tables["TargetDb2"]
    assert "Step2Table" not in tables["TargetDb2"]


def test_per_step_and_per_target_executions_are_reported(live, first_run) -> None:
    """The monitoring task's XCom counts step1 on two databases and step2 on one, all Succeeded; ARM
    reports the same per target."""
    from tests.integration.provider.execution_support import xcom

    assert xcom(first_run, "show_step_and_target_executions") == {
        "step1": {"Succeeded": 2},
        "step2": {"Succeeded": 1},
    }
    execution_id = xcom(first_run, "start_job1")["execution_id"]
    with live.client() as client:
        execution = client.job_executions.get(*live.agent_args(), "Job1", execution_id)
        ran = sorted(
            (t.properties.step_name, t.properties.target.database_name)
            for t in client.job_target_executions.list_by_job_execution(
                *live.agent_args(), "Job1", execution_id
            )
            if t.properties.target.database_name
        )
    assert execution.properties.lifecycle == "Succeeded"
    assert ran == [("step1", "TargetDb1"), ("step1", "TargetDb2"), ("step2", "TargetDb1")]


def test_job1_is_scheduled_hourly_afterwards(live, first_run) -> None:
    """``Set-AzSqlElasticJob -IntervalType Hour -IntervalCount 1 -Enable``: Recurring, PT1H, enabled."""
    with live.client() as client:
        schedule = client.jobs.get(*live.agent_args(), "Job1").properties.schedule
    assert (schedule.type, schedule.interval, schedule.enabled) == ("Recurring", "PT1H", True)
    assert schedule.start_time is not None


def test_no_password_reaches_xcom(live, first_run) -> None:
    """The admin, masteruser and jobuser passwords are in no XCom of the run."""
    import json

    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    passwords = [
        json.loads(live.connections[f"AIRFLOW_CONN_ELASTIC_JOBS_{name}"])["password"]
        for name in ("SERVER_ADMIN", "MASTERUSER", "JOBUSER")
    ]
    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=first_run.dag_id, run_id=first_run.run_id).all()
        values = " ".join(str(XComModel.deserialize_value(row)) for row in rows)
    assert "create_target_logins_and_users" in {row.task_id for row in rows}
    for password in passwords:
        assert password not in values


def _operators_dag(dag_id: str) -> Any:
    """Deploy a job twice, start and wait for it, watch it with the deferrable sensor; start a long job,
    cancel it, and see it end Canceled."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.cleanup import ElasticJobsCleanupOperator
    from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
    from airflow_elasticjobs.operators.execution import (
        ElasticJobsCancelExecutionOperator,
        ElasticJobsStartJobOperator,
    )
    from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor

    def deploy(task_id: str, job: str, command: str) -> ElasticJobsDeployOperator:
        step = {"name": "only", "target_group": "ServerGroup", "credential": "jobuser", "command": command}
        return ElasticJobsDeployOperator(task_id=task_id, job_name=job, steps=[step], retries=0)

    with DAG(dag_id, schedule=None, catchup=False) as dag:
        quick = "SELECT 1 AS live;"
        first, again = deploy("deploy", "LiveQuick", quick), deploy("deploy_again", "LiveQuick", quick)
        start = ElasticJobsStartJobOperator(
            task_id="start_and_wait", job_name="LiveQuick", poll_interval=POLL, timeout=WAIT_TIMEOUT
        )
        sensor = ElasticJobsExecutionSensor(
            task_id="sensor_deferred",
            job_name="LiveQuick",
            execution_id="{{ ti.xcom_pull(task_ids='start_and_wait', key='execution_id') }}",
            deferrable=True,
            poke_interval=POLL,
            timeout=WAIT_TIMEOUT,
        )
        slow = deploy("deploy_slow", "LiveSlow", "WAITFOR DELAY '00:10:00';")
        slow_execution = "{{ ti.xcom_pull(task_ids='start_slow')['execution_id'] }}"
        start_slow = ElasticJobsStartJobOperator(
            task_id="start_slow", job_name="LiveSlow", wait_for_completion=False
        )
        cancel = ElasticJobsCancelExecutionOperator(
            task_id="cancel",
            job_name="LiveSlow",
            execution_id=slow_execution,
        )
        canceled = ElasticJobsExecutionSensor(
            task_id="wait_canceled",
            job_name="LiveSlow",
            execution_id=slow_execution,
            target_states=["Canceled"],
            fail_states=["Failed", "TimedOut", "Skipped"],
            poke_interval=POLL,
            timeout=WAIT_TIMEOUT,
        )
        # The tutorial's cleanup deletes ServerGroup, which these jobs' steps use: delete them first.
        cleanup = ElasticJobsCleanupOperator(task_id="cleanup_jobs", jobs=["LiveQuick", "LiveSlow"])
        first >> again >> start >> sensor >> cleanup
        slow >> start_slow >> cancel >> canceled >> cleanup
    return dag


def test_deploy_start_sensor_and_cancel_on_the_tutorial_agent(live, first_run) -> None:
    """Deploy writes once and then nothing; start waits to Succeeded on both target databases; the
    deferrable sensor sees the same execution end; a cancelled long job ends Canceled."""
    from tests.integration.provider.execution_support import xcom

    dag_run = _run(_operators_dag(f"ej_live_operators_{live.prefix.replace('-', '_')}"))
    assert xcom(dag_run, "deploy")["changed"] is True
    assert xcom(dag_run, "deploy_again")["changed"] is False
    summary = xcom(dag_run, "start_and_wait")
    assert summary["lifecycle"] == "Succeeded"
    succeeded = {t["database_name"] for t in summary["targets"] if t["database_name"]}
    assert succeeded == set(live.names.target_databases)
    watched = xcom(dag_run, "sensor_deferred")
    assert (watched["execution_id"], watched["lifecycle"]) == (summary["execution_id"], "Succeeded")
    assert xcom(dag_run, "cancel")["cancel_requested"] is True
    assert xcom(dag_run, "wait_canceled")["lifecycle"] == "Canceled"
    assert sorted(xcom(dag_run, "cleanup_jobs")["deleted"]) == ["job LiveQuick", "job LiveSlow"]


def test_fleet_query_reads_each_databases_rows_back_through_odbc(live, first_run) -> None:
    """A fleet query over the tutorial's ServerGroup writes to TargetDb1 as jobuser and reads this
    execution's rows back through the ``odbc`` connection (OdbcHook on the output database, ``?``
    parameter); each database answers its own name (tests/integration/provider/test_fleet_query.py)."""
    from airflow.providers.odbc.hooks.odbc import OdbcHook
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.cleanup import ElasticJobsCleanupOperator
    from airflow_elasticjobs.operators.fleet_query import ElasticJobsFleetQueryOperator
    from tests.integration.provider.execution_support import xcom
    from tests.live.azure_fleet import TARGET_SQL_CONN_ID

    output_db = live.names.target_databases[0]
    # The agent writes the output table as jobuser (docs/fleet-queries.md, output credential).
    OdbcHook(odbc_conn_id=TARGET_SQL_CONN_ID, database=output_db).run(
        "GRANT SELECT, INSERT, DELETE ON SCHEMA::dbo TO jobuser"
    )
    with DAG(f"ej_live_fleet_{live.prefix.replace('-', '_')}", schedule=None, catchup=False) as dag:
        fleet = ElasticJobsFleetQueryOperator(
            task_id="fleet",
            job_name="LiveFleet",
            query="SELECT DB_NAME() AS db_name",
            target_group="ServerGroup",
            credential="jobuser",
            output_table={
                "server_name": live.names.target_server,
                "database_name": output_db,
                "table_name": "LiveFleetRows",
            },
            output_conn_id=TARGET_SQL_CONN_ID,
            poll_interval=POLL,
            timeout=WAIT_TIMEOUT,
            step_options={"retry_attempts": 1},
        )
        # The tutorial's cleanup deletes ServerGroup, which this job's step uses: delete it first.
        fleet >> ElasticJobsCleanupOperator(task_id="cleanup_job", jobs=["LiveFleet"])
    result = xcom(_run(dag), "fleet")

    assert (result["lifecycle"], result["row_count"]) == ("Succeeded", len(live.names.target_databases))
    assert result["rows"] == [
        {"target_server_name": live.names.target_server, "target_database_name": db, "db_name": db}
        for db in sorted(live.names.target_databases)
    ]


def test_cleanup_run_removes_everything(live, first_run) -> None:
    """A run with ``cleanup`` deletes job, groups, credentials, agent and both servers."""
    from tests.dags.harness import load_example_dag

    _run(load_example_dag(DAG_ID), live.names.dag_conf(cleanup=True, location=live.settings.location))
    assert live.remaining_tutorial_resources() == []
