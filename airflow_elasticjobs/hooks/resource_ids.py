"""Every ARM resource id, Azure portal URL and emulator UI URL of the provider, built in one place.

Id shapes follow the 2025-01-01 REST specification (``Jobs.json``, ``JobExecutions.json``, …), e.g.
``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{server}/jobAgents/{agent}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlparse

PROVIDER = "Microsoft.Sql"

# Portal host per ARM host (public, China, US Government clouds).
_PORTALS = {
    "management.azure.com": "https://portal.azure.com",
    "management.chinacloudapi.cn": "https://portal.azure.cn",
    "management.usgovcloudapi.net": "https://portal.azure.us",
}
EMULATOR_UI_PREFIX = "/_emulator/ui"


def server_id(subscription_id: str, resource_group_name: str, server_name: str) -> str:
    """ARM id of a logical SQL server."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}"
        f"/providers/{PROVIDER}/servers/{server_name}"
    )


def database_id(subscription_id: str, resource_group_name: str, server_name: str, database_name: str) -> str:
    """ARM id of a database on a logical server."""
    return f"{server_id(subscription_id, resource_group_name, server_name)}/databases/{database_name}"


@dataclass(frozen=True)
class AgentRef:
    """Where one Elastic Job agent lives; builds the ids of everything under it."""

    subscription_id: str
    resource_group_name: str
    server_name: str
    agent_name: str

    @property
    def server_id(self) -> str:
        """ARM id of the agent's server."""
        return server_id(self.subscription_id, self.resource_group_name, self.server_name)

    @property
    def agent_id(self) -> str:
        """ARM id of the job agent."""
        return f"{self.server_id}/jobAgents/{self.agent_name}"

    def database_id(self, database_name: str) -> str:
        """ARM id of a database on the agent's server (e.g. the job database)."""
        return f"{self.server_id}/databases/{database_name}"

    def credential_id(self, credential_name: str) -> str:
        """ARM id of a job credential."""
        return f"{self.agent_id}/credentials/{credential_name}"

    def target_group_id(self, target_group_name: str) -> str:
        """ARM id of a target group."""
        return f"{self.agent_id}/targetGroups/{target_group_name}"

    def job_id(self, job_name: str) -> str:
        """ARM id of a job."""
        return f"{self.agent_id}/jobs/{job_name}"

    def step_id(self, job_name: str, step_name: str) -> str:
        """ARM id of a job step."""
        return f"{self.job_id(job_name)}/steps/{step_name}"

    def execution_id(self, job_name: str, job_execution_id: str) -> str:
        """ARM id of a root job execution."""
        return f"{self.job_id(job_name)}/executions/{job_execution_id}"


def same_id(left: str | None, right: str | None) -> bool:
    """ARM ids compare case-insensitively (Azure returns them with its own casing)."""
    return (left or "").rstrip("/").lower() == (right or "").rstrip("/").lower()


def last_segment(resource_id: str) -> str:
    """The resource name at the end of an ARM id."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def portal_url(endpoint: str, resource_id: str, tenant_id: str | None = None) -> str | None:
    """Azure portal URL of a resource, or ``None`` when ``endpoint`` is not a known Azure cloud."""
    portal = _PORTALS.get(urlparse(endpoint).hostname or "")
    if portal is None:
        return None
    tenant = f"@{tenant_id}" if tenant_id else ""
    return f"{portal}/#{tenant}/resource{quote(resource_id)}/overview"


def emulator_ui_url(endpoint: str, resource_id: str) -> str:
    """The emulator's own web view of a resource (agent, job or execution)."""
    return f"{endpoint.rstrip('/')}{EMULATOR_UI_PREFIX}{quote(resource_id)}"


def resource_url(
    endpoint: str, resource_id: str, tenant_id: str | None = None, browser_url: str | None = None
) -> str:
    """The best human link for a resource: the Azure portal, or the emulator's view off Azure.

    :param browser_url: where a browser reaches the emulator, when not at ``endpoint`` (docker compose).
    """
    portal = portal_url(endpoint, resource_id, tenant_id)
    return portal or emulator_ui_url(browser_url or endpoint, resource_id)
