"""Replays the 2025-01-01 REST spec's examples against the running emulator and compares wire shapes.

The examples are copies, trimmed to what this test uses, of files of ``Azure/azure-rest-api-specs``
(MIT licence), ``specification/sql/resource-manager/Microsoft.Sql/stable/2025-01-01/examples/``
(or the nearest earlier version where the stored copy lacks the 2025-01-01 file);
``spec_examples/README.md`` lists them and their versions. Each example is sent as raw HTTPS
(static token, api-version 2025-01-01) after ``Replayer.ensure`` built what it reads through ARM:
the point is the wire shape, not the SDK. A match is: the emulator's status is one the example
lists, and every key of the example's body for that status is in the emulator's body with the same
JSON type, recursively (values such as ids and times are not compared; keys the emulator adds are
allowed; a list item is compared with the listed item of the same name when there is one). For
a 202 (job agent and private endpoint operations) the final resource, read from the operation's
``Location`` (the spec's ``final-state-via: location``), is compared with the example's 200/201
body. Exceptions are listed in ``KNOWN_DIFFERENCES`` (ignored key paths) and ``NOT_SERVED``
(whole examples, strict xfail), each with its reason, as in docs/emulator.md
"Spec example replay".
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.emulator import EmulatorProcess

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parent / "spec_examples"
_WAIT_SECONDS = 30.0
_TERMINAL = {"Succeeded", "SucceededWithSkipped", "Failed", "TimedOut", "Canceled", "Skipped"}
# List examples whose spec filter selects nothing the setup made (2017 times): the envelope is compared.
_EMPTY_LISTS = {"ListJobExecutionsByAgentWithFilter.json"}

# (example, dotted key path) -> reason the emulator answers without it.
_NO_REGION_PAIRS = "the geo-paired region of the location; the emulator has no region pairs"
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("CreateDatabaseMin.json", "properties.defaultSecondaryLocation"): _NO_REGION_PAIRS,
    ("CreateDatabaseDefaultMode.json", "properties.defaultSecondaryLocation"): _NO_REGION_PAIRS,
    ("CreateVCoreDatabaseBySkuNameCapacity.json", "properties.defaultSecondaryLocation"): _NO_REGION_PAIRS,
    ("CreateVCoreDatabaseByServiceObjective.json", "properties.defaultSecondaryLocation"): _NO_REGION_PAIRS,
    ("GetVCoreDatabase.json", "properties.defaultSecondaryLocation"): _NO_REGION_PAIRS,
    ("ListVCoreDatabasesByServer.json", "value[0].properties.defaultSecondaryLocation"): _NO_REGION_PAIRS,
}
# examples the emulator does not serve yet -> reason (strict xfail: a fix must remove the entry).
NOT_SERVED: dict[str, str] = {
    "CreateOrUpdateJobAgentWithIdentity.json": (
        "the example (2023-05-01-preview copy) spells the key 'userAssignedIdentites'; the schema, "
        "Azure and the emulator use 'userAssignedIdentities'"
    ),
}

# What each example needs before it is sent (see ``Replayer.ensure``), in order.
_AGENT = ("agent",)
_FRESH_JOB = ("agent", "fresh-job")
_STEP = ("agent", "target-groups", "fresh-job", "step")
_RUN = ("agent", "finished-execution")
_NEEDS: dict[str, tuple[str, ...]] = {
    "ServerCreate.json": ("no-server",),
    "ServerGet.json": ("server",),
    "ServerUpdate.json": ("server",),
    "ServerDelete.json": ("server",),
    "ServerList.json": ("server",),
    "ServerListByResourceGroup.json": ("server",),
    "CreateDatabaseMin.json": ("server", "no-database"),
    "CreateDatabaseDefaultMode.json": ("server", "no-database"),
    "CreateVCoreDatabaseBySkuNameCapacity.json": ("server", "no-database"),
    "CreateVCoreDatabaseByServiceObjective.json": ("server", "no-database"),
    "GetVCoreDatabase.json": ("vcore-database",),
    "ListVCoreDatabasesByServer.json": ("vcore-database",),
    "DeleteDatabase.json": ("database",),
    "CreateOrUpdateJobAgent.json": ("database", "no-agent"),
    "CreateOrUpdateJobAgentWithSku.json": ("database", "no-agent"),
    "CreateOrUpdateJobAgentWithIdentity.json": ("database", "no-agent"),
    "GetJobAgent.json": _AGENT,
    "ListJobAgentsByServer.json": _AGENT,
    "UpdateJobAgent.json": _AGENT,
    "UpdateJobAgentWithSku.json": _AGENT,
    "UpdateJobAgentWithIdentity.json": _AGENT,
    "DeleteJobAgent.json": _AGENT,
    "CreateOrUpdateJobCredential.json": ("agent", "no-credential"),
    "GetJobCredential.json": _AGENT,
    "ListJobCredentialsByAgent.json": _AGENT,
    "DeleteJobCredential.json": ("agent", "no-jobs"),
    "CreateOrUpdateJobTargetGroupMin.json": ("agent", "no-target-group"),
    "CreateOrUpdateJobTargetGroupMax.json": ("agent", "no-target-group"),
    "GetJobTargetGroup.json": ("agent", "target-groups"),
    "ListJobTargetGroups.json": ("agent", "no-jobs", "no-target-groups", "target-groups"),
    "DeleteJobTargetGroup.json": ("agent", "target-groups", "no-jobs"),
    "CreateOrUpdateJobMin.json": ("agent", "no-jobs"),
    "CreateOrUpdateJobMax.json": ("agent", "no-jobs"),
    "GetJob.json": _FRESH_JOB,
    "ListJobsByAgent.json": ("agent", "no-jobs", "fresh-job"),
    "DeleteJob.json": _FRESH_JOB,
    "CreateOrUpdateJobStepMin.json": ("agent", "target-groups", "fresh-job"),
    "CreateOrUpdateJobStepMax.json": ("agent", "target-groups", "fresh-job"),
    "GetJobStepByJob.json": _STEP,
    "ListJobStepsByJob.json": _STEP,
    "DeleteJobStep.json": _STEP,
    "GetJobVersion.json": _STEP,
    "ListJobVersions.json": _STEP,
    "GetJobStepByVersion.json": _STEP,
    "ListJobStepsByVersion.json": _STEP,
    "CreateJobExecution.json": _FRESH_JOB,
    "CreateOrUpdateJobExecution.json": _FRESH_JOB,
    "GetJobExecution.json": _RUN,
    "CancelJobExecution.json": _RUN,
    "ListJobExecutionsByAgent.json": ("agent", "no-jobs", "finished-execution"),
    "ListJobExecutionsByAgentWithFilter.json": _RUN,
    "ListJobExecutionsByJob.json": _RUN,
    "ListJobExecutionSteps.json": _RUN,
    "GetJobExecutionStep.json": _RUN,
    "ListJobExecutionTargetsByExecution.json": _RUN,
    "ListJobExecutionTargetsByStep.json": _RUN,
    "GetJobExecutionTarget.json": _RUN,
    "CreateOrUpdateJobPrivateEndpoint.json": ("target-server", "no-private-endpoint"),
    "DeleteJobPrivateEndpoint.json": ("private-endpoint",),
    "GetJobPrivateEndpoint.json": ("private-endpoint",),
    "ListJobPrivateEndpointsByAgent.json": ("private-endpoint",),
}
# Path segments in the order they nest; a parameter the example has adds its segment.
_SEGMENTS = (
    ("serverName", "servers"),
    ("databaseName", "databases"),
    ("jobAgentName", "jobAgents"),
    ("credentialName", "credentials"),
    ("targetGroupName", "targetGroups"),
    ("jobName", "jobs"),
    ("jobVersion", "versions"),
    ("jobExecutionId", "executions"),
    ("stepName", "steps"),
    ("targetId", "targets"),
    ("privateEndpointName", "privateEndpoints"),
)
_PATH_PARAMETERS = {key for key, _ in _SEGMENTS} | {"subscriptionId", "resourceGroupName", "api-version"}
# Examples whose request is not "<verb> the addressed resource": (method, suffix) by name.
_ACTIONS = {
    "CancelJobExecution.json": ("POST", "/cancel"),
    "CreateJobExecution.json": ("POST", "/start"),
}
_METHODS = {"Get": "GET", "List": "GET", "Create": "PUT", "Update": "PATCH", "Delete": "DELETE"}
# List examples: the collection listed under the addressed parent.
_LIST_COLLECTION = {
    "ServerList.json": "servers",
    "ServerListByResourceGroup.json": "servers",
    "ListVCoreDatabasesByServer.json": "databases",
    "ListJobAgentsByServer.json": "jobAgents",
    "ListJobCredentialsByAgent.json": "credentials",
    "ListJobTargetGroups.json": "targetGroups",
    "ListJobsByAgent.json": "jobs",
    "ListJobVersions.json": "versions",
    "ListJobStepsByJob.json": "steps",
    "ListJobStepsByVersion.json": "steps",
    "ListJobExecutionsByAgent.json": "executions",
    "ListJobExecutionsByAgentWithFilter.json": "executions",
    "ListJobExecutionsByJob.json": "executions",
    "ListJobExecutionSteps.json": "steps",
    "ListJobExecutionTargetsByExecution.json": "targets",
    "ListJobExecutionTargetsByStep.json": "targets",
    "ListJobPrivateEndpointsByAgent.json": "privateEndpoints",
}
# Keys Azure itself sends only sometimes: a list's nextLink only when another page follows.
_OPTIONAL_KEYS = {"nextLink"}
_PASSWORD = "Pa55-example-only"
# The vCore sku of GetVCoreDatabase.json, for the databases the vCore examples read.
_VCORE_SKU = {"name": "BC_Gen5", "tier": "BusinessCritical", "capacity": 2}
_LOGIN = "myuser"


def _load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def _path(parameters: dict[str, Any], upto: str | None = None) -> str:
    path = f"/subscriptions/{parameters['subscriptionId']}"
    if "resourceGroupName" in parameters:
        path += f"/resourceGroups/{parameters['resourceGroupName']}"
    path += "/providers/Microsoft.Sql"
    for key, collection in _SEGMENTS:
        if key in parameters:
            path += f"/{collection}/{parameters[key]}"
        if key == upto:
            break
    return path


def shape_differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Key paths where ``actual`` lacks a key of ``expected`` or has another JSON type there."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or '<body>'}: object expected, got {type(actual).__name__}"]
        out: list[str] = []
        for key, value in expected.items():
            path = f"{where}.{key}" if where else key
            if key not in actual:
                if key not in _OPTIONAL_KEYS:
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
    """Raw HTTPS against the emulator, with the setup each example needs (made through ARM)."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.http = httpx.Client(
            base_url=emulator.url,
            verify=str(emulator.cert_path),
            headers={"Authorization": f"Bearer {emulator.token}"},
            params={"api-version": "2025-01-01"},
            timeout=30.0,
        )

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> httpx.Response:
        return self.http.request(method, path, json=body, params=query)

    def ensure(self, parameters: dict[str, Any], need: str) -> dict[str, Any]:
        """Make ``need`` true for the example's names; return parameters the emulator chose (``targetId``)."""
        names = {"resourceGroupName": "sqlcrudtest-7398", "serverName": "sqlcrudtest-4645", **parameters}
        server = _path(names, "serverName")
        agent = f"{server}/jobAgents/{parameters.get('jobAgentName', 'agent1')}"
        job = f"{agent}/jobs/{parameters.get('jobName', 'job1')}"
        if need == "server":
            self._server(server)
        elif need == "no-server":
            self._delete(server)
        elif need == "no-database":
            self._delete(f"{server}/databases/{parameters['databaseName']}")
        elif need in ("database", "vcore-database"):
            self._server(server)
            sku = _VCORE_SKU if need == "vcore-database" else None
            self._database(f"{server}/databases/{parameters.get('databaseName', 'db1')}", sku)
        elif need == "no-agent":
            self._delete(agent)
        elif need == "agent":
            self._agent(server, agent)
        elif need == "no-jobs":
            for doc in self.call("GET", f"{agent}/jobs").json()["value"]:
                self._delete(doc["id"])
        elif need == "no-credential":
            self.ensure(parameters, "no-jobs")
            self._delete(f"{agent}/credentials/{parameters['credentialName']}")
        elif need == "no-target-group":
            self.ensure(parameters, "no-jobs")
            self._delete(f"{agent}/targetGroups/{parameters['targetGroupName']}")
        elif need == "no-target-groups":
            for doc in self.call("GET", f"{agent}/targetGroups").json()["value"]:
                self._delete(doc["id"])
        elif need == "target-groups":
            self._target_groups(server, agent)
        elif need == "fresh-job":
            self._delete(job)
            self._put(job, _body("CreateOrUpdateJobMax.json"))
        elif need == "step":
            self._put(f"{job}/steps/step1", _body("CreateOrUpdateJobStepMax.json"))
        elif need == "finished-execution":
            return self._finished_execution(server, agent, job, parameters)
        elif need == "target-server":
            self._agent(server, agent)
            self._server(_target_server(server))
        elif need == "no-private-endpoint":
            self._delete(f"{agent}/privateEndpoints/{parameters.get('privateEndpointName')}")
        elif need == "private-endpoint":
            self.ensure(parameters, "target-server")
            target = {"properties": {"targetServerAzureResourceId": _target_server(server)}}
            name = parameters.get("privateEndpointName", "endpoint1")
            answer = self.call("PUT", f"{agent}/privateEndpoints/{name}", target)
            assert answer.status_code in (200, 202), answer.text
            if answer.status_code == 202:
                self.settle(answer)
        else:
            raise AssertionError(f"unknown need {need}")
        return {}

    def _server(self, server: str) -> None:
        body = {
            "location": "Japan East",
            "tags": {"tagKey1": "TagValue1"},
            "properties": {"administratorLogin": "dummylogin", "administratorLoginPassword": _PASSWORD},
        }
        self._put(server, body)

    def _database(self, database: str, sku: dict[str, Any] | None = None) -> None:
        self._put(database, {"location": "southeastasia", **({"sku": sku} if sku else {})})

    def _target_groups(self, server: str, agent: str) -> None:
        """targetGroup1 as in the Max example; targetGroup0: server1/database1, where steps can run."""
        self._put(f"{agent}/targetGroups/targetGroup1", _body("CreateOrUpdateJobTargetGroupMax.json"))
        self._database(f"{server}/databases/database1")
        member = {
            "membershipType": "Include",
            "type": "SqlDatabase",
            "serverName": server.rsplit("/", 1)[-1],
            "databaseName": "database1",
        }
        self._put(f"{agent}/targetGroups/targetGroup0", {"properties": {"members": [member]}})

    def _agent(self, server: str, agent: str) -> None:
        self._server(server)
        database = f"{server}/databases/db1"
        self._database(database)
        if self.call("GET", agent).status_code == 404:
            body = {"location": "southeastasia", "properties": {"databaseId": database}}
            answer = self.call("PUT", agent, body)
            assert answer.status_code == 202, answer.text
        self._wait_for(agent, lambda doc: doc is not None and doc["properties"]["state"] == "Ready")
        for credential in ("cred0", "cred1", "testCredential"):
            body = {"properties": {"username": _LOGIN, "password": _PASSWORD}}
            self._put(f"{agent}/credentials/{credential}", body)

    def _finished_execution(
        self, server: str, agent: str, job: str, parameters: dict[str, Any]
    ) -> dict[str, Any]:
        """job1 with the minimal step (targetGroup0: server1/database1 as cred0) run to Succeeded."""
        self._target_groups(server, agent)
        name = server.rsplit("/", 1)[-1]
        self._sql(
            name,
            "master",
            f"IF NOT EXISTS (SELECT * FROM sys.sql_logins WHERE name = '{_LOGIN}') "
            f"CREATE LOGIN {_LOGIN} WITH PASSWORD = '{_PASSWORD}'",
        )
        self._sql(
            name,
            "database1",
            f"IF NOT EXISTS (SELECT * FROM sys.database_principals WHERE name = '{_LOGIN}') "
            f"CREATE USER {_LOGIN} FROM LOGIN {_LOGIN}",
        )
        self._delete(job)
        self._put(job, _body("CreateOrUpdateJobMax.json"))
        self._put(f"{job}/steps/step1", _body("CreateOrUpdateJobStepMin.json"))
        execution = f"{job}/executions/{parameters.get('jobExecutionId', str(uuid.uuid4()))}"
        self._put(execution, None)
        done = self._wait_for(
            execution, lambda doc: doc is not None and doc["properties"]["lifecycle"] in _TERMINAL
        )
        assert done is not None and done["properties"]["lifecycle"] == "Succeeded", done
        targets = self.call("GET", f"{execution}/targets").json()["value"]
        return {"targetId": targets[0]["name"]}

    def _sql(self, server: str, database: str, batch: str) -> None:
        basic = base64.b64encode(f"dummylogin:{_PASSWORD}".encode()).decode()
        answer = self.http.post(
            f"/_emulator/sql/servers/{server}/databases/{database}/query",
            json={"batch": batch},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert answer.status_code == 200, answer.text

    def _put(self, resource: str, body: Any) -> None:
        answer = self.call("PUT", resource, body)
        assert answer.status_code in (200, 201), f"PUT {resource}: {answer.status_code} {answer.text}"

    def _delete(self, resource: str) -> None:
        answer = self.call("DELETE", resource)
        assert answer.status_code in (200, 202, 204), f"DELETE {resource}: {answer.status_code} {answer.text}"
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


def _target_server(server: str) -> str:
    """The server the private endpoint examples target (``targetserver1``, next to ``server``)."""
    return server.rsplit("/", 1)[0] + "/targetserver1"


def _body(name: str) -> Any:
    """The request body of one committed example (setup reuses the spec's own bodies)."""
    return _load(name)["parameters"]["parameters"]


@pytest.fixture(scope="module")
def replayer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayer]:
    """An emulator of this module's own: the examples use fixed (global) server names."""
    state = tmp_path_factory.mktemp("spec-examples")
    with EmulatorProcess(state, token="spec-token", agent_provisioning_seconds=0.2) as process:
        replay = Replayer(process)
        yield replay
        replay.http.close()


def _request(name: str, parameters: dict[str, Any]) -> tuple[str, str, Any, dict[str, Any]]:
    """Method, path, body and query string of the example's request."""
    path = _path(parameters)
    if name in _ACTIONS:
        verb, suffix = _ACTIONS[name]
        path += suffix
    else:
        verb = next(method for word, method in _METHODS.items() if word in name)
    if name in _LIST_COLLECTION:
        path += f"/{_LIST_COLLECTION[name]}"
    query = {
        key: json.dumps(value) if isinstance(value, bool) else value
        for key, value in parameters.items()
        if key not in _PATH_PARAMETERS and key != "parameters"
    }
    return verb, path, parameters.get("parameters"), query


def _same_name_first(expected_item: dict[str, Any], items: list[Any]) -> list[Any]:
    """The listed items with the one named like the example's item first (lists keep their own order)."""
    named = [item for item in items if item.get("name") == expected_item.get("name")]
    return named + [item for item in items if item not in named]


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
    parameters = dict(example["parameters"])
    for need in _NEEDS[name]:
        chosen = replayer.ensure(parameters, need)
        parameters.update({key: value for key, value in chosen.items() if key in parameters})
    method, path, body, query = _request(name, parameters)
    answer = replayer.call(method, path, body, query)
    responses = example["responses"]
    assert str(answer.status_code) in responses, f"{method} {path}: {answer.status_code} {answer.text}"
    actual: Any = answer.json() if answer.content else None
    expected = responses[str(answer.status_code)].get("body")
    if answer.status_code == 202 and "/jobAgents/" in path:
        assert set(actual) == {"operation", "startTime"}, actual
        final = replayer.settle(answer)
        done = next((responses[code] for code in ("200", "201") if code in responses), {})
        expected, actual = done.get("body"), final
    if expected is None:
        return
    if isinstance(expected.get("value"), list) and name not in _EMPTY_LISTS:
        assert actual.get("value"), f"{name}: the setup should make the list non-empty: {actual}"
        actual = {**actual, "value": _same_name_first(expected["value"][0], actual["value"])}
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


def test_server_patch_keeps_the_login_and_validates_what_it_sets(replayer: Replayer) -> None:
    parameters = _load("ServerUpdate.json")["parameters"]
    replayer.ensure(parameters, "server")
    path = _path(parameters)
    refused = replayer.call("PATCH", path, {"properties": {"administratorLogin": "someoneelse"}})
    assert refused.status_code == 400 and "administratorLogin" in refused.text, refused.text
    refused = replayer.call("PATCH", path, {"properties": {"retentionDays": "seven"}})
    assert refused.status_code == 400 and "retentionDays" in refused.text, refused.text
    answer = replayer.call("PATCH", path, {"tags": {"k": "v"}, "properties": {"minimalTlsVersion": "1.3"}})
    assert answer.status_code == 200, answer.text
    server = replayer.call("GET", path).json()
    assert server["tags"] == {"k": "v"}
    assert server["properties"]["minimalTlsVersion"] == "1.3"
    assert server["properties"]["administratorLogin"] == "dummylogin"
    missing = replayer.call("PATCH", path + "-absent", {"tags": {}})
    assert missing.status_code == 404, missing.text
