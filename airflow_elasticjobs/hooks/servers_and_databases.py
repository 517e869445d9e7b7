"""Logical servers and databases: the tutorial's prerequisites, as a mixin of ``ElasticJobsHook``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_elasticjobs.hooks.errors import delete_if_exists, get_or_none

if TYPE_CHECKING:
    from azure.mgmt.sql import SqlManagementClient
    from azure.mgmt.sql.models import Database, Server


class ServersAndDatabasesMixin:
    """Create-or-get / delete of servers and databases in the hook's resource group."""

    if TYPE_CHECKING:  # provided by ElasticJobsHook
        resource_group_name: str

        def get_conn(self) -> SqlManagementClient: ...

    def get_server(self, server_name: str) -> Server | None:
        """The logical server, or ``None``."""
        return get_or_none(lambda: self.get_conn().servers.get(self.resource_group_name, server_name))

    def create_or_get_server(
        self, server_name: str, *, location: str, admin_login: str, admin_password: str
    ) -> tuple[Server, bool]:
        """Return the existing server, or create it and wait; ``(server, created)``."""
        existing = self.get_server(server_name)
        if existing is not None:
            return existing, False
        from azure.mgmt.sql.models import Server, ServerProperties

        body = Server(
            location=location,
            properties=ServerProperties(
                administrator_login=admin_login, administrator_login_password=admin_password, version="12.0"
            ),
        )
        poller = self.get_conn().servers.begin_create_or_update(self.resource_group_name, server_name, body)
        return poller.result(), True

    def delete_server(self, server_name: str) -> bool:
        """Delete a server (waits); ``False`` if it did not exist."""
        return delete_if_exists(
            self.get_server(server_name),
            lambda: self.get_conn().servers.begin_delete(self.resource_group_name, server_name),
        )

    def get_database(self, server_name: str, database_name: str) -> Database | None:
        """The database, or ``None``."""
        return get_or_none(
            lambda: self.get_conn().databases.get(self.resource_group_name, server_name, database_name)
        )

    def create_or_get_database(
        self,
        server_name: str,
        database_name: str,
        *,
        location: str | None = None,
        sku_name: str | None = None,
    ) -> tuple[Database, bool]:
        """Return the existing database, or create it (in the server's location) and wait."""
        existing = self.get_database(server_name, database_name)
        if existing is not None:
            return existing, False
        from azure.mgmt.sql.models import Database, Sku

        body = Database(
            location=location or self._server_location(server_name),
            sku=Sku(name=sku_name) if sku_name else None,
        )
        poller = self.get_conn().databases.begin_create_or_update(
            self.resource_group_name, server_name, database_name, body
        )
        return poller.result(), True

    def delete_database(self, server_name: str, database_name: str) -> bool:
        """Delete a database (waits); ``False`` if it did not exist."""
        return delete_if_exists(
            self.get_database(server_name, database_name),
            lambda: self.get_conn().databases.begin_delete(
                self.resource_group_name, server_name, database_name
            ),
        )

    def _server_location(self, server_name: str) -> str:
        server = self.get_server(server_name)
        if server is None:
            raise ValueError(
                f"server_name: server {server_name!r} does not exist in resource group "
                f"{self.resource_group_name!r}; create it first (ElasticJobsServerOperator) or fix the name."
            )
        return server.location
