"""Job agent private endpoints (``jobAgents/{agent}/privateEndpoints``): the real azure-mgmt-sql client's
``job_private_endpoints`` operations over HTTPS, plus raw HTTP for status codes, polling headers and errors.

The contract is ``JobPrivateEndpoints.json`` of the REST spec (2023-05-01-preview … 2025-01-01);
docs/emulator.md "Private endpoints" lists what the emulator decides where the spec only names codes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.sql import SqlManagementClient

from tests.support.definitions import AgentSetup, create_agent_setup, create_server
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration

_VERSION = {"api-version": "2025-01-01"}
_WAIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """An emulator of this module's own: lists page by 2; operations take 1.5 s, long enough for the
    requests a test sends while one runs, even on a busy machine."""
    state = tmp_path_factory.mktemp("private-endpoints")
    with EmulatorProcess(state, token="pe-token", page_size=2, agent_provisioning_seconds=1.5) as process:
        yield process


@pytest.fixture
def client(emulator: EmulatorProcess) -> Iterator[SqlManagementClient]:
    with emulator.management_client(polling_interval=0.2) as sql:
        yield sql


@pytest.fixture
def http(emulator: EmulatorProcess) -> Iterator[httpx.Client]:
    with emulator.http() as raw:
        raw.params = _VERSION
        yield raw


@pytest.fixture
def setup(client: SqlManagementClient, resource_group: str) -> AgentSetup:
    return create_agent_setup(client, resource_group)


def _target(client: SqlManagementClient) -> str:
    """The id of a new server in a resource group of its own (a private endpoint may target any server)."""
    return create_server(client, unique_name("rg-target")).id


def _body(target_id: str) -> dict[str, Any]:
    return {"properties": {"targetServerAzureResourceId": target_id}}


def _error(answer: httpx.Response, status: int) -> dict[str, str]:
    assert answer.status_code == status, answer.text
    return answer.json()["error"]


def _poll(http: httpx.Client, url: str) -> httpx.Response:
    """GET an operation URL (absolute, with its own api-version) until it stops answering 202."""
    deadline = time.monotonic() + _WAIT_SECONDS
    while True:
        answer = http.get(url, params={})
        if answer.status_code != 202 or time.monotonic() > deadline:
            assert answer.status_code != 202, f"{url} still running after {_WAIT_SECONDS}s"
            return answer
        time.sleep(0.1)


def test_create_get_list_delete_with_the_sdk(client: SqlManagementClient, setup: AgentSetup) -> None:
    target_id = _target(client)
    poller = client.job_private_endpoints.begin_create_or_update(
        *setup.names(), "endpoint1", _body(target_id)
    )
    endpoint = poller.result()
    assert endpoint.id == f"{setup.agent_id}/privateEndpoints/endpoint1"
    assert (endpoint.name, endpoint.type) == ("endpoint1", "Microsoft.Sql/servers/jobAgents/privateEndpoints")
    assert endpoint.target_server_azure_resource_id == target_id
    assert endpoint.private_endpoint_id.startswith("EJ_") and endpoint.private_endpoint_id.endswith(
        "_endpoint1"
    )

    fetched = client.job_private_endpoints.get(*setup.names(), "ENDPOINT1")  # names are case-insensitive
    assert fetched.as_dict() == endpoint.as_dict()
    assert [e.name for e in client.job_private_endpoints.list_by_agent(*setup.names())] == ["endpoint1"]

    client.job_private_endpoints.begin_delete(*setup.names(), "endpoint1").result()
    with pytest.raises(ResourceNotFoundError):
        client.job_private_endpoints.get(*setup.names(), "endpoint1")
    assert list(client.job_private_endpoints.list_by_agent(*setup.names())) == []


def test_list_by_agent_follows_next_link(
    client: SqlManagementClient, setup: AgentSetup, http: httpx.Client
) -> None:
    pollers = [
        client.job_private_endpoints.begin_create_or_update(*setup.names(), f"pe{i}", _body(_target(client)))
        for i in range(3)
    ]
    for poller in pollers:
        poller.result()
    names = [e.name for e in client.job_private_endpoints.list_by_agent(*setup.names())]
    assert names == ["pe0", "pe1", "pe2"]
    page = http.get(f"{setup.agent_id}/privateEndpoints").json()
    assert [e["name"] for e in page["value"]] == ["pe0", "pe1"]
    assert "%24skip=2" in page["nextLink"] and "api-version=2025-01-01" in page["nextLink"]


def test_put_and_delete_are_long_running_operations(
    client: SqlManagementClient, setup: AgentSetup, http: httpx.Client
) -> None:
    target_id = _target(client)
    path = f"{setup.agent_id}/privateEndpoints/pe"
    answer = http.put(path, json=_body(target_id))
    assert answer.status_code == 202, answer.text
    assert set(answer.json()) == {"operation", "startTime"}
    assert answer.json()["operation"] == "UpsertJobAgentPrivateEndpoint"
    location, status_url = answer.headers["Location"], answer.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Sql/locations/westus2/jobAgentPrivateEndpointOperationResults/" in location
    assert "/jobAgentPrivateEndpointAzureAsyncOperation/" in status_url
    assert "api-version=2025-01-01" in location and int(answer.headers["Retry-After"]) >= 1

    busy = _error(http.delete(path), 400)
    assert busy["code"] == "ElasticJobAgentIsBusy" and "'pe' is being created" in busy["message"]
    assert http.get(status_url, params={}).json()["status"] == "InProgress"

    done = _poll(http, location)
    assert done.status_code == 200 and done.json()["properties"]["targetServerAzureResourceId"] == target_id
    assert http.get(status_url, params={}).json()["status"] == "Succeeded"

    again = http.put(path, json=_body(target_id))  # nothing changes: the endpoint, at once
    assert again.status_code == 200 and again.json() == done.json()

    deleting = http.delete(path)
    assert deleting.status_code == 202 and deleting.json()["operation"] == "DropJobAgentPrivateEndpoint"
    assert _poll(http, deleting.headers["Location"]).status_code == 204
    assert http.get(path).status_code == 404
    assert http.delete(path).status_code == 204


def test_invalid_requests_name_the_field_and_the_fix(
    client: SqlManagementClient, setup: AgentSetup, http: httpx.Client, emulator: EmulatorProcess
) -> None:
    path = f"{setup.agent_id}/privateEndpoints/pe"
    missing_server = emulator.arm_path("nowhere", "servers", "ghost")
    error = _error(http.put(path, json=_body(missing_server)), 400)
    assert error["code"] == "InvalidParameterValue"
    assert (
        "properties.targetServerAzureResourceId" in error["message"]
        and "'ghost' does not exist" in error["message"]
    )

    database_id = f"{setup.server_id}/databases/{setup.job_database}"
    for bad in (database_id, "targetserver1", f"{setup.server_id}/"):
        error = _error(http.put(path, json=_body(bad)), 400)
        assert (
            error["code"] == "InvalidParameterValue"
            and "is not the resource id of a server" in error["message"]
        )
    assert "properties" in _error(http.put(path, json={}), 400)["message"]
    assert _error(http.put(path, json={"properties": {}}), 400)["code"] == "InvalidRequestContent"
    assert http.get(path).status_code == 404  # nothing was created

    first, second = _target(client), _target(client)
    client.job_private_endpoints.begin_create_or_update(*setup.names(), "pe", _body(first)).result()
    error = _error(http.put(path, json=_body(second)), 400)
    assert error["code"] == "PropertyChangeUnsupported" and first in error["message"]
    error = _error(http.put(f"{setup.agent_id}/privateEndpoints/other", json=_body(first.upper())), 400)
    assert error["code"] == "ElasticJobAgentResourceAlreadyExists" and "'pe'" in error["message"]
    with pytest.raises(HttpResponseError) as raised:
        client.job_private_endpoints.begin_create_or_update(*setup.names(), "pe", _body(second))
    assert raised.value.error.code == "PropertyChangeUnsupported"


def test_missing_parents_and_endpoints_are_404(
    client: SqlManagementClient, setup: AgentSetup, http: httpx.Client
) -> None:
    group, server, _agent = setup.names()
    with pytest.raises(ResourceNotFoundError) as raised:
        client.job_private_endpoints.get(*setup.names(), "absent")
    assert raised.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as raised:
        list(client.job_private_endpoints.list_by_agent(group, server, "no-agent"))
    assert raised.value.error.code == "JobAgentNotFound"
    error = _error(
        http.put(f"{setup.server_id}/jobAgents/no-agent/privateEndpoints/pe", json=_body("x")), 404
    )
    assert error["code"] == "JobAgentNotFound"
    with pytest.raises(ResourceNotFoundError) as raised:
        client.job_private_endpoints.begin_delete(group, "no-server", "agent", "pe")
    assert raised.value.error.code == "ServerNotInSubscriptionResourceGroup"


@pytest.mark.parametrize("version", ["2023-02-01-preview", "2020-11-01-preview", "2017-03-01-preview"])
def test_api_versions_before_2023_05_01_preview_are_refused(
    setup: AgentSetup, http: httpx.Client, version: str
) -> None:
    for method in ("GET", "PUT"):
        answer = http.request(
            method, f"{setup.agent_id}/privateEndpoints/pe", params={"api-version": version}, json=_body("x")
        )
        error = _error(answer, 400)
        assert error["code"] == "InvalidResourceType"
        assert f"api version '{version}'" in error["message"] and "2023-05-01-preview" in error["message"]
    status = http.get(
        f"{setup.server_id.split('/resourceGroups/')[0]}/resourceGroups/{setup.resource_group}"
        "/providers/Microsoft.Sql/locations/westus2/jobAgentPrivateEndpointOperationResults/x",
        params={"api-version": version},
    )
    assert _error(status, 400)["code"] == "InvalidResourceType"
    assert http.get(
        f"{setup.agent_id}/privateEndpoints", params={"api-version": "2023-05-01-preview"}
    ).json() == {"value": []}


def test_deleting_the_agent_deletes_its_private_endpoints_and_they_survive_a_restart(
    client: SqlManagementClient, setup: AgentSetup, emulator: EmulatorProcess
) -> None:
    target_id = _target(client)
    client.job_private_endpoints.begin_create_or_update(*setup.names(), "kept", _body(target_id)).result()
    emulator.restart(kill=True)
    with emulator.management_client(polling_interval=0.2) as sql:
        assert (
            sql.job_private_endpoints.get(*setup.names(), "kept").target_server_azure_resource_id == target_id
        )
        sql.job_agents.begin_delete(*setup.names()).result()
        database_id = f"{setup.server_id}/databases/{setup.job_database}"
        body = {"location": "westus2", "properties": {"databaseId": database_id}}
        sql.job_agents.begin_create_or_update(*setup.names(), body).result()
        assert list(sql.job_private_endpoints.list_by_agent(*setup.names())) == []
        with pytest.raises(ResourceNotFoundError):
            sql.job_private_endpoints.get(*setup.names(), "kept")


def test_a_busy_agent_refuses_private_endpoint_changes(
    client: SqlManagementClient, setup: AgentSetup, http: httpx.Client
) -> None:
    body = _body(_target(client))
    updating = http.patch(setup.agent_id, json={"sku": {"name": "JA200"}})
    assert updating.status_code == 202, updating.text
    error = _error(http.put(f"{setup.agent_id}/privateEndpoints/pe", json=body), 400)
    assert error["code"] == "ElasticJobAgentIsBusy" and "the job agent is updating" in error["message"]
    assert _poll(http, updating.headers["Location"]).json()["properties"]["state"] == "Ready"
    assert (
        client.job_private_endpoints.begin_create_or_update(*setup.names(), "pe", body).result().name == "pe"
    )
