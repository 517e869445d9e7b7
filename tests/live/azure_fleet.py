"""What the live tests do on Azure around the DAG runs: the tutorial's firewall rules, reading the
target databases through ODBC, and deleting everything a run created, with bounded waits.

Imported only by tests that run (never at collection), so CI without the variables imports neither
Azure nor Airflow here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.sql.models import FirewallRule

from scripts.demo_report import DemoNames
from tests.live.settings import LiveSettings

SERVER_TIMEOUT = 900
"""Seconds for deleting the servers of a run (Azure: one to five minutes each, in parallel)."""
AGENT_DELETE_TIMEOUT = 1200
"""Seconds for deleting a job agent (Azure: several minutes)."""
ALLOW_AZURE_SERVICES = ("AllowAllWindowsAzureIps", "0.0.0.0")
"""Azure's own rule name for "Allow Azure services and resources to access this server": the job
agent reaches the job database and the targets through it (the tutorial's ``New-AzSqlServerFirewallRule
-AllowAllAzureIPs``)."""
TARGET_SQL_CONN_ID = "elastic_jobs_target_sql"


def management_client(settings: LiveSettings) -> SqlManagementClient:
    """An ``azure-mgmt-sql`` client of the service principal, independent of the provider's hook, so
    that cleanup works whatever state the provider is in."""
    credential = ClientSecretCredential(settings.tenant_id, settings.client_id, settings.client_secret)
    return SqlManagementClient(credential, settings.subscription_id)


def _wait(poller: Any, deadline: float) -> bool:
    """Wait for an ARM long-running operation until ``deadline`` (monotonic); whether it finished."""
    poller.wait(timeout=max(1.0, deadline - time.monotonic()))
    return poller.done()


def delete_servers_with_prefix(client: SqlManagementClient, resource_group: str, prefix: str) -> list[str]:
    """Delete every job agent, then every server (with its databases) of the resource group whose
    name starts with ``prefix``; return what is still there when the time is up (empty: all gone)."""
    servers = [
        s.name for s in client.servers.list_by_resource_group(resource_group) if s.name.startswith(prefix)
    ]
    deadline = time.monotonic() + AGENT_DELETE_TIMEOUT
    agents = [
        (server, agent.name, client.job_agents.begin_delete(resource_group, server, agent.name))
        for server in servers
        for agent in client.job_agents.list_by_server(resource_group, server)
    ]
    leftovers = [f"agent {s}/{a}" for s, a, poller in agents if not _wait(poller, deadline)]
    deadline = time.monotonic() + SERVER_TIMEOUT
    pollers = [(server, client.servers.begin_delete(resource_group, server)) for server in servers]
    return leftovers + [f"server {s}" for s, poller in pollers if not _wait(poller, deadline)]


def delete_run(settings: LiveSettings, prefix: str) -> list[str]:
    """:func:`delete_servers_with_prefix` on Azure with the live settings' service principal."""
    with management_client(settings) as client:
        return delete_servers_with_prefix(client, settings.resource_group, prefix)


@dataclass(frozen=True)
class LiveRun:
    """One live run: its settings, the tutorial's names (with the run prefix) and its connections."""

    settings: LiveSettings
    prefix: str
    names: DemoNames
    connections: dict[str, str]

    def client(self) -> SqlManagementClient:
        """A fresh ``azure-mgmt-sql`` client (use it in a ``with`` block)."""
        return management_client(self.settings)

    def agent_args(self) -> tuple[str, str, str]:
        """``(resource group, agent server, agent)`` for ``azure-mgmt-sql`` calls."""
        return self.names.resource_group, self.names.agent_server, self.names.agent

    def open_firewalls(self) -> None:
        """The tutorial's firewall rules, which no operator manages (docs/tutorial.md): on both servers
        "allow Azure services" for the agent, on the target server this machine's address for the
        target setup's ODBC connection. Creates the servers first (as the DAG's first tasks would;
        they then find them), so the rules exist before the DAG needs them."""
        from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook

        hook = ElasticJobsHook()
        rules = {
            self.names.agent_server: [ALLOW_AZURE_SERVICES],
            self.names.target_server: [
                ALLOW_AZURE_SERVICES,
                (f"{self.prefix}-client", self.settings.client_ip),
            ],
        }
        with self.client() as client:
            for server, server_rules in rules.items():
                hook.create_or_get_server(
                    server,
                    location=self.settings.location,
                    admin_login=self.settings.admin_login,
                    admin_password=self.settings.admin_password,
                )
                for name, address in server_rules:
                    rule = FirewallRule(start_ip_address=address, end_ip_address=address)
                    client.firewall_rules.create_or_update(self.names.resource_group, server, name, rule)

    def tables(self) -> dict[str, list[str]]:
        """User tables of each target database, read through ODBC as the server admin."""
        from airflow.providers.odbc.hooks.odbc import OdbcHook

        return {
            database: [
                row[0]
                for row in OdbcHook(odbc_conn_id=TARGET_SQL_CONN_ID, database=database).get_records(
                    "SELECT name FROM sys.tables ORDER BY name"
                )
            ]
            for database in self.names.target_databases
        }

    def remaining_tutorial_resources(self) -> list[str]:
        """Which of the tutorial's resources still exist (the job, both target groups, both
        credentials, the agent, the three databases, both servers)."""
        names = self.names
        with self.client() as client:
            agent = self.agent_args()
            checks: dict[str, Callable[[], object]] = {
                "job Job1": lambda: client.jobs.get(*agent, names.job),
                "agent": lambda: client.job_agents.get(*agent),
                "agent server": lambda: client.servers.get(names.resource_group, names.agent_server),
                "target server": lambda: client.servers.get(names.resource_group, names.target_server),
            }
            for group in ("ServerGroup", "ServerGroupExcludingDb2"):
                checks[f"target group {group}"] = lambda g=group: client.job_target_groups.get(*agent, g)
            for credential in ("masteruser", "jobuser"):
                checks[f"credential {credential}"] = lambda c=credential: client.job_credentials.get(
                    *agent, c
                )
            for server, database in [(names.agent_server, names.job_database)] + [
                (names.target_server, db) for db in names.target_databases
            ]:
                checks[f"database {database}"] = lambda s=server, d=database: client.databases.get(
                    names.resource_group, s, d
                )
            return [label for label, get in checks.items() if _exists(get)]


def _exists(get: Callable[[], object]) -> bool:
    try:
        get()
    except ResourceNotFoundError:
        return False
    return True
