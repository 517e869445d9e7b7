"""Create-or-get operators for the tutorial's prerequisites: logical servers and databases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator, login_and_password
from airflow_elasticjobs.validation import check_conn_id, check_name, require

if TYPE_CHECKING:
    from airflow.sdk import Context


class ElasticJobsServerOperator(ElasticJobsBaseOperator):
    """Return a logical SQL server, creating it when missing (``New-AzSqlServer``).

    An existing server is returned unchanged (its admin password is not reset). The admin login and
    password come from an Airflow connection, never from DAG code.

    Example::

        ElasticJobsServerOperator(
            task_id="agent_server", server_name="ej-agent-srv", location="westeurope",
            admin_conn_id="sql_admin",
        )

    :param server_name: the server to create or get (defaults to the connection's server).
    :param location: Azure region used when creating.
    :param admin_conn_id: connection whose login/password become the server admin.

    XCom: ``{"id", "name", "location", "fully_qualified_domain_name", "created"}``.
    """

    template_fields: Sequence[str] = (*ElasticJobsBaseOperator.template_fields, "location", "admin_conn_id")

    def __init__(self, *, location: str, admin_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.location = location
        self.admin_conn_id = admin_conn_id
        self.validate()

    def validate(self) -> None:
        """Location and admin connection are required."""
        require("location", self.location, "give the Azure region, e.g. 'westeurope'")
        check_conn_id("admin_conn_id", self.admin_conn_id)

    def run(self, context: Context) -> dict[str, Any]:
        """Create or get the server."""
        login, password = login_and_password("admin_conn_id", self.admin_conn_id)
        name = self.hook.server_name
        server, created = self.hook.create_or_get_server(
            name, location=self.location, admin_login=login, admin_password=password
        )
        self.log.info("Server %s %s", name, "created" if created else "already exists")
        return {
            "id": server.id,
            "name": server.name,
            "location": server.location,
            "fully_qualified_domain_name": server.properties.fully_qualified_domain_name
            if server.properties
            else None,
            "created": created,
        }


class ElasticJobsDatabaseOperator(ElasticJobsBaseOperator):
    """Return a database, creating it when missing (``New-AzSqlDatabase``), e.g. the job database.

    Example::

        ElasticJobsDatabaseOperator(task_id="job_db", server_name="ej-agent-srv", database_name="JobDatabase",
                                    sku_name="S1")

    :param database_name: the database to create or get.
    :param location: defaults to the server's region.
    :param sku_name: service objective used when creating (e.g. ``S1``; the job database needs S1 or
        higher on Azure); ``None`` keeps Azure's default.

    XCom: ``{"id", "name", "server_name", "created"}``.
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "database_name",
        "location",
        "sku_name",
    )

    def __init__(
        self, *, database_name: str, location: str | None = None, sku_name: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.database_name = database_name
        self.location = location
        self.sku_name = sku_name
        self.validate()

    def validate(self) -> None:
        """The database name follows Azure's naming rules."""
        check_name("database_name", self.database_name)

    def run(self, context: Context) -> dict[str, Any]:
        """Create or get the database."""
        server = self.hook.server_name
        database, created = self.hook.create_or_get_database(
            server, self.database_name, location=self.location, sku_name=self.sku_name
        )
        self.log.info(
            "Database %s/%s %s", server, self.database_name, "created" if created else "already exists"
        )
        return {"id": database.id, "name": database.name, "server_name": server, "created": created}
