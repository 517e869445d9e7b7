"""``ElasticJobsEmulatorSqlHook``: a ``DbApiHook`` over the local emulator's SQL data plane.

It lets the same SQL-running code (e.g. ``ElasticJobsTargetSetupOperator``) work locally, against
the emulator, and on Azure, where an ``odbc`` connection (``OdbcHook``) is used instead. Like
``OdbcHook(database=...)`` it takes a ``database`` argument, so one connection reaches ``master``
and every database of the server. The password is only handed to the driver; it is never logged.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.hooks.sql import DbApiHook

from elasticjobs_emulator.hooks.emulator_sql_form import CONN_TYPE

if TYPE_CHECKING:
    from elasticjobs_emulator import dbapi

DEFAULT_PORT = 8443
DEFAULT_TIMEOUT_SECONDS = 30.0


def parse_verify(value: Any) -> bool | str:
    """``verify`` extra: booleans (also as text) or a CA bundle path."""
    if isinstance(value, bool) or value is None:
        return True if value is None else value
    text = str(value).strip()
    if text.lower() in ("", "true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    return text


class ElasticJobsEmulatorSqlHook(DbApiHook):
    """Run T-SQL on a database of the Elastic Jobs emulator, as a SQL login.

    Connection: host/port of the emulator, login/password of a SQL login (the server admin or
    one created with CREATE LOGIN), schema = default database, extras ``server_name``
    (required), ``verify`` (true/false/CA bundle path), ``scheme`` and ``timeout``.

    Example::

        hook = ElasticJobsEmulatorSqlHook("target_server_admin", database="TargetDb1")
        hook.get_records("SELECT name FROM sys.database_principals WHERE type = 'S'")

    :param elastic_jobs_emulator_sql_conn_id: an ``elastic_jobs_emulator_sql`` connection id.
    :param database: database to connect to; defaults to the connection's schema, else ``master``.
    """

    conn_name_attr = "elastic_jobs_emulator_sql_conn_id"
    default_conn_name = "elastic_jobs_emulator_sql_default"
    conn_type = CONN_TYPE
    hook_name = "Elastic Jobs Emulator SQL"
    supports_autocommit = True
    _placeholder = "?"
    _test_connection_sql = "SELECT 1"

    def __init__(self, *args: Any, database: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._database = database

    @property
    def database(self) -> str:
        """The database this hook connects to."""
        return self._database or self.connection.schema or "master"

    @cached_property
    def dialect_name(self) -> str:
        """The emulator speaks (a subset of) T-SQL."""
        return "mssql"

    def get_conn(self) -> dbapi.Connection:
        """Open a DB-API connection to :attr:`database` (checks the login at once)."""
        from elasticjobs_emulator import dbapi  # the driver (and httpx) only when connecting

        conn = self.connection
        extras = conn.extra_dejson
        server = extras.get("server_name")
        if not server:
            raise ValueError(
                f"Connection {self.get_conn_id()!r} has no 'server_name' extra: set it to the emulated "
                "server's name (the Microsoft.Sql/servers resource the databases belong to)."
            )
        if not conn.login:
            raise ValueError(f"Connection {self.get_conn_id()!r} has no login: set the SQL login to use.")
        timeout = extras.get("timeout")
        return dbapi.connect(
            host=conn.host or "127.0.0.1",
            port=conn.port or DEFAULT_PORT,
            server=str(server),
            database=self.database,
            user=conn.login,
            password=conn.password or "",
            verify=parse_verify(extras.get("verify")),
            scheme=str(extras.get("scheme") or "https"),
            timeout=float(timeout) if timeout not in (None, "") else DEFAULT_TIMEOUT_SECONDS,
        )

    def get_uri(self) -> str:
        """A display URI of the connection, without the password."""
        conn = self.connection
        server = conn.extra_dejson.get("server_name", "")
        return f"elastic-jobs-emulator-sql://{conn.login}@{conn.host}:{conn.port}/{server}/{self.database}"
