"""The tutorial's resources built by the provider's operators in a real ``dag.test()`` run against the
running emulator, then checked through the real ``azure-mgmt-sql`` client."""

from __future__ import annotations

import pytest
from airflow.sdk import DAG
from azure.core.exceptions import ResourceNotFoundError

from airflow_elasticjobs.definitions import TargetMember
from airflow_elasticjobs.operators.agent import ElasticJobsAgentOperator, ElasticJobsDeleteAgentOperator
from airflow_elasticjobs.operators.cleanup import ElasticJobsCleanupOperator
from airflow_elasticjobs.operators.credential import (
    ElasticJobsCredentialOperator,
    ElasticJobsDeleteCredentialOperator,
)
from airflow_elasticjobs.operators.job import ElasticJobsDeleteJobOperator, ElasticJobsJobOperator
from airflow_elasticjobs.operators.schedule import ElasticJobsScheduleOperator
from airflow_elasticjobs.operators.server import ElasticJobsDatabaseOperator, ElasticJobsServerOperator
from airflow_elasticjobs.operators.target_group import (
    ElasticJobsDeleteTargetGroupOperator,
    ElasticJobsTargetGroupOperator,
)
from tests.integration.provider.execution_support import run_dag, task_instance, xcom
from tests.integration.provider.resource_support import (
    ADMIN_CONN_ID,
    CONN_ID,
    JOBUSER_CONN_ID,
    JOBUSER_PASSWORD,
    LOCATION,
    MASTER_CONN_ID,
    MASTER_PASSWORD,
    Names,
    build_agent,
    excluded_db2,
    server_member,
    tutorial_steps,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
COMMON = {"elastic_jobs_conn_id": CONN_ID}


def tutorial_resources_dag(names: Names) -> DAG:
    """Servers, databases, agent, credentials, both target groups, Job1 with two steps, a schedule."""
    with DAG(f"ej_resources_{names.rg}", schedule=None, catchup=False) as dag:
        agent_server = ElasticJobsServerOperator(
            task_id="agent_server", location=LOCATION, admin_conn_id=ADMIN_CONN_ID, **COMMON
        )
        target_server = ElasticJobsServerOperator(
            task_id="target_server",
            server_name=names.target_server,
            location=LOCATION,
            admin_conn_id=ADMIN_CONN_ID,
            **COMMON,
        )
        job_db = ElasticJobsDatabaseOperator(task_id="job_db", database_name="JobDatabase", **COMMON)
        target_dbs = [
            ElasticJobsDatabaseOperator(
                task_id=f"target_db{i}",
                server_name=names.target_server,
                database_name=f"TargetDb{i}",
                **COMMON,
            )
            for i in (1, 2)
        ]
        agent = ElasticJobsAgentOperator(
            task_id="agent", database_name="JobDatabase", sku="JA200", poll_interval=1, **COMMON
        )
        credentials = [
            ElasticJobsCredentialOperator(
                task_id="masteruser",
                credential_name="masteruser",
                credential_conn_id=MASTER_CONN_ID,
                **COMMON,
            ),
            ElasticJobsCredentialOperator(
                task_id="jobuser", credential_name="jobuser", credential_conn_id=JOBUSER_CONN_ID, **COMMON
            ),
        ]
        groups = [
            ElasticJobsTargetGroupOperator(
                task_id="server_group",
                target_group_name="ServerGroup",
                members=[server_member(names)],
                **COMMON,
            ),
            ElasticJobsTargetGroupOperator(
                task_id="server_group_excl",
                target_group_name="ServerGroupExcludingDb2",
                members=[server_member(names), excluded_db2(names)],
                **COMMON,
            ),
        ]
        job = ElasticJobsJobOperator(
            task_id="job1", job_name="Job1", description="tutorial job", steps=tutorial_steps(), **COMMON
        )
        schedule = ElasticJobsScheduleOperator(
            task_id="hourly",
            job_name="Job1",
            interval_type="Hour",
            interval_count=1,
            enabled=True,
            start_time="2030-01-01T00:00:00Z",
            **COMMON,
        )
        pause = ElasticJobsScheduleOperator(task_id="pause", job_name="Job1", enabled=False, **COMMON)
        agent_server >> job_db >> agent >> credentials
        target_server >> target_dbs
        for group in groups:
            group.set_upstream([*credentials, *target_dbs])
        groups >> job >> schedule >> pause
    return dag


def test_tutorial_resources_through_operators(
    emulator, names: Names, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run_dag(tutorial_resources_dag(names))
    assert dag_run.state == "success", dag_run.state

    assert xcom(dag_run, "agent_server")["created"] is True
    assert xcom(dag_run, "agent") | {"id": None} == {
        "id": None,
        "name": names.agent,
        "state": "Ready",
        "sku": "JA200",
        "capacity": 200,
        "database_id": emulator.arm_path(names.rg, "servers", names.agent_server, "databases", "JobDatabase"),
        "identity": [],  # no managed identity asked for
    }
    agent_id = emulator.arm_path(names.rg, "servers", names.agent_server, "jobAgents", names.agent)
    assert xcom(dag_run, "agent", key="elastic_jobs_agent_url") == f"{emulator.url}/_emulator/ui{agent_id}"
    # Airflow resolved the extra link at task end (get_link) and stored it for the UI.
    assert (
        xcom(dag_run, "agent", key="_link_ElasticJobsAgentLink") == f"{emulator.url}/_emulator/ui{agent_id}"
    )
    assert xcom(dag_run, "jobuser") == {
        "id": emulator.arm_path(
            names.rg, "servers", names.agent_server, "jobAgents", names.agent, "credentials", "jobuser"
        ),
        "name": "jobuser",
        "username": "jobuser",
    }
    job = xcom(dag_run, "job1")
    assert job["steps"] == ["step1", "step2"]
    assert job["version"] == 2  # two steps added → two new versions
    hourly = xcom(dag_run, "hourly")["schedule"]
    assert (hourly["type"], hourly["interval"], hourly["enabled"]) == ("Recurring", "PT1H", True)

    # No password reached an XCom or a task log line.
    for task_id in ("masteruser", "jobuser"):
        assert MASTER_PASSWORD not in str(xcom(dag_run, task_id))
        assert JOBUSER_PASSWORD not in str(xcom(dag_run, task_id))
    assert task_instance(dag_run, "jobuser").state == "success"
    output = "".join(capfd.readouterr()) + emulator.log_text()
    assert "Job credential jobuser set for user jobuser" in output  # the task logs are in the output
    for secret in (MASTER_PASSWORD, JOBUSER_PASSWORD, emulator.token):
        assert secret not in output

    # What the agent holds, read back through the real SDK.
    with emulator.management_client() as client:
        args = (names.rg, names.agent_server, names.agent)
        group = client.job_target_groups.get(*args, "ServerGroupExcludingDb2")
        members = sorted((m.membership_type, m.type, m.database_name) for m in group.properties.members)
        assert members == [("Exclude", "SqlDatabase", "TargetDb2"), ("Include", "SqlServer", None)]
        steps = sorted(client.job_steps.list_by_job(*args, "Job1"), key=lambda s: s.properties.step_id)
        assert [(s.name, s.properties.step_id) for s in steps] == [("step1", 1), ("step2", 2)]
        assert steps[1].properties.target_group.endswith("/targetGroups/ServerGroupExcludingDb2")
        assert steps[0].properties.credential.endswith("/credentials/jobuser")
        schedule = client.jobs.get(*args, "Job1").properties.schedule
        # "pause" only disabled it, like Set-AzSqlElasticJob -Disable: type and interval are kept.
        assert (schedule.type, schedule.enabled, schedule.interval) == ("Recurring", False, "PT1H")

    # A second run creates nothing new: servers and databases are create-or-get.
    again = run_dag(tutorial_resources_dag(names))
    assert again.state == "success"
    assert xcom(again, "agent_server")["created"] is False
    assert xcom(again, "target_db1")["created"] is False
    assert xcom(again, "job1")["changed"] is False


def build_with_hook(names: Names) -> None:
    """Agent, credentials, a target group and a job, made directly through the hook (fast setup)."""
    hook = build_agent(names)
    for name in ("masteruser", "jobuser"):
        hook.create_or_update_credential(name, name, "Some-Passw0rd!")
    member = TargetMember("SqlServer", names.target_server, refresh_credential="masteruser")
    hook.create_or_update_target_group("ServerGroup", [member.to_arm(hook.agent)])
    hook.create_or_update_job("Job1", description="to delete")
    hook.close()


def test_delete_operators_and_cleanup_tolerate_missing_resources(emulator, names: Names) -> None:
    build_with_hook(names)
    with DAG(f"ej_delete_{names.rg}", schedule=None, catchup=False) as dag:
        delete_job = ElasticJobsDeleteJobOperator(task_id="delete_job", job_name="Job1", **COMMON)
        delete_group = ElasticJobsDeleteTargetGroupOperator(
            task_id="delete_group", target_group_name="ServerGroup", **COMMON
        )
        delete_credential = ElasticJobsDeleteCredentialOperator(
            task_id="delete_credential", credential_name="jobuser", **COMMON
        )
        cleanup = ElasticJobsCleanupOperator(
            task_id="cleanup",
            jobs=["Job1"],
            target_groups=["ServerGroup"],
            credentials=["masteruser", "jobuser"],
            delete_agent=True,
            databases=[{"server_name": names.agent_server, "database_name": "JobDatabase"}],
            servers=[names.target_server],
            **COMMON,
        )
        delete_agent = ElasticJobsDeleteAgentOperator(task_id="delete_agent", **COMMON)
        delete_job >> delete_group >> delete_credential >> cleanup >> delete_agent
    dag_run = run_dag(dag)
    assert dag_run.state == "success"

    assert xcom(dag_run, "delete_job") == {"name": "Job1", "deleted": True}
    assert xcom(dag_run, "delete_group") == {"name": "ServerGroup", "deleted": True}
    assert xcom(dag_run, "delete_credential") == {"name": "jobuser", "deleted": True}
    assert xcom(dag_run, "cleanup") == {
        "deleted": [
            "credential masteruser",
            "job agent (connection default)",
            f"database {names.agent_server}/JobDatabase",
            f"server {names.target_server}",
        ],
        "absent": ["job Job1", "target group ServerGroup", "credential jobuser"],
    }
    assert xcom(dag_run, "delete_agent") == {"name": names.agent, "deleted": False}

    with emulator.management_client() as client:
        with pytest.raises(ResourceNotFoundError):
            client.job_agents.get(names.rg, names.agent_server, names.agent)
        with pytest.raises(ResourceNotFoundError):
            client.servers.get(names.rg, names.target_server)
        with pytest.raises(ResourceNotFoundError):
            client.databases.get(names.rg, names.agent_server, "JobDatabase")
        assert client.servers.get(names.rg, names.agent_server).name == names.agent_server


def test_target_group_with_every_member_type(emulator, names: Names) -> None:
    build_agent(names).close()
    members = [
        {"type": "SqlServer", "server_name": names.target_server, "refresh_credential": "masteruser"},
        {
            "type": "SqlElasticPool",
            "server_name": names.target_server,
            "elastic_pool_name": "pool1",
            "refresh_credential": "masteruser",
        },
        {
            "type": "SqlShardMap",
            "server_name": names.target_server,
            "database_name": "ShardMapDb",
            "shard_map_name": "customers",
            "refresh_credential": "masteruser",
        },
        {
            "type": "SqlDatabase",
            "server_name": names.target_server,
            "database_name": "TargetDb2",
            "membership_type": "Exclude",
        },
    ]
    with DAG(f"ej_members_{names.rg}", schedule=None, catchup=False) as dag:
        credential = ElasticJobsCredentialOperator(
            task_id="masteruser", credential_name="masteruser", credential_conn_id=MASTER_CONN_ID, **COMMON
        )
        group = ElasticJobsTargetGroupOperator(
            task_id="group", target_group_name="AllKinds", members=members, **COMMON
        )
        credential >> group
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    assert xcom(dag_run, "group")["change"]["action"] == "create"

    refresh = emulator.arm_path(
        names.rg, "servers", names.agent_server, "jobAgents", names.agent, "credentials", "masteruser"
    )
    with emulator.management_client() as client:
        group = client.job_target_groups.get(names.rg, names.agent_server, names.agent, "AllKinds")
        got = sorted(
            (
                m.type,
                m.membership_type,
                m.elastic_pool_name,
                m.shard_map_name,
                m.database_name,
                (m.refresh_credential or "").lower(),
            )
            for m in group.properties.members
        )
    assert got == [
        ("SqlDatabase", "Exclude", None, None, "TargetDb2", ""),
        ("SqlElasticPool", "Include", "pool1", None, None, refresh.lower()),
        ("SqlServer", "Include", None, None, None, refresh.lower()),
        ("SqlShardMap", "Include", None, "customers", "ShardMapDb", refresh.lower()),
    ]
