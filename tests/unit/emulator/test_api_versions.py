"""The api-version table and the per-version shaping of bodies (elasticjobs_emulator.api_versions)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from elasticjobs_emulator import api_versions

_SCRIPT = Path(__file__).parents[3] / "scripts" / "api_versions_from_specs.py"
_spec = importlib.util.spec_from_file_location("api_versions_from_specs", _SCRIPT)
assert _spec is not None and _spec.loader is not None
api_versions_from_specs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_versions_from_specs)

_FIXTURE = Path(__file__).with_name("spec_fixture")
_MIRROR = _SCRIPT.with_name("spec_mirror")
_AGENT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/jobAgents/a"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv", "servers"),
        ("/subscriptions/s/providers/Microsoft.Sql/servers", "servers"),
        (f"{_AGENT}", "servers/jobAgents"),
        (
            f"{_AGENT}/jobs/j/executions/e/steps/st/targets/t",
            "servers/jobAgents/jobs/executions/steps/targets",
        ),
        (
            "/subscriptions/s/providers/Microsoft.Sql/locations/westus/jobAgentAzureAsyncOperation/x",
            "locations/jobAgentAzureAsyncOperation",
        ),
        ("/subscriptions/s/resourceGroups/rg", None),
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/x", None),
    ],
)
def test_resource_type_of_a_path(path: str, expected: str | None) -> None:
    assert api_versions.resource_type(path) == expected


def test_children_of_a_job_agent_have_its_versions() -> None:
    for child in ("servers/jobAgents/credentials", "servers/jobAgents/jobs/steps", "servers/JOBAGENTS/jobs"):
        assert api_versions.supported(child) == api_versions.supported("servers/jobAgents")
    assert api_versions.is_published("servers/jobAgents/jobs/executions", "2020-11-01-preview")
    assert api_versions.is_published("servers/jobAgents/jobs", "2017-03-01-preview")
    assert not api_versions.is_published("servers/jobAgents/jobs", "2019-06-01-preview")
    assert api_versions.is_published("servers", "2019-06-01-preview")
    assert not api_versions.is_published("servers", "2017-03-01-preview")
    assert api_versions.is_published("servers/databases", "2017-10-01-preview")


def test_table_runs_from_2017_to_2026_oldest_first_and_sdks_versions_are_in_it() -> None:
    for versions in api_versions.PUBLISHED.values():
        assert list(versions) == sorted(versions, key=lambda v: (v[:10], not v.endswith("-preview")))
        assert versions[-1] == api_versions.LATEST
        assert all(api_versions.is_well_formed(version) for version in versions)
    jobs = api_versions.PUBLISHED["servers/jobAgents"]
    assert jobs[0] == "2017-03-01-preview" and len(jobs) == 21
    # azure-mgmt-sql 4.0.0 and its 5.0.0b2 preview send these for every type.
    assert {"2025-01-01", "2026-08-01-preview"} <= set(jobs)
    # azure-mgmt-sql 3.0.1 and @azure/arm-sql 10.0.0 send these.
    assert {"2020-11-01-preview", "2021-02-01-preview", "2022-08-01-preview"} <= set(
        api_versions.PUBLISHED["servers"]
    )
    assert api_versions.supported("servers")[0] == api_versions.LATEST


@pytest.mark.parametrize("version", ["latest", "2025-1-1", "2025-01-01-beta", ""])
def test_malformed_versions(version: str) -> None:
    assert not api_versions.is_well_formed(version)


def test_shape_drops_what_a_version_does_not_define() -> None:
    agent = {"id": _AGENT, "identity": {"type": "None"}, "sku": {"name": "JA100"}, "properties": {}}
    old = api_versions.shape(agent, "servers/jobAgents", "2022-08-01-preview")
    assert "identity" not in old and old["sku"] == agent["sku"]
    assert "identity" in agent  # the stored document is not changed
    page = api_versions.shape(
        {"value": [agent, agent], "nextLink": "n"}, "servers/jobAgents", "2017-03-01-preview"
    )
    assert [sorted(item) for item in page["value"]] == [["id", "properties", "sku"]] * 2
    assert page["nextLink"] == "n"
    for version in ("2023-05-01-preview", "2023-08-01-preview", api_versions.LATEST):
        assert api_versions.shape(agent, "servers/jobAgents", version) is agent
    # stable/2023-08-01/JobAgents.json has no identity (the previews around it have)
    assert "identity" not in api_versions.shape(agent, "servers/jobAgents", "2023-08-01")
    # only the exact type: a job step at an old version keeps everything its version defines
    step = {"identity": 1, "properties": {"stepId": 1, "credential": "c"}}
    assert api_versions.shape(step, "servers/jobAgents/jobs/steps", "2017-03-01-preview") is step


def test_shape_nested_properties() -> None:
    server = {"name": "s", "properties": {"restrictOutboundNetworkAccess": "Disabled", "state": "Ready"}}
    assert api_versions.shape(server, "servers", "2019-06-01-preview") == {
        "name": "s",
        "properties": {"state": "Ready"},
    }
    assert api_versions.shape(server, "servers", api_versions.LATEST) is server
    assert api_versions.shape({"properties": None}, "servers", "2019-06-01-preview") == {"properties": None}
    database = {"managedBy": "x", "sku": {}, "properties": {"isLedgerOn": False, "collation": "c"}}
    assert api_versions.shape(database, "servers/databases", "2017-03-01-preview") == {
        "sku": {},
        "properties": {"collation": "c"},
    }


def test_names_no_version_defines_are_kept() -> None:
    """The common base resource's id/name/type/location/tags/systemData are in no version's list."""
    agent = {"name": "a", "location": "westus", "tags": {}, "systemData": {}, "identity": {}}
    assert sorted(api_versions.shape(agent, "servers/jobAgents", "2017-03-01-preview")) == [
        "location",
        "name",
        "systemData",
        "tags",
    ]
    assert api_versions.undefined_paths("servers/jobAgents/unknownKind", "2017-03-01-preview") == ()
    assert api_versions.undefined_paths("servers/jobAgents", "2019-06-01-preview") == ()


def test_published_versions_are_the_tables_versions() -> None:
    """PUBLISHED is read from api_versions.json: the two cannot drift apart."""
    table = json.loads(api_versions.TABLE_FILE.read_text(encoding="utf-8"))["types"]
    assert set(table) == set(api_versions_from_specs.TYPES)
    for type_name, entry in table.items():
        assert set(api_versions.PUBLISHED[type_name]) == set(entry["versions"])
        for version, defined in entry["versions"].items():
            assert defined["file"].split("/")[1] == version
            assert set(defined["required"]) <= set(defined["properties"])
    agents = api_versions.PUBLISHED["servers/jobAgents"]
    for child in api_versions_from_specs.TYPES:
        if child.startswith("servers/jobAgents/") and "privateEndpoints" not in child:
            assert api_versions.PUBLISHED[child] == agents, child
    assert api_versions.PUBLISHED["locations/jobAgentOperationResults"] == agents


def test_no_version_is_required_what_it_does_not_define() -> None:
    """What the routers' version and the newest one require, every version defines."""
    for type_name in api_versions_from_specs.TYPES:
        routed = api_versions.defined(type_name, api_versions.ROUTES_VERSION)
        latest = api_versions.defined(type_name, api_versions.LATEST)
        assert routed is not None and latest is not None, type_name
        assert set(latest["required"]) <= set(routed["required"]), type_name
        for version in api_versions.PUBLISHED[type_name]:
            entry = api_versions.defined(type_name, version)
            assert entry is not None
            assert set(routed["required"]) <= set(entry["properties"]), (type_name, version)


@pytest.mark.parametrize(
    ("version", "required"),
    [
        ("2017-03-01-preview", True),
        ("2023-05-01-preview", True),
        ("2023-08-01-preview", False),
        ("2023-08-01", True),
        ("2024-05-01-preview", False),
        ("2025-01-01", False),
    ],
)
def test_step_credential_required_as_each_spec_says(version: str, required: bool) -> None:
    entry = api_versions.defined("servers/jobAgents/jobs/steps", version)
    assert entry is not None and "credential" in entry["properties"]
    assert ("credential" in entry["required"]) is required


_SINCE_2021 = {
    "federatedClientId",
    "restrictOutboundNetworkAccess",
    "externalGovernanceStatus",
    "isIPv6Enabled",
    "retentionDays",
    "createMode",
}
_SINCE_2020 = {"workspaceFeature", "primaryUserAssignedIdentityId", "keyId", "administrators"}


@pytest.mark.parametrize(
    ("version", "undefined"),
    [
        ("2019-06-01-preview", {*_SINCE_2020, *_SINCE_2021, "minimalTlsVersion", "publicNetworkAccess"}),
        ("2020-11-01-preview", _SINCE_2021),
        ("2021-02-01-preview", {"externalGovernanceStatus", "isIPv6Enabled", "retentionDays", "createMode"}),
        ("2022-08-01-preview", {"isIPv6Enabled", "retentionDays", "createMode"}),
        ("2023-05-01-preview", set()),
        ("2024-05-01-preview", {"retentionDays", "createMode"}),  # previews do not only add
        ("2025-01-01", set()),
    ],
)
def test_server_properties_follow_each_versions_spec(version: str, undefined: set[str]) -> None:
    dropped = {path.removeprefix("properties.") for path in api_versions.undefined_paths("servers", version)}
    assert dropped == undefined


def test_generator_on_a_tiny_spec_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert api_versions_from_specs.main([str(_FIXTURE)]) == 0
    table = json.loads(capsys.readouterr().out)["types"]
    agents = table["servers/jobAgents"]["versions"]
    assert list(agents) == ["2017-03-01-preview", "2025-01-01"]  # 2020-11 lacks JobAgent; no bad folder
    assert agents["2017-03-01-preview"] == {
        "file": "preview/2017-03-01-preview/jobs.json",
        "top": ["properties", "sku"],
        "properties": ["databaseId", "state"],
        "required": ["databaseId"],
    }
    assert agents["2025-01-01"]["top"] == ["identity", "properties", "sku"]
    steps = table["servers/jobAgents/jobs/steps"]["versions"]
    assert list(steps) == ["2017-03-01-preview", "2020-11-01-preview", "2025-01-01"]
    assert steps["2025-01-01"] == {
        "file": "stable/2025-01-01/JobSteps.json",
        "source": "trimmed by hand",
        "top": ["properties"],
        "properties": ["action", "credential", "output"],
        "required": ["action"],
    }
    assert table["servers"]["versions"] == {}


def test_committed_table_is_the_generators_output_on_the_committed_mirror() -> None:
    table = api_versions_from_specs.generate(_MIRROR)
    assert table == json.loads(api_versions.TABLE_FILE.read_text(encoding="utf-8"))
    for entry in table["types"].values():
        for version in entry["versions"].values():
            assert version["source"].startswith(("read @", "not read"))  # every entry says where it is from


@pytest.mark.parametrize(
    ("version", "undefined"),
    [
        ("2017-03-01-preview", {"identity", "managedBy", "properties.isLedgerOn", "properties.useFreeLimit"}),
        (
            "2021-02-01-preview",
            {"identity", "properties.isInfraEncryptionEnabled", "properties.useFreeLimit"},
        ),
        ("2022-08-01-preview", {"properties.availabilityZone", "properties.useFreeLimit"}),
    ],
)
def test_database_versions_lack_what_their_spec_file_lacks(version: str, undefined: set[str]) -> None:
    assert undefined <= set(api_versions.undefined_paths("servers/databases", version))
    assert "properties.isLedgerOn" not in api_versions.undefined_paths(
        "servers/databases", "2021-02-01-preview"
    )


def test_generator_refuses_a_path_without_the_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert api_versions_from_specs.main([str(tmp_path)]) == 2
    assert "specification/sql/resource-manager/Microsoft.Sql" in capsys.readouterr().err
