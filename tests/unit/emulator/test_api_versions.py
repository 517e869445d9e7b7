"""The api-version table and the per-version shaping of bodies (elasticjobs_emulator.api_versions)."""

from __future__ import annotations

import pytest

from elasticjobs_emulator import api_versions

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


def test_table_runs_from_2017_to_2025_oldest_first_and_sdks_versions_are_in_it() -> None:
    for versions in api_versions.PUBLISHED.values():
        assert list(versions) == sorted(versions, key=lambda v: (v[:10], not v.endswith("-preview")))
        assert versions[-1] == api_versions.LATEST
        assert all(api_versions.is_well_formed(version) for version in versions)
    jobs = api_versions.PUBLISHED["servers/jobAgents"]
    assert jobs[0] == "2017-03-01-preview" and len(jobs) == 18
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
    for version in ("2023-05-01-preview", "2023-08-01", api_versions.LATEST):
        assert api_versions.shape(agent, "servers/jobAgents", version) is agent
    # only the exact type: a job step at an old version keeps everything
    step = {"identity": 1, "properties": {"stepId": 1}}
    assert api_versions.shape(step, "servers/jobAgents/jobs/steps", "2017-03-01-preview") is step


def test_shape_nested_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(api_versions.ADDED_IN, "servers", (("properties.isIPv6Enabled", "2023-08-01"),))
    server = {"properties": {"isIPv6Enabled": "Disabled", "state": "Ready"}}
    assert api_versions.shape(server, "servers", "2023-08-01-preview") == {"properties": {"state": "Ready"}}
    assert api_versions.shape(server, "servers", "2023-08-01") is server
    assert api_versions.shape({"properties": None}, "servers", "2021-02-01-preview") == {"properties": None}
