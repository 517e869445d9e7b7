"""Raw HTTPS at an old and at the newest api-version: each answer has the shape its version defines.

What each version defines is the table generated from the REST specification
(``elasticjobs_emulator/api_versions.json``). Servers and databases gained properties after their
oldest versions; jobs, steps and executions define the same property names from
``2017-03-01-preview`` to ``2025-01-01`` (only the step's ``credential`` stopped being required), so
their answers must be the same at both. Job agents' ``identity``: ``test_other_clients.py``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from elasticjobs_emulator import api_versions
from tests.support.definitions import create_agent_setup
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration

OLD, NEW = "2017-03-01-preview", "2025-01-01"
OLDEST_SERVERS = "2019-06-01-preview"  # servers were not published in 2017-03-01-preview
CLIENT_DATABASES = "2021-02-01-preview"  # azure-mgmt-sql 3.x's databases version
BASE_NAMES = {"id", "name", "type", "location", "tags", "systemData"}  # the common base resources'


def _get(http: httpx.Client, path: str, version: str) -> dict[str, Any]:
    answer = http.get(path, params={"api-version": version})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _put(http: httpx.Client, path: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.put(path, params={"api-version": version}, json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_servers_and_databases_gain_properties(emulator: EmulatorProcess) -> None:
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
    database_id = f"{setup.server_id}/databases/{setup.job_database}"
    with emulator.http() as http:
        old_server, new_server = (_get(http, setup.server_id, v) for v in (OLDEST_SERVERS, NEW))
        old_db, new_db = (_get(http, database_id, v) for v in (OLD, NEW))
        old_list = _get(http, f"{setup.server_id}/databases", OLD)
    # restrictOutboundNetworkAccess: not in preview/2019-06-01-preview/servers.json
    assert new_server["properties"]["restrictOutboundNetworkAccess"] == "Disabled"
    assert "restrictOutboundNetworkAccess" not in old_server["properties"]
    assert old_server["properties"]["administratorLogin"] == new_server["properties"]["administratorLogin"]
    assert old_server["name"] == new_server["name"] and old_server["location"] == new_server["location"]
    # isLedgerOn and currentSku: not in preview/2017-03-01-preview/databases.json
    assert new_db["properties"]["isLedgerOn"] is False and "currentSku" in new_db["properties"]
    assert "isLedgerOn" not in old_db["properties"] and "currentSku" not in old_db["properties"]
    assert old_db["properties"]["collation"] == new_db["properties"]["collation"]
    assert old_db["sku"] == new_db["sku"]
    assert all("isLedgerOn" not in item["properties"] for item in old_list["value"])


def test_jobs_steps_and_executions_keep_their_shape(emulator: EmulatorProcess) -> None:
    """Everything under the agent is created at 2017-03-01-preview, then read at both versions."""
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
    job_id = f"{setup.agent_id}/jobs/job1"
    target = {"type": "SqlDatabase", "serverName": setup.server, "databaseName": setup.job_database}
    with emulator.http() as http:
        credential, group = (
            _put(http, f"{setup.agent_id}/{path}", OLD, {"properties": properties})
            for path, properties in (
                ("credentials/cred", {"username": "jobuser", "password": "Str0ng!Passw0rd"}),
                ("targetGroups/group", {"members": [target]}),
            )
        )
        action = {"value": "SELECT 1"}
        step = {"properties": {"targetGroup": group["id"], "credential": credential["id"], "action": action}}
        _put(http, job_id, OLD, {"properties": {"description": "d"}})
        _put(http, f"{job_id}/steps/one", OLD, step)
        started = http.post(f"{job_id}/start", params={"api-version": NEW})
        assert started.status_code in (200, 202), started.text
        answers = {
            version: [
                _get(http, path, version)
                for path in (
                    job_id,
                    f"{job_id}/steps/one",
                    f"{job_id}/executions",
                    f"{job_id}/versions/1/steps",
                )
            ]
            for version in (OLD, NEW)
        }
    old_job, old_step, old_executions, old_version_steps = answers[OLD]
    new_job, new_step, new_executions, new_version_steps = answers[NEW]
    assert old_job == new_job and old_job["properties"]["description"] == "d"
    assert old_step == new_step and old_step["properties"]["credential"] == credential["id"]
    assert old_version_steps == new_version_steps and len(old_version_steps["value"]) == 1
    assert len(old_executions["value"]) == len(new_executions["value"]) >= 1
    old_execution, new_execution = old_executions["value"][0], new_executions["value"][0]
    # the execution may move on between the two reads: compare names, not values
    defined = api_versions.defined("servers/jobAgents/jobs/executions", OLD)
    assert defined is not None
    for execution in (old_execution, new_execution):
        assert (
            {"lifecycle", "jobExecutionId", "createTime"}
            <= set(execution["properties"])
            <= set(defined["properties"])
        )


def test_a_database_at_2021_02_01_preview_has_what_that_version_defines(emulator: EmulatorProcess) -> None:
    """preview/2021-02-01-preview/Databases.json: no identity, no useFreeLimit, availabilityZone,
    isInfraEncryptionEnabled …; its properties end at isLedgerOn."""
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
    database_id = f"{setup.server_id}/databases/{unique_name('db')}"
    body = {
        "location": "westus2",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {}},
        "sku": {"name": "S0"},
        "properties": {
            "useFreeLimit": True,
            "availabilityZone": "1",
            "collation": "Latin1_General_100_CI_AS",
        },
    }
    with emulator.http() as http:
        created = _put(http, database_id, CLIENT_DATABASES, body)
        read = _get(http, database_id, CLIENT_DATABASES)
        newest = _get(http, database_id, NEW)
    lacks = {
        "useFreeLimit",
        "availabilityZone",
        "freeLimitExhaustionBehavior",
        "encryptionProtectorAutoRotation",
    }
    lacks |= {"isInfraEncryptionEnabled", "keys", "preferredEnclaveType", "manualCutover"}
    for answer in (created, read):
        assert set(answer) - BASE_NAMES <= {"sku", "kind", "managedBy", "properties"}
        assert not lacks & set(answer["properties"])
        assert {"isLedgerOn", "currentSku", "collation", "status", "maxSizeBytes", "readScale"} <= set(
            answer["properties"]
        )
        assert answer["properties"]["collation"] == "Latin1_General_100_CI_AS"
    assert "isInfraEncryptionEnabled" in newest["properties"]
    assert "identity" not in newest and "useFreeLimit" not in newest["properties"]


@pytest.mark.parametrize("type_name", ["servers", "servers/databases", "servers/jobAgents"])
def test_every_published_version_answers_its_own_names(emulator: EmulatorProcess, type_name: str) -> None:
    """At each published version the answer is the newest one without exactly the names the
    version's spec file does not define."""
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
    path = {
        "servers": setup.server_id,
        "servers/databases": f"{setup.server_id}/databases/{setup.job_database}",
        "servers/jobAgents": setup.agent_id,
    }[type_name]
    with emulator.http() as http:
        newest = _get(http, path, NEW)
        answers = {version: _get(http, path, version) for version in api_versions.PUBLISHED[type_name]}
    for version, answer in answers.items():
        defined = api_versions.defined(type_name, version)
        assert defined is not None
        assert set(answer) - BASE_NAMES <= set(defined["top"]), version
        assert set(answer["properties"]) <= set(defined["properties"]), version
        assert answer == api_versions.shape(newest, type_name, version), version
