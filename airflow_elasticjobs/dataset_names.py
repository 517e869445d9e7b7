"""Names of Azure SQL databases and tables as Airflow assets and OpenLineage datasets.

One convention for both, so an asset event and a lineage event about the same database agree:

* OpenLineage's dataset naming for SQL Server (`spec/naming` in the OpenLineage docs,
  https://openlineage.io/docs/spec/naming): namespace ``mssql://{host}:{port}``, name
  ``{database}.{schema}.{table}``.
* Airflow asset URIs: a table is ``mssql://{host}:{port}/{database}/{schema}/{table}``, the form the
  Microsoft SQL Server provider (``apache-airflow-providers-microsoft-mssql``, which owns the ``mssql``
  scheme) accepts and Airflow's other SQL providers share (one path segment per level). That scheme
  has no database-level form: with that provider installed, Airflow refuses ``mssql://{host}:{port}/
  {database}`` ("URI format mssql:// must contain database, schema, and table/view names"). A database
  is therefore ``x-mssql://{host}:{port}/{database}``: Airflow's asset docs reserve schemes starting
  with ``x-`` for URIs without a provider's semantics and skip their validation
  (https://airflow.apache.org/docs/apache-airflow/stable/authoring-and-scheduling/assets.html), and
  the rest of the URI is the OpenLineage namespace plus the database.

``host`` is the server's fully qualified name: a bare logical server name (``contoso``) gets Azure
SQL Database's public-cloud suffix ``.database.windows.net``; a name with a dot is kept as given
(other clouds, or the emulator's ``127.0.0.1``-style hosts). The port is Azure SQL Database's
client port, 1433, unless given.
"""

from __future__ import annotations

from urllib.parse import quote

AZURE_SQL_SUFFIX = ".database.windows.net"
AZURE_SQL_PORT = 1433
SCHEME = "mssql"
DATABASE_SCHEME = "x-mssql"


def server_host(server_name: str) -> str:
    """Return the fully qualified host of a server named as in a target group or execution."""
    name = server_name.strip().lower()
    if not name:
        raise ValueError("server_name is empty: give the logical server name or its FQDN.")
    return name if "." in name else name + AZURE_SQL_SUFFIX


def namespace(server_name: str, port: int = AZURE_SQL_PORT) -> str:
    """Return the OpenLineage namespace of a server: ``mssql://{host}:{port}``."""
    return f"{SCHEME}://{server_host(server_name)}:{port}"


def table_name(database: str, schema: str, table: str) -> str:
    """Return the OpenLineage dataset name of a table: ``{database}.{schema}.{table}``."""
    return f"{database}.{schema}.{table}"


def database_uri(server_name: str, database: str, port: int = AZURE_SQL_PORT) -> str:
    """Return the Airflow asset URI of one database of a server: ``x-mssql://{host}:{port}/{database}``."""
    return f"{DATABASE_SCHEME}://{server_host(server_name)}:{port}/{quote(database, safe='')}"


def table_uri(server_name: str, database: str, schema: str, table: str, port: int = AZURE_SQL_PORT) -> str:
    """Return the Airflow asset URI of one table."""
    parts = (database, schema, table)
    return f"{namespace(server_name, port)}/" + "/".join(quote(p, safe="") for p in parts)
