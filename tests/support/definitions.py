"""Builders for the definitions most integration tests need (server, job database, agent, ...).

They drive the real ``azure-mgmt-sql`` client; names are unique per call so tests sharing one
emulator never collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.support.emulator import unique_name

if TYPE_CHECKING:
    from azure.mgmt.sql import SqlManagementClient

ADMIN_LOGIN = "serveradmin"
ADMIN_PASSWORD = "Admin-Pa55word!"  # test-only secret
LOCATION = "westus2"


@dataclass
class AgentSetup:
    """A server with a job database and a Ready job agent."""

    resource_group: str
    server: str
    job_database: str
    agent: str
    server_id: str
    agent_id: str

    def names(self) -> tuple[str, str, str]:
        """``(resource group, server, agent)`` as the SDK's positional arguments."""
        return self.resource_group, self.server, self.agent


def create_server(
    client: SqlManagementClient,
    resource_group: str,
    server: str | None = None,
    *,
    admin_login: str = ADMIN_LOGIN,
    admin_password: str = ADMIN_PASSWORD,
) -> Any:
    """Create a server (with its ``master``) administered by ``admin_login``; return the SDK model."""
    name = server or unique_name("srv")
    body = {
        "location": LOCATION,
        "properties": {"administratorLogin": admin_login, "administratorLoginPassword": admin_password},
    }
    return client.servers.begin_create_or_update(resource_group, name, body).result()


def create_database(client: SqlManagementClient, resource_group: str, server: str, database: str) -> Any:
    """Create a database on a server and return the SDK model."""
    return client.databases.begin_create_or_update(
        resource_group, server, database, {"location": LOCATION}
    ).result()


def create_agent_setup(client: SqlManagementClient, resource_group: str, sku: str = "JA100") -> AgentSetup:
    """Server + ``JobDatabase`` + a job agent waited until Ready."""
    server = create_server(client, resource_group)
    database = create_database(client, resource_group, server.name, "JobDatabase")
    agent_name = unique_name("agent")
    agent = client.job_agents.begin_create_or_update(
        resource_group,
        server.name,
        agent_name,
        {"location": LOCATION, "sku": {"name": sku}, "properties": {"databaseId": database.id}},
    ).result()
    return AgentSetup(resource_group, server.name, database.name, agent_name, server.id, agent.id)
