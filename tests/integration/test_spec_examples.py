"""Replays the 2025-01-01 REST spec's examples against the running emulator and compares wire shapes.

The examples are copies, trimmed to what this test uses, of files of ``Azure/azure-rest-api-specs``
(MIT licence), ``specification/sql/resource-manager/Microsoft.Sql/stable/2025-01-01/examples/``;
``spec_examples/README.md`` lists them. Each example is sent as raw HTTPS (static token): the point
is the wire shape, not the SDK. A match is: the emulator's status is one the example lists, and
every key of the example's body for that status is in the emulator's body with the same JSON
type, recursively (values such as ids and times are not compared; keys the emulator adds are
allowed). For a 202 (job agent and private endpoint operations) the final resource, read from the
operation's ``Location`` (the spec's ``final-state-via: location``), is compared with the example's
200/201 body. Exceptions are listed in ``KNOWN_DIFFERENCES`` (ignored
key paths) and ``NOT_SERVED`` (whole examples, strict xfail), each with its reason, as in
docs/emulator.md "Spec example replay".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.emulator import EmulatorProcess

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parent / "spec_examples"
_WAIT_SECONDS = 30.0

# (example, dotted key path) -> reason the emulator answers without it.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("CreateDatabaseMin.json", "properties.defaultSecondaryLocation"): (
        "the geo-paired region of the location; the emulator has no region pairs"
    ),
}
# examples the emulator does not serve yet -> reason (strict xfail: a fix must remove the entry).
NOT_SERVED: dict[str, str] = {}

# What each example needs to exist before it is sent.
_NEEDS: dict[str, tuple[str, ...]] = {
    "ServerGet.json": ("server",),
    "CreateDatabaseMin.json": ("server",),
    "GetJobAgent.json": ("agent",),
    "CreateOrUpdateJobAgentWithSku.json": ("database", "no-agent"),
    "UpdateJobAgentWithSku.json": ("agent",),
    "UpdateJobAgentWithIdentity.json": ("agent",),
    "DeleteJobAgent.json": ("agent",),
    "CreateOrUpdateJobCredential.json": ("agent", "no-credential"),
    "DeleteJobCredential.json": ("credential",),
    "CreateOrUpdateJobTargetGroupMax.json": ("credential", "no-target-group"),
    "CreateOrUpdateJobMin.json": ("agent", "no-job"),
    "CreateOrUpdateJobExecution.json": ("job",),
    "CreateOrUpdateJobPrivateEndpoint.json": ("target-server", "no-private-endpoint"),
    "DeleteJobPrivateEndpoint.json": ("private-endpoint",),
    "GetJobPrivateEndpoint.json": ("private-endpoint",),
    "ListJobPrivateEndpointsByAgent.json": ("private-endpoint",),
}
_METHODS = {"Get": "GET", "List": "GET", "Create": "PUT", "Update": "PATCH", "Delete": "DELETE"}
_SEGMENTS = (
    ("serverName", "servers"),
    ("databaseName", "databases"),
    ("jobAgentName", "jobAgents"),
    ("credentialName", "credentials"),
    ("targetGroupName", "targetGroups"),
    ("jobName", "jobs"),
    ("jobExecutionId", "executions"),
    ("privateEndpointName", "privateEndpoints"),
)
_LIST_COLLECTION = {"ListJobPrivateEndpointsByAgent.json": "privateEndpoints"}


def _load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def _path(parameters: dict[str, Any], upto: str | None = None) -> str:
    path = (
        f"/subscriptions/{parameters['subscriptionId']}/resourceGroups/{parameters['resourceGroupName']}"
        "/providers/Microsoft.Sql"
    )
    for key, collection in _SEGMENTS:
        if key in parameters:
            path += f"/{collection}/{parameters[key]}"
        if key == upto:
            break
    return path


def _target_server(server: str) -> str:
    """The server the private endpoint examples target (``targetserver1``, next to ``server``)."""
    return server.rsplit("/", 1)[0] + "/targetserver1"


def shape_differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Key paths where ``actual`` lacks a key of ``expected`` or has another JSON type there."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or '<body>'}: object expected, got {type(actual).__name__}"]
        out: list[str] = []
        for key, value in expected.items():
            path = f"{where}.{key}" if where else key
            if key not in actual:
                out.append(f"{path}: missing")
            else:
                out += shape_differences(value, actual[key], path)
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: array expected, got {type(actual).__name__}"]
        return shape_differences(expected[0], actual[0], f"{where}[0]") if expected and actual else []
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = isinstance(expected, bool) and isinstance(actual, bool)
    elif isinstance(expected, int | float):
        same = isinstance(actual, int | float)
    else:
        same = type(expected) is type(actual)
    return [] if same else [f"{where}: {type(expected).__name__} expected, got {type(actual).__name__}"]


class Replayer:
    """Raw HTTPS against the emulator, with the setup each example needs."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.http = httpx.Client(
            base_url=emulator.url,
            verify=str(emulator.cert_path),
            headers={"Authorization": f"Bearer {emulator.token}"},
            params={"api-version": "2025-01-01"},
            timeout=30.0,
        )

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, path, json=body)

    def ensure(self, parameters: dict[str, Any], need: str) -> None:
        server = _path(parameters, "serverName")
        agent = f"{server}/jobAgents/{parameters.get('jobAgentName', 'agent1')}"
        credential_base = f"{agent}/credentials"
        if need.startswith("no-"):
            target = {
                "no-agent": agent,
                "no-credential": f"{credential_base}/{parameters.get('credentialName', '')}",
                "no-target-group": f"{agent}/targetGroups/{parameters.get('targetGroupName', '')}",
                "no-job": f"{agent}/jobs/{parameters.get('jobName', '')}",
                "no-private-endpoint": f"{agent}/privateEndpoints/{parameters.get('privateEndpointName')}",
            }[need]
            self._delete(target)
            return
        body = {
            "location": "Japan East",
            "tags": {"tagKey1": "TagValue1"},
            "properties": {"administratorLogin": "dummylogin"},
        }
        body["properties"]["administratorLoginPassword"] = "Pa55-example-only"
        assert self.call("PUT", server, body).status_code == 200
        if need in ("target-server", "private-endpoint"):
            assert self.call("PUT", _target_server(server), body).status_code == 200
        if need == "server":
            return
        database = f"{server}/databases/db1"
        assert self.call("PUT", database, {}).status_code in (200, 201)
        if need == "database":
            return
        if self.call("GET", agent).status_code == 404:
            answer = self.call(
                "PUT", agent, {"location": "southeastasia", "properties": {"databaseId": database}}
            )
            assert answer.status_code == 202, answer.text
        self._wait_for(agent, lambda doc: doc is not None and doc["properties"]["state"] == "Ready")
        for credential in ("cred1", "testCredential"):
            body = {"properties": {"username": "myuser", "password": "Pa55-example-only"}}
            assert self.call("PUT", f"{credential_base}/{credential}", body).status_code in (200, 201)
        if need == "private-endpoint":
            target = {"properties": {"targetServerAzureResourceId": _target_server(server)}}
            answer = self.call(
                "PUT",
                f"{agent}/privateEndpoints/{parameters.get('privateEndpointName', 'endpoint1')}",
                target,
            )
            assert answer.status_code in (200, 202), answer.text
            if answer.status_code == 202:
                self.settle(answer)
        if need == "job":
            assert self.call("PUT", f"{agent}/jobs/{parameters['jobName']}", {}).status_code in (200, 201)

    def _delete(self, resource: str) -> None:
        assert self.call("DELETE", resource).status_code in (200, 202, 204)
        self._wait_for(resource, lambda doc: doc is None)

    def settle(self, accepted: httpx.Response) -> dict[str, Any] | None:
        """Poll the ``Location`` of a 202 (the spec's ``final-state-via: location``) until the operation
        is done; return the final resource, or None once deleted (204)."""
        deadline = time.monotonic() + _WAIT_SECONDS
        while True:
            answer = self.http.get(accepted.headers["Location"])
            if answer.status_code != 202 or time.monotonic() > deadline:
                assert answer.status_code in (200, 204), (
                    f"operation not done in {_WAIT_SECONDS}s: {answer.text}"
                )
                return answer.json() if answer.status_code == 200 else None
            time.sleep(0.2)

    def _wait_for(self, resource: str, done: Any) -> dict[str, Any] | None:
        deadline = time.monotonic() + _WAIT_SECONDS
        while True:
            answer = self.call("GET", resource)
            doc = answer.json() if answer.status_code == 200 else None
            if done(doc) or time.monotonic() > deadline:
                assert done(doc), f"{resource} did not settle in {_WAIT_SECONDS}s: {answer.text}"
                return doc
            time.sleep(0.2)


@pytest.fixture(scope="module")
def replayer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayer]:
    """An emulator of this module's own: the examples use fixed (global) server names."""
    state = tmp_path_factory.mktemp("spec-examples")
    with EmulatorProcess(state, token="spec-token", agent_provisioning_seconds=0.2) as process:
        replay = Replayer(process)
        yield replay
        replay.http.close()


def _request(name: str) -> tuple[str, str, Any]:
    parameters = _load(name)["parameters"]
    verb = next(method for word, method in _METHODS.items() if word in name)
    path = _path(parameters)
    if name in _LIST_COLLECTION:
        path += f"/{_LIST_COLLECTION[name]}"
    return verb, path, parameters.get("parameters")


def _cases() -> list[Any]:
    names = sorted(path.name for path in EXAMPLES.glob("*.json"))
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_SERVED[name]))
        if name in NOT_SERVED
        else name
        for name in names
    ]


def test_every_committed_example_has_its_setup() -> None:
    assert sorted(_NEEDS) == sorted(path.name for path in EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("name", _cases())
def test_example_replays_with_the_spec_shape(replayer: Replayer, name: str) -> None:
    example = _load(name)
    parameters = example["parameters"]
    for need in _NEEDS[name]:
        replayer.ensure(parameters, need)
    method, path, body = _request(name)
    answer = replayer.call(method, path, body)
    responses = example["responses"]
    assert str(answer.status_code) in responses, f"{method} {path}: {answer.status_code} {answer.text}"
    actual: Any = answer.json() if answer.content else None
    expected = responses[str(answer.status_code)].get("body")
    if answer.status_code == 202:
        assert set(actual) == {"operation", "startTime"}, actual
        final = replayer.settle(answer)
        done = next((responses[code] for code in ("200", "201") if code in responses), {})
        expected, actual = done.get("body"), final
    if expected is None:
        return
    ignored = {path for (example_name, path) in KNOWN_DIFFERENCES if example_name == name}
    differences = [d for d in shape_differences(expected, actual) if d.split(":")[0] not in ignored]
    assert differences == [], f"{name}: {differences}\nemulator answered: {json.dumps(actual)[:2000]}"


def test_location_is_normalised_and_identity_ids_are_stable(replayer: Replayer) -> None:
    parameters = _load("UpdateJobAgentWithIdentity.json")["parameters"]
    replayer.ensure(parameters, "agent")
    server = replayer.call("GET", _path(parameters, "serverName")).json()
    assert server["location"] == "japaneast"  # sent as "Japan East"
    agent_path = _path(parameters)
    identities = []
    for _ in range(2):
        answer = replayer.call("PATCH", agent_path, parameters["parameters"])
        assert answer.status_code == 202, answer.text
        done = replayer._wait_for(agent_path, lambda doc: doc["properties"]["state"] == "Ready")
        assert done is not None
        identities.append(done["identity"]["userAssignedIdentities"])
    assert identities[0] == identities[1]
    (ids,) = identities[0].values()
    assert ids["clientId"] != ids["principalId"]
