"""A table of bad requests, each answered with the right status and a clear ARM error body.

Most go through raw HTTPS (httpx) so the exact status, code and message are checked even where
the SDK's models would refuse to send the request; a few go through the SDK to show that it
surfaces ``error.code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from tests.support.definitions import AgentSetup, create_agent_setup
from tests.support.emulator import API_VERSION, EmulatorProcess, unique_name

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class World:
    """Definitions the bad requests are aimed at."""

    setup: AgentSetup
    credential_id: str
    group_id: str
    job_id: str
    other_agent_credential_id: str


@pytest.fixture(scope="module")
def world(emulator: EmulatorProcess) -> World:
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
        names = setup.names()
        credential = client.job_credentials.create_or_update(
            *names, "cred", {"properties": {"username": "jobuser", "password": "pw-1"}}
        )
        members = [{"type": "SqlServer", "serverName": setup.server, "refreshCredential": credential.id}]
        group = client.job_target_groups.create_or_update(
            *names, "group", {"properties": {"members": members}}
        )
        job = client.jobs.create_or_update(*names, "Job1", {})
        step = {
            "properties": {
                "targetGroup": group.id,
                "credential": credential.id,
                "action": {"value": "SELECT 1"},
            }
        }
        client.job_steps.create_or_update(*names, "Job1", "step1", step)
        other = create_agent_setup(client, setup.resource_group)
        other_credential = client.job_credentials.create_or_update(
            *other.names(), "cred", {"properties": {"username": "u", "password": "pw-2"}}
        )
    return World(setup, credential.id, group.id, job.id, other_credential.id)


def _step(world: World, **overrides: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "targetGroup": world.group_id,
        "credential": world.credential_id,
        "action": {"value": "SELECT 1"},
    }
    properties.update(overrides)
    return {"properties": properties}


def _options(**values: Any) -> dict[str, Any]:
    return {"executionOptions": values}


def _group(*members: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"members": list(members)}}


# (id, method, path relative to the agent ("" = agent itself; "/.." climbs), body builder,
#  status, code, text the message must contain)
CASES: list[tuple[str, str, str, Any, int, str, str]] = [
    (
        "agent-bad-sku",
        "PUT",
        "",
        lambda w: {
            "sku": {"name": "JA999"},
            "properties": {"databaseId": w.setup.server_id + "/databases/JobDatabase"},
        },
        400,
        "InvalidRequestContent",
        "sku.name",
    ),
    (
        "agent-missing-db",
        "PUT",
        "/../../jobAgents/new-agent",
        lambda w: {"properties": {"databaseId": w.setup.server_id + "/databases/nope"}},
        400,
        "InvalidRequestContent",
        "properties.databaseId",
    ),
    (
        "agent-no-properties",
        "PUT",
        "/../../jobAgents/new-agent",
        lambda w: {"location": "westus2"},
        400,
        "InvalidRequestContent",
        "'properties'",
    ),
    (
        "agent-db-is-master",
        "PUT",
        "/../../jobAgents/new-agent",
        lambda w: {"properties": {"databaseId": w.setup.server_id + "/databases/master"}},
        400,
        "InvalidRequestContent",
        "cannot be 'master'",
    ),
    (
        "credential-no-username",
        "PUT",
        "/credentials/c2",
        lambda w: {"properties": {"password": "x"}},
        400,
        "InvalidRequestContent",
        "properties.username",
    ),
    (
        "credential-no-password",
        "PUT",
        "/credentials/c2",
        lambda w: {"properties": {"username": "x"}},
        400,
        "InvalidRequestContent",
        "properties.password",
    ),
    (
        "member-unknown-type",
        "PUT",
        "/targetGroups/g2",
        lambda w: _group({"type": "SqlTable", "serverName": "s"}),
        400,
        "InvalidRequestContent",
        "properties.members[0].type",
    ),
    (
        "member-bad-membership",
        "PUT",
        "/targetGroups/g2",
        lambda w: _group(
            {"type": "SqlDatabase", "membershipType": "Maybe", "serverName": "s", "databaseName": "d"}
        ),
        400,
        "InvalidRequestContent",
        "membershipType",
    ),
    (
        "member-shardmap-no-shard-map-name",
        "PUT",
        "/targetGroups/g2",
        lambda w: _group(
            {
                "type": "SqlShardMap",
                "serverName": "s",
                "databaseName": "d",
                "refreshCredential": w.credential_id,
            }
        ),
        400,
        "InvalidRequestContent",
        "properties.members[0].shardMapName",
    ),
    (
        "member-field-of-other-type",
        "PUT",
        "/targetGroups/g2",
        lambda w: _group(
            {"type": "SqlDatabase", "serverName": "s", "databaseName": "d", "elasticPoolName": "p"}
        ),
        400,
        "InvalidRequestContent",
        "properties.members[0].elasticPoolName",
    ),
    (
        "member-credential-of-other-agent",
        "PUT",
        "/targetGroups/g2",
        lambda w: _group(
            {"type": "SqlServer", "serverName": "s", "refreshCredential": w.other_agent_credential_id}
        ),
        400,
        "InvalidResourceId",
        "refreshCredential",
    ),
    (
        "members-not-a-list",
        "PUT",
        "/targetGroups/g2",
        lambda w: {"properties": {"members": "all"}},
        400,
        "InvalidRequestContent",
        "properties.members",
    ),
    (
        "job-recurring-without-interval",
        "PUT",
        "/jobs/j2",
        lambda w: {"properties": {"schedule": {"type": "Recurring"}}},
        400,
        "InvalidRequestContent",
        "properties.schedule.interval",
    ),
    (
        "job-bad-interval",
        "PUT",
        "/jobs/j2",
        lambda w: {"properties": {"schedule": {"type": "Recurring", "interval": "1 hour"}}},
        400,
        "InvalidDuration",
        "PT1H",
    ),
    (
        "job-bad-schedule-type",
        "PUT",
        "/jobs/j2",
        lambda w: {"properties": {"schedule": {"type": "Weekly"}}},
        400,
        "InvalidRequestContent",
        "properties.schedule.type",
    ),
    (
        "job-end-before-start",
        "PUT",
        "/jobs/j2",
        lambda w: {
            "properties": {
                "schedule": {"startTime": "2030-01-02T00:00:00Z", "endTime": "2030-01-01T00:00:00Z"}
            }
        },
        400,
        "InvalidRequestContent",
        "properties.schedule.endTime",
    ),
    (
        "job-bad-start-time",
        "PUT",
        "/jobs/j2",
        lambda w: {"properties": {"schedule": {"startTime": "tomorrow"}}},
        400,
        "InvalidRequestContent",
        "properties.schedule.startTime",
    ),
    (
        "step-id-leaves-gap",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, stepId=5),
        400,
        "InvalidRequestContent",
        "properties.stepId",
    ),
    (
        "step-unknown-target-group",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, targetGroup=w.group_id + "x"),
        400,
        "InvalidResourceId",
        "properties.targetGroup",
    ),
    (
        "step-missing-target-group",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: {"properties": {"action": {"value": "SELECT 1"}}},
        400,
        "InvalidRequestContent",
        "properties.targetGroup",
    ),
    (
        "step-credential-of-other-agent",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, credential=w.other_agent_credential_id),
        400,
        "InvalidResourceId",
        "properties.credential",
    ),
    (
        "step-empty-sql",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, action={"value": "  "}),
        400,
        "InvalidRequestContent",
        "properties.action.value",
    ),
    (
        "step-unsupported-action-type",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, action={"type": "PowerShell", "value": "x"}),
        400,
        "InvalidRequestContent",
        "properties.action.type",
    ),
    (
        "step-initial-above-max",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, **_options(initialRetryIntervalSeconds=200)),
        400,
        "InvalidRequestContent",
        "initialRetryIntervalSeconds",
    ),
    (
        "step-negative-retries",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, **_options(retryAttempts=-1)),
        400,
        "InvalidRequestContent",
        "properties.executionOptions.retryAttempts",
    ),
    (
        "step-multiplier-below-one",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, **_options(retryIntervalBackoffMultiplier=0.5)),
        400,
        "InvalidRequestContent",
        "retryIntervalBackoffMultiplier",
    ),
    (
        "step-zero-timeout",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, **_options(timeoutSeconds=0)),
        400,
        "InvalidRequestContent",
        "properties.executionOptions.timeoutSeconds",
    ),
    (
        "step-output-without-table",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: _step(w, output={"serverName": "s", "databaseName": "d"}),
        400,
        "InvalidRequestContent",
        "properties.output.tableName",
    ),
    (
        "step-body-not-object",
        "PUT",
        "/jobs/Job1/steps/s9",
        lambda w: ["not", "an", "object"],
        400,
        "InvalidResourceRequestBody",
        "JSON object",
    ),
    (
        "step-of-missing-job",
        "PUT",
        "/jobs/NoJob/steps/s1",
        lambda w: _step(w),
        404,
        "ParentResourceNotFound",
        "NoJob",
    ),
    (
        "missing-job",
        "GET",
        "/jobs/NoSuchJob",
        None,
        404,
        "ResourceNotFound",
        "Microsoft.Sql/servers/jobAgents/jobs/NoSuchJob",
    ),
    (
        "job-of-missing-agent",
        "GET",
        "/../no-agent/jobs/Job1",
        None,
        404,
        "JobAgentNotFound",
        "no-agent",
    ),
    (
        "missing-agent",
        "GET",
        "/../no-agent",
        None,
        404,
        "JobAgentNotFound",
        "no-agent",
    ),
    (
        "agent-of-missing-server",
        "GET",
        "/../../../no-server/jobAgents/a1",
        None,
        404,
        "ServerNotInSubscriptionResourceGroup",
        "no-server",
    ),
    ("missing-version", "GET", "/jobs/Job1/versions/7", None, 404, "ResourceNotFound", "versions/7"),
    ("delete-credential-in-use", "DELETE", "/credentials/cred", None, 409, "CredentialInUse", "step1"),
    ("delete-target-group-in-use", "DELETE", "/targetGroups/group", None, 409, "TargetGroupInUse", "step1"),
    ("delete-master", "DELETE", "/../../databases/master", None, 400, "CannotDeleteSystemDatabase", "master"),
    (
        "server-without-password",
        "PUT",
        "/../../../brand-new-server-x1",
        lambda w: {"location": "westus2", "properties": {"administratorLogin": "a"}},
        400,
        "InvalidRequestContent",
        "properties.administratorLoginPassword",
    ),
    ("unknown-resource-type", "GET", "/widgets", None, 404, "InvalidResourceType", "/widgets"),
]


def _url(world: World, relative: str) -> str:
    parts = world.setup.agent_id.split("/")
    for piece in relative.split("/")[1:] if relative else []:
        if piece == "..":
            parts.pop()
        else:
            parts.append(piece)
    return "/".join(parts)


@pytest.mark.parametrize(
    ("method", "relative", "body", "status", "code", "text"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_request_gets_a_clear_arm_error(
    emulator: EmulatorProcess,
    world: World,
    method: str,
    relative: str,
    body: Any,
    status: int,
    code: str,
    text: str,
) -> None:
    with emulator.http() as http:
        response = http.request(
            method,
            _url(world, relative),
            params={"api-version": API_VERSION},
            json=body(world) if body else None,
        )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert text in error["message"]


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 15


def test_api_version_missing_malformed_or_unpublished(emulator: EmulatorProcess, world: World) -> None:
    with emulator.http() as http:
        missing = http.get(world.job_id)
        malformed = http.get(world.job_id, params={"api-version": "latest"})
        unpublished = http.get(world.job_id, params={"api-version": "2019-06-01-preview"})
        oldest = http.get(world.job_id, params={"api-version": "2017-03-01-preview"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "MissingApiVersionParameter")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert malformed.json()["error"]["message"].startswith("The api-version 'latest' is invalid.")
    # 2019-06-01-preview was published for servers and databases, never for job agents.
    assert (unpublished.status_code, unpublished.json()["error"]["code"]) == (400, "InvalidResourceType")
    message = unpublished.json()["error"]["message"]
    assert "'servers/jobAgents/jobs'" in message and "for api version '2019-06-01-preview'" in message
    newest_first = "'2026-08-01-preview, 2025-08-01-preview, 2025-02-01-preview, 2025-01-01,"
    assert f"The supported api-versions are {newest_first}" in message
    assert message.endswith("2020-11-01-preview, 2017-03-01-preview'.")
    assert oldest.status_code == 200, oldest.text


def test_sdk_surfaces_the_error_code(emulator: EmulatorProcess, world: World) -> None:
    names = world.setup.names()
    with emulator.management_client() as client:
        with pytest.raises(HttpResponseError) as bad_interval:
            client.jobs.create_or_update(
                *names, "j3", {"properties": {"schedule": {"type": "Recurring", "interval": "P0D"}}}
            )
        with pytest.raises(HttpResponseError) as busy:
            client.job_target_groups.delete(*names, "group")
    assert (bad_interval.value.status_code, bad_interval.value.error.code) == (400, "InvalidDuration")
    assert "properties.schedule.interval" in bad_interval.value.error.message
    assert (busy.value.status_code, busy.value.error.code) == (409, "TargetGroupInUse")


def test_server_names_are_global(emulator: EmulatorProcess, world: World) -> None:
    body = {
        "location": "westus2",
        "properties": {"administratorLogin": "a", "administratorLoginPassword": "b"},
    }
    with emulator.management_client() as client, pytest.raises(HttpResponseError) as taken:
        client.servers.begin_create_or_update(unique_name("rg"), world.setup.server, body).result()
    assert (taken.value.status_code, taken.value.error.code) == (409, "NameAlreadyExists")


def test_agent_busy_while_creating(emulator: EmulatorProcess, world: World) -> None:
    setup = world.setup
    body = {"properties": {"databaseId": f"{setup.server_id}/databases/JobDatabase"}}
    with emulator.management_client() as client:
        poller = client.job_agents.begin_create_or_update(
            setup.resource_group, setup.server, "busy-agent", body
        )
        with pytest.raises(HttpResponseError) as busy:
            client.job_agents.begin_update(
                setup.resource_group, setup.server, "busy-agent", {"sku": {"name": "JA200"}}
            )
        assert poller.result().properties.state == "Ready"
    assert (busy.value.status_code, busy.value.error.code) == (409, "AnotherOperationInProgress")


def test_malformed_json_is_a_400(emulator: EmulatorProcess, world: World) -> None:
    with emulator.http() as http:
        response = http.put(
            f"{world.job_id}x",
            params={"api-version": API_VERSION},
            content=b'{"properties": ',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequestContent"
    assert "body" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("relative", "name"),
    [
        pytest.param("/jobs/NoSuchJob", "jobs/NoSuchJob", id="missing-job"),
        pytest.param(
            "/jobs/Job1/executions/00000000-0000-0000-0000-000000000000",
            "executions/00000000-0000-0000-0000-000000000000",
            id="missing-execution",
        ),
    ],
)
def test_not_found_names_the_resource_group(
    emulator: EmulatorProcess, world: World, relative: str, name: str
) -> None:
    with emulator.http() as http:
        response = http.get(_url(world, relative), params={"api-version": API_VERSION})
    assert response.status_code == 404, response.text
    message = response.json()["error"]["message"]
    assert f"{name}' under resource group '{world.setup.resource_group}' was not found" in message
