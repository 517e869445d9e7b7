"""Every definitions route driven by the real azure-mgmt-sql client (sync and aio) over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.sql import SqlManagementClient

from tests.support.definitions import (
    ADMIN_LOGIN,
    LOCATION,
    AgentSetup,
    create_agent_setup,
    create_database,
    create_server,
)
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture
def client(emulator: EmulatorProcess) -> Iterator[SqlManagementClient]:
    with emulator.management_client() as sql:
        yield sql


@pytest.fixture
def setup(client: SqlManagementClient, resource_group: str) -> AgentSetup:
    return create_agent_setup(client, resource_group)


def _credential(client: SqlManagementClient, setup: AgentSetup, name: str = "jobuser") -> str:
    body = {"properties": {"username": name, "password": "Job-Pa55word!"}}
    return client.job_credentials.create_or_update(*setup.names(), name, body).id


def _target_group(client: SqlManagementClient, setup: AgentSetup, credential_id: str) -> str:
    members = [{"type": "SqlServer", "serverName": setup.server, "refreshCredential": credential_id}]
    return client.job_target_groups.create_or_update(
        *setup.names(), "group", {"properties": {"members": members}}
    ).id


def _step_body(target_group: str, sql: str, step_id: int | None = None) -> dict:
    properties: dict = {"targetGroup": target_group, "action": {"value": sql}}
    if step_id is not None:
        properties["stepId"] = step_id
    return {"properties": properties}


def _step_order(client: SqlManagementClient, setup: AgentSetup, job: str) -> list[tuple[str, int]]:
    return [(s.name, s.properties.step_id) for s in client.job_steps.list_by_job(*setup.names(), job)]


def test_server_creates_master_and_databases_round_trip(
    client: SqlManagementClient, resource_group: str
) -> None:
    server = create_server(client, resource_group)
    assert server.properties.administrator_login == ADMIN_LOGIN
    assert server.properties.administrator_login_password is None
    assert server.location == LOCATION
    assert [s.name for s in client.servers.list_by_resource_group(resource_group)] == [server.name]
    assert [d.name for d in client.databases.list_by_server(resource_group, server.name)] == ["master"]

    database = create_database(client, resource_group, server.name, "TargetDb1")
    assert database.type == "Microsoft.Sql/servers/databases"
    assert database.properties.status == "Online"
    assert client.databases.get(resource_group, server.name, "targetdb1").id == database.id
    names = [d.name for d in client.databases.list_by_server(resource_group, server.name)]
    assert names == ["master", "TargetDb1"]

    client.databases.begin_delete(resource_group, server.name, "TargetDb1").result()
    with pytest.raises(ResourceNotFoundError):
        client.databases.get(resource_group, server.name, "TargetDb1")
    client.servers.begin_delete(resource_group, server.name).result()
    with pytest.raises(ResourceNotFoundError):
        client.servers.get(resource_group, server.name)
    assert list(client.servers.list_by_resource_group(resource_group)) == []


def test_agent_is_a_long_running_operation_from_creating_to_ready(
    client: SqlManagementClient, resource_group: str
) -> None:
    server = create_server(client, resource_group)
    database = create_database(client, resource_group, server.name, "JobDatabase")
    body = {"location": LOCATION, "properties": {"databaseId": database.id}}
    poller = client.job_agents.begin_create_or_update(resource_group, server.name, "agent", body)
    assert client.job_agents.get(resource_group, server.name, "agent").properties.state == "Creating"
    agent = poller.result()
    assert agent.properties.state == "Ready"
    assert (agent.sku.name, agent.sku.capacity) == ("JA100", 100)
    assert agent.properties.database_id == database.id

    updated = client.job_agents.begin_update(resource_group, server.name, "agent", {"sku": {"name": "JA400"}})
    assert client.job_agents.get(resource_group, server.name, "agent").properties.state == "Updating"
    assert (updated.result().sku.name, updated.result().sku.capacity) == ("JA400", 400)
    assert [a.name for a in client.job_agents.list_by_server(resource_group, server.name)] == ["agent"]

    client.job_agents.begin_delete(resource_group, server.name, "agent").result()
    with pytest.raises(ResourceNotFoundError):
        client.job_agents.get(resource_group, server.name, "agent")


def test_credential_password_is_write_only(
    client: SqlManagementClient, setup: AgentSetup, emulator: EmulatorProcess
) -> None:
    credential_id = _credential(client, setup, "masteruser")
    with emulator.http() as http:
        raw = http.get(credential_id, params={"api-version": "2025-01-01"})
    assert raw.status_code == 200
    assert "password" not in raw.text.lower()
    assert "Job-Pa55word!" not in raw.text
    changed = client.job_credentials.create_or_update(
        *setup.names(), "masteruser", {"properties": {"username": "other", "password": "x"}}
    )
    assert changed.properties.username == "other"
    assert [c.name for c in client.job_credentials.list_by_agent(*setup.names())] == ["masteruser"]
    client.job_credentials.delete(*setup.names(), "masteruser")
    assert list(client.job_credentials.list_by_agent(*setup.names())) == []
    client.job_credentials.delete(*setup.names(), "masteruser")  # absent: 204, no error


def test_target_group_members_of_every_type(client: SqlManagementClient, setup: AgentSetup) -> None:
    credential_id = _credential(client, setup)
    members = [
        {"type": "SqlServer", "serverName": "target-server", "refreshCredential": credential_id},
        {
            "membershipType": "Exclude",
            "type": "SqlDatabase",
            "serverName": "target-server",
            "databaseName": "TargetDb2",
        },
        {
            "type": "SqlElasticPool",
            "serverName": "s2",
            "elasticPoolName": "pool1",
            "refreshCredential": credential_id,
        },
        {
            "type": "SqlShardMap",
            "serverName": "s3",
            "shardMapName": "map1",
            "databaseName": "shardmapdb",
            "refreshCredential": credential_id,
        },
    ]
    group = client.job_target_groups.create_or_update(
        *setup.names(), "all-types", {"properties": {"members": members}}
    )
    got = client.job_target_groups.get(*setup.names(), "all-types")
    assert got.as_dict() == group.as_dict()
    assert [m.membership_type for m in got.properties.members] == ["Include", "Exclude", "Include", "Include"]
    assert [m.type for m in got.properties.members] == [
        "SqlServer",
        "SqlDatabase",
        "SqlElasticPool",
        "SqlShardMap",
    ]
    assert got.properties.members[3].shard_map_name == "map1"
    client.job_target_groups.create_or_update(*setup.names(), "empty", {"properties": {"members": []}})
    assert [g.name for g in client.job_target_groups.list_by_agent(*setup.names())] == ["all-types", "empty"]
    client.job_target_groups.delete(*setup.names(), "empty")
    assert [g.name for g in client.job_target_groups.list_by_agent(*setup.names())] == ["all-types"]


def test_job_schedule_defaults_and_changes_keep_the_version(
    client: SqlManagementClient, setup: AgentSetup
) -> None:
    job = client.jobs.create_or_update(*setup.names(), "Job1", {})
    schedule = job.properties.schedule
    assert job.properties.version == 0
    assert job.properties.description == ""
    assert (schedule.type, schedule.enabled) == ("Once", False)
    assert schedule.start_time.year == 1 and schedule.end_time.year == 9999
    assert schedule.interval is None

    recurring = {
        "properties": {
            "description": "hourly",
            "schedule": {
                "type": "Recurring",
                "interval": "PT1H",
                "enabled": True,
                "startTime": "2030-01-01T00:00:00+02:00",
            },
        }
    }
    job = client.jobs.create_or_update(*setup.names(), "Job1", recurring)
    assert job.properties.version == 0
    assert (job.properties.schedule.type, job.properties.schedule.interval) == ("Recurring", "PT1H")
    assert job.properties.schedule.start_time.isoformat() == "2029-12-31T22:00:00+00:00"
    assert [j.name for j in client.jobs.list_by_agent(*setup.names())] == ["Job1"]
    client.jobs.delete(*setup.names(), "Job1")
    with pytest.raises(ResourceNotFoundError):
        client.jobs.get(*setup.names(), "Job1")


def test_steps_order_renumbering_and_versions(client: SqlManagementClient, setup: AgentSetup) -> None:
    credential_id = _credential(client, setup)
    group_id = _target_group(client, setup, credential_id)
    client.jobs.create_or_update(*setup.names(), "Job1", {})
    steps = client.job_steps
    first = steps.create_or_update(*setup.names(), "Job1", "a", _step_body(group_id, "SELECT 'a'"))
    assert first.properties.step_id == 1
    options = first.properties.execution_options
    assert (options.timeout_seconds, options.retry_attempts) == (43200, 10)
    assert (options.initial_retry_interval_seconds, options.maximum_retry_interval_seconds) == (1, 120)
    assert options.retry_interval_backoff_multiplier == 2.0
    assert (first.properties.action.type, first.properties.action.source) == ("TSql", "Inline")

    steps.create_or_update(*setup.names(), "Job1", "b", _step_body(group_id, "SELECT 'b'"))
    steps.create_or_update(*setup.names(), "Job1", "first", _step_body(group_id, "SELECT 0", step_id=1))
    assert _step_order(client, setup, "Job1") == [("first", 1), ("a", 2), ("b", 3)]
    steps.create_or_update(*setup.names(), "Job1", "first", _step_body(group_id, "SELECT 0", step_id=3))
    assert _step_order(client, setup, "Job1") == [("a", 1), ("b", 2), ("first", 3)]
    assert client.jobs.get(*setup.names(), "Job1").properties.version == 4

    # The same PUT again changes nothing and makes no new version.
    steps.create_or_update(*setup.names(), "Job1", "first", _step_body(group_id, "SELECT 0"))
    assert client.jobs.get(*setup.names(), "Job1").properties.version == 4

    steps.delete(*setup.names(), "Job1", "a")
    assert _step_order(client, setup, "Job1") == [("b", 1), ("first", 2)]
    assert client.jobs.get(*setup.names(), "Job1").properties.version == 5

    versions = list(client.job_versions.list_by_job(*setup.names(), "Job1"))
    assert [v.name for v in versions] == ["1", "2", "3", "4", "5"]
    assert versions[0].id.endswith("/jobs/Job1/versions/1")
    assert client.job_versions.get(*setup.names(), "Job1", 3).name == "3"
    in_v3 = [(s.name, s.properties.step_id) for s in steps.list_by_version(*setup.names(), "Job1", 3)]
    assert in_v3 == [("first", 1), ("a", 2), ("b", 3)]
    old = steps.get_by_version(*setup.names(), "Job1", 1, "a")
    assert old.properties.action.value == "SELECT 'a'"
    assert old.properties.target_group == group_id
    with pytest.raises(ResourceNotFoundError):
        steps.get(*setup.names(), "Job1", "a")


def test_step_with_every_property(client: SqlManagementClient, setup: AgentSetup) -> None:
    credential_id = _credential(client, setup)
    group_id = _target_group(client, setup, credential_id)
    client.jobs.create_or_update(*setup.names(), "Job1", {})
    body = {
        "properties": {
            "targetGroup": group_id,
            "credential": credential_id,
            "action": {"type": "TSql", "source": "Inline", "value": "SELECT 1"},
            "executionOptions": {
                "timeoutSeconds": 60,
                "retryAttempts": 2,
                "initialRetryIntervalSeconds": 5,
                "maximumRetryIntervalSeconds": 10,
                "retryIntervalBackoffMultiplier": 3,
            },
            "output": {
                "serverName": setup.server,
                "databaseName": setup.job_database,
                "tableName": "results",
                "credential": credential_id,
            },
        }
    }
    step = client.job_steps.create_or_update(*setup.names(), "Job1", "full", body)
    assert step.properties.credential == credential_id
    assert step.properties.execution_options.retry_interval_backoff_multiplier == 3.0
    assert step.properties.output.schema_name == "dbo"
    assert step.properties.output.type == "SqlDatabase"
    assert client.job_steps.get(*setup.names(), "Job1", "full").as_dict() == step.as_dict()


async def test_async_client_drives_the_same_surface(emulator: EmulatorProcess, resource_group: str) -> None:
    server_name = unique_name("srv")
    async with emulator.aio_management_client() as sql:
        poller = await sql.servers.begin_create_or_update(
            resource_group,
            server_name,
            {
                "location": LOCATION,
                "properties": {"administratorLogin": "a", "administratorLoginPassword": "b"},
            },
        )
        await poller.result()
        poller = await sql.databases.begin_create_or_update(resource_group, server_name, "JobDatabase", {})
        database = await poller.result()
        body = {"location": LOCATION, "sku": {"name": "JA200"}, "properties": {"databaseId": database.id}}
        poller = await sql.job_agents.begin_create_or_update(resource_group, server_name, "agent", body)
        agent = await poller.result()
        assert (agent.properties.state, agent.sku.capacity) == ("Ready", 200)
        job = await sql.jobs.create_or_update(resource_group, server_name, "agent", "Job1", {})
        assert job.properties.version == 0
        names = [a.name async for a in sql.job_agents.list_by_server(resource_group, server_name)]
        assert names == ["agent"]


def test_lists_page_with_next_link(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "paged", page_size=2) as emulator:
        with emulator.management_client() as client:
            setup = create_agent_setup(client, "rg")
            for index in range(5):
                client.jobs.create_or_update(*setup.names(), f"job{index}", {})
            assert [j.name for j in client.jobs.list_by_agent(*setup.names())] == [
                f"job{i}" for i in range(5)
            ]
        with emulator.http() as http:
            page = http.get(f"{setup.agent_id}/jobs", params={"api-version": "2025-01-01"}).json()
        assert [j["name"] for j in page["value"]] == ["job0", "job1"]
        assert "%24skip=2" in page["nextLink"] and "api-version=2025-01-01" in page["nextLink"]


def test_deleting_a_job_cancels_and_removes_its_active_execution(
    client: SqlManagementClient, setup: AgentSetup, emulator: EmulatorProcess
) -> None:
    credential_id = _credential(client, setup, "nologin")  # no such login: every attempt fails
    members = [{"type": "SqlDatabase", "serverName": setup.server, "databaseName": setup.job_database}]
    group = client.job_target_groups.create_or_update(
        *setup.names(), "db", {"properties": {"members": members}}
    )
    client.jobs.create_or_update(*setup.names(), "Slow", {})
    body = _step_body(group.id, "SELECT 1")
    body["properties"]["credential"] = credential_id
    body["properties"]["executionOptions"] = {
        "initialRetryIntervalSeconds": 60,
        "maximumRetryIntervalSeconds": 60,
    }
    client.job_steps.create_or_update(*setup.names(), "Slow", "only", body)
    job_path = f"{setup.agent_id}/jobs/Slow"
    with emulator.http() as http:
        started = http.post(f"{job_path}/start", params={"api-version": "2025-01-01"})
        assert started.status_code == 200, started.text
        execution = started.json()
        assert execution["properties"]["lifecycle"] in ("Created", "InProgress", "WaitingForRetry")

        assert http.delete(job_path, params={"api-version": "2025-01-01"}).status_code == 200
        gone = http.get(execution["id"], params={"api-version": "2025-01-01"})
        listed = http.get(f"{setup.agent_id}/executions", params={"api-version": "2025-01-01"})
    assert gone.status_code == 404
    assert listed.status_code == 200
    assert execution["id"] not in [e["id"] for e in listed.json()["value"]]
