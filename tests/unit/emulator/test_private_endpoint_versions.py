"""Job agent private endpoints and their operation endpoints exist from api-version 2023-05-01-preview on
(``JobPrivateEndpoints.json`` first appears in the spec's ``preview/2023-05-01-preview/`` folder)."""

from __future__ import annotations

import pytest

from elasticjobs_emulator import api_versions

_AGENT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/jobAgents/a"
_LOCATION = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/locations/westus2"


@pytest.mark.parametrize(
    "path",
    [
        f"{_AGENT}/privateEndpoints",
        f"{_AGENT}/privateEndpoints/pe1",
        f"{_LOCATION}/jobAgentPrivateEndpointAzureAsyncOperation/op",
        f"{_LOCATION}/jobAgentPrivateEndpointOperationResults/op",
    ],
)
def test_private_endpoint_paths_are_published_from_2023_05_01_preview(path: str) -> None:
    type_name = api_versions.resource_type(path)
    versions = api_versions.supported(type_name)
    assert versions[0] == api_versions.LATEST and versions[-1] == "2023-05-01-preview"
    assert api_versions.is_published(type_name, "2024-11-01-preview")
    assert not api_versions.is_published(type_name, "2023-02-01-preview")
    assert not api_versions.is_published(type_name, "2017-03-01-preview")


def test_the_agent_operations_keep_every_job_version() -> None:
    type_name = api_versions.resource_type(f"{_LOCATION}/jobAgentOperationResults/op")
    assert api_versions.is_published(type_name, "2017-03-01-preview")
