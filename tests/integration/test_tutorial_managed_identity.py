"""The managed-identity variant of the tutorial DAG end to end through Airflow against the emulator.

The run must leave the tutorial's outcome (Step1Table in TargetDb1 and TargetDb2, Step2Table only in
TargetDb1) with no job credential at all: the agent runs as its user-assigned managed identity, whose
Entra users the DAG created. Then, with the real ``azure-mgmt-sql`` client: a target whose identity
user is gone fails with Azure SQL's token login failure while the others succeed; an agent without
an identity fails credential-less steps; an api-version older than 2023-08-01-preview refuses a step
without a credential (2023-05-01-preview accepts a server member without one); a deploy expecting
another identity writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
from tests.dags.harness import TutorialWorld, failed_tasks, load_example_dag, run_dag, tutorial_world
from tests.integration.provider.execution_support import xcom
from tests.support.emulator import API_VERSION, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DAG_ID = "elastic_jobs_tutorial_managed_identity"
IDENTITY_LOGIN_FAILED = "Login failed for user '<token-identified principal>'."
TERMINAL = {"Succeeded", "Failed", "Canceled", "TimedOut", "Skipped", "SucceededWithSkipped"}


def _umi(name: str) -> str:
    return (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/identities/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )


@pytest.fixture(scope="module")
def umi_name() -> str:
    return unique_name("umi")


@pytest.fixture(scope="module")
def world(emulator, airflow_db) -> Iterator[TutorialWorld]:
    with tutorial_world(emulator) as built:
        yield built


@pytest.fixture(scope="module")
def first_run(world: TutorialWorld, umi_name: str) -> Any:
    """The managed-identity tutorial DAG run once (no cleanup)."""
    dag_run = run_dag(load_example_dag(DAG_ID), world.names.dag_conf(identity_resource_id=_umi(umi_name)))
    assert dag_run.state == "success", failed_tasks(dag_run)
    return dag_run


def _run_job(world: TutorialWorld, agent: str, job: str, group_id: str) -> dict[str, tuple[str, str]]:
    """Create ``job`` with one credential-less step (no retries) on ``group_id``, run it to the end;
    ``{database: (lifecycle, last message)}`` of its target executions."""
    rg, server = world.names.resource_group, world.names.agent_server
    step = {
        "properties": {
            "targetGroup": group_id,
            "action": {"value": "SELECT COUNT(*) FROM sys.tables"},
            "executionOptions": {"retryAttempts": 0},
        }
    }
    with world.emulator.management_client() as client:
        client.jobs.create_or_update(rg, server, agent, job, {})
        client.job_steps.create_or_update(rg, server, agent, job, "probe", step)
        execution_id = client.job_executions.begin_create(rg, server, agent, job).result().name
        args = (rg, server, agent)
        deadline = time.monotonic() + 90
        while client.job_executions.get(*args, job, execution_id).properties.lifecycle not in TERMINAL:
            assert time.monotonic() < deadline, f"{job} did not end within 90 s"
            time.sleep(0.5)
        targets = client.job_target_executions.list_by_job_execution(*args, job, execution_id)
        return {
            t.properties.target.database_name: (t.properties.lifecycle, t.properties.last_message or "")
            for t in targets
            if t.properties.target.database_name
        }


def test_the_tutorial_outcome_without_any_credential(world: TutorialWorld, first_run) -> None:
    tables = world.tables()
    assert {"Step1Table", "Step2Table"} <= set(tables["TargetDb1"])
    assert "Step1Table" in tables["TargetDb2"]
    assert "Step2Table" not in tables["TargetDb2"]
    assert xcom(first_run, "show_target_executions") == {"step1": {"Succeeded": 2}, "step2": {"Succeeded": 1}}


def test_the_agent_runs_as_its_identity_and_nothing_names_a_credential(
    world: TutorialWorld, first_run, umi_name: str
) -> None:
    with world.emulator.management_client() as client:
        agent = client.job_agents.get(*world.agent_args())
        credentials = list(client.job_credentials.list_by_agent(*world.agent_args()))
        steps = list(client.job_steps.list_by_job(*world.agent_args(), "Job1"))
        groups = list(client.job_target_groups.list_by_agent(*world.agent_args()))
    assert agent.identity.type == "UserAssigned"
    assert list(agent.identity.user_assigned_identities) == [_umi(umi_name)]
    assert xcom(first_run, "create_job_agent")["identity"] == [_umi(umi_name)]
    assert credentials == []
    assert [(s.name, s.properties.credential) for s in steps] == [("step1", None), ("step2", None)]
    assert all(m.refresh_credential is None for g in groups for m in g.properties.members)
    users = xcom(first_run, "create_identity_users")["users"]
    assert users == {db: {umi_name: "created"} for db in ("master", "TargetDb1", "TargetDb2")}
    rows = world.sql("TargetDb1", f"SELECT type_desc FROM sys.database_principals WHERE name = N'{umi_name}'")
    assert rows == [("EXTERNAL_USER",)]


def test_a_target_without_the_identity_user_fails_with_the_token_login_message(
    world: TutorialWorld, first_run, umi_name: str
) -> None:
    group_id = f"{world.emulator.arm_path(world.names.resource_group, 'servers', world.names.agent_server)}"
    group_id += f"/jobAgents/{world.names.agent}/targetGroups/ServerGroup"
    world.sql("TargetDb2", f"DROP USER [{umi_name}]")
    try:
        outcome = _run_job(world, world.names.agent, "ProbeMissingUser", group_id)
    finally:
        world.sql("TargetDb2", f"CREATE USER [{umi_name}] FROM EXTERNAL PROVIDER")
    assert outcome["TargetDb1"][0] == "Succeeded"
    assert outcome["TargetDb2"][0] == "Failed"
    assert IDENTITY_LOGIN_FAILED in outcome["TargetDb2"][1]


def test_an_agent_without_identity_fails_credential_less_steps(world: TutorialWorld, first_run) -> None:
    names = world.names
    plain = unique_name("plain-agent")
    server_path = world.emulator.arm_path(names.resource_group, "servers", names.agent_server)
    with world.emulator.management_client() as client:
        client.job_agents.begin_create_or_update(
            names.resource_group,
            names.agent_server,
            plain,
            {
                "location": "westeurope",
                "properties": {"databaseId": f"{server_path}/databases/{names.job_database}"},
            },
        ).result()
        members = [{"type": "SqlDatabase", "serverName": names.target_server, "databaseName": "TargetDb1"}]
        group = client.job_target_groups.create_or_update(
            names.resource_group, names.agent_server, plain, "Db1", {"properties": {"members": members}}
        )
    outcome = _run_job(world, plain, "ProbeNoIdentity", group.id)
    assert outcome["TargetDb1"][0] == "Failed"
    assert f"job agent '{plain}' has no managed identity" in outcome["TargetDb1"][1]


@pytest.mark.parametrize(
    ("api_version", "step_status", "member_status"),
    [
        ("2022-08-01-preview", 400, 400),
        ("2023-05-01-preview", 400, 201),  # agents have an identity, JobStepProperties still requires it
        ("2023-08-01-preview", 201, 201),
        (API_VERSION, 201, 201),
    ],
)
def test_credentials_may_be_left_out_once_the_spec_allows_it(
    world: TutorialWorld, first_run, api_version: str, step_status: int, member_status: int
) -> None:
    """A step without ``credential`` and a server member without ``refreshCredential``: refused (400,
    naming the property and a version that allows it) before agents had an identity, created after;
    a step's own credential stays required in 2023-05-01-preview, as that version's
    ``JobSteps.json`` says."""
    names = world.names
    agent_path = world.emulator.arm_path(
        names.resource_group, "servers", names.agent_server, "jobAgents", names.agent
    )
    group = {"properties": {"members": [{"type": "SqlServer", "serverName": names.target_server}]}}
    step = {
        "properties": {
            "targetGroup": f"{agent_path}/targetGroups/ServerGroup",
            "action": {"value": "SELECT 1"},
        }
    }
    job = unique_name("ApiJob")
    version = {"api-version": api_version}
    with world.emulator.http() as http:
        http.put(f"{agent_path}/jobs/{job}", params=version, json={}).raise_for_status()
        answers = {
            "properties.credential": http.put(f"{agent_path}/jobs/{job}/steps/s1", params=version, json=step),
            "properties.members[0].refreshCredential": http.put(
                f"{agent_path}/targetGroups/{job}", params=version, json=group
            ),
        }
    statuses = {
        "properties.credential": step_status,
        "properties.members[0].refreshCredential": member_status,
    }
    for property_path, answer in answers.items():
        status = statuses[property_path]
        assert answer.status_code == status, answer.text
        if status == 400:
            message = answer.json()["error"]["message"]
            step = property_path == "properties.credential"
            first_allowing = "2023-08-01-preview" if step else "2023-05-01-preview"
            assert property_path in message and f"({first_allowing}," in message


def test_a_deploy_expecting_another_identity_writes_nothing(world: TutorialWorld, first_run) -> None:
    names = world.names
    with DAG(unique_name("ej_deploy_umi").replace("-", "_"), schedule=None, catchup=False) as dag:
        ElasticJobsDeployOperator(
            task_id="deploy",
            server_name=names.agent_server,
            identity=_umi("someone-else"),
            target_groups=[
                {"name": "OtherGroup", "members": [{"type": "SqlServer", "server_name": names.target_server}]}
            ],
            job_name="OtherJob",
            steps=[{"name": "s1", "target_group": "OtherGroup", "command": "SELECT 1"}],
        )
    dag_run = run_dag(dag)
    assert dag_run.state == "failed"
    with world.emulator.management_client() as client:
        groups = [g.name for g in client.job_target_groups.list_by_agent(*world.agent_args())]
        jobs = [j.name for j in client.jobs.list_by_agent(*world.agent_args())]
    assert "OtherGroup" not in groups
    assert "OtherJob" not in jobs
