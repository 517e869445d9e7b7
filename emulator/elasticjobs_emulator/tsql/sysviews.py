"""Catalog views (``sys.tables`` …) and built-in functions (``OBJECT_ID`` …) of one batch connection.

The views are TEMP views named ``"sys.tables"`` etc. over the database file's own tables, so they
answer truthfully even about what the running batch just created; the DML translator rewrites
``sys.tables`` to that name. ``sys.databases`` lists every database from ``master`` and only
``master`` plus the current one elsewhere, as Azure SQL Database does.
"""

from __future__ import annotations

import sqlite3
import uuid
import zlib
from datetime import UTC, datetime

from elasticjobs_emulator.tsql import security
from elasticjobs_emulator.tsql.errors import TsqlError
from elasticjobs_emulator.tsql.lexer import TokenCursor, tokenize
from elasticjobs_emulator.tsql.session import MASTER, BatchSlot, Session

P = security.INTERNAL_PREFIX
_USER_TABLES = (
    "SELECT name, __emulator_object_id(name) AS object_id, NULL AS principal_id, 1 AS schema_id, "
    "0 AS parent_object_id, 'U' AS type, 'USER_TABLE' AS type_desc, 0 AS is_ms_shipped "
    f"FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE '{P.replace('_', '!_')}%' ESCAPE '!' "
    "AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
)
_VIEWS = {
    "tables": _USER_TABLES,
    "objects": _USER_TABLES,
    "schemas": " UNION ALL ".join(
        f"SELECT '{name}' AS name, {i} AS schema_id, {i} AS principal_id"
        for i, name in enumerate(("dbo", "guest", "INFORMATION_SCHEMA", "sys"), start=1)
    ),
    "database_principals": "SELECT name, principal_id, type, CASE type WHEN 'R' THEN 'DATABASE_ROLE' "
    "WHEN 'E' THEN 'EXTERNAL_USER' ELSE 'SQL_USER' END AS type_desc, CASE WHEN type IN ('S', 'E') "
    "THEN 'dbo' END AS default_schema_name, create_date, create_date AS modify_date, CASE type "
    "WHEN 'R' THEN 'NONE' WHEN 'E' THEN 'EXTERNAL' ELSE 'INSTANCE' END AS authentication_type_desc, "
    "CASE WHEN principal_id >= 16384 THEN 1 ELSE 0 END "
    f"AS is_fixed_role FROM main.{P}principals",
    "database_role_members": "SELECT r.principal_id AS role_principal_id, "
    "m.principal_id AS member_principal_id "
    f"FROM main.{P}role_members rm JOIN main.{P}principals r ON r.name = rm.role "
    f"JOIN main.{P}principals m ON m.name = rm.member",
    "database_permissions": "SELECT "
    "CASE p.class WHEN 'DATABASE' THEN 0 WHEN 'OBJECT' THEN 1 ELSE 3 END AS class, "
    "CASE p.class WHEN 'OBJECT' THEN 'OBJECT_OR_COLUMN' ELSE p.class END AS class_desc, "
    "CASE p.class WHEN 'OBJECT' THEN __emulator_object_id(p.securable) WHEN 'SCHEMA' THEN 1 ELSE 0 END "
    "AS major_id, g.principal_id AS grantee_principal_id, p.permission AS permission_name, 'G' AS state, "
    f"'GRANT' AS state_desc FROM main.{P}permissions p JOIN main.{P}principals g ON g.name = p.grantee",
    # The data file only (the SQLite file stands in for it); ``size`` in 8-KB pages, rounded up, as
    # https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-files-transact-sql
    # defines it. No LOG row: the emulator has no transaction log file of its own.
    "database_files": "SELECT 1 AS file_id, 0 AS type, 'ROWS' AS type_desc, 1 AS data_space_id, "
    "'data_0' AS name, 0 AS state, 'ONLINE' AS state_desc, "
    "((SELECT page_count FROM pragma_page_count('main')) * (SELECT page_size FROM pragma_page_size('main')) "
    "+ 8191) / 8192 AS size, -1 AS max_size",
}
_SQL_LOGINS = (
    "SELECT name, principal_id, 'S' AS type, 'SQL_LOGIN' AS type_desc, 0 AS is_disabled, create_date, "
    f"modify_date, 'master' AS default_database_name FROM main.{P}logins UNION ALL "
    "SELECT __emulator_admin_login(), 1, 'S', 'SQL_LOGIN', 0, NULL, NULL, 'master'"
)
VIEW_NAMES = frozenset(_VIEWS) | {"databases", "sql_logins"}


def object_id_of(name: str) -> int:
    """Stable object id of a table (derived from its lower-cased name)."""
    return 245575913 + zlib.crc32(name.lower().encode()) % 1_000_000_000


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _register_functions(conn: sqlite3.Connection, slot: BatchSlot) -> None:
    """Register the emulator's SQL functions on ``conn``; those about the batch read ``slot``."""

    def batch() -> Session:
        if slot.session is None:
            raise RuntimeError("an emulator SQL function was called outside a batch")
        return slot.session

    def table_exists(name: str) -> bool:
        return not name.lower().startswith(P) and bool(
            batch()
            .conn.execute("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?", (name,))
            .fetchone()
        )

    def object_id(name: str | None, _type: str | None = None) -> int | None:
        if not name:
            return None
        try:
            parts = TokenCursor(tokenize(name)).multipart_name()
        except TsqlError:
            return None
        if len(parts) > 3 or (len(parts) == 3 and parts[0].lower() != batch().database.lower()):
            return None
        if len(parts) >= 2 and parts[-2].lower() != "dbo":
            return None
        return object_id_of(parts[-1]) if table_exists(parts[-1]) else None

    functions = {
        "__emulator_object_id": (1, object_id_of),
        "__emulator_admin_login": (0, lambda: batch().catalog.admin_login),
        "OBJECT_ID": (-1, object_id),
        "DB_NAME": (-1, lambda *_: batch().database),
        # sqlglot reads SUSER_SNAME(), SUSER_NAME(), SYSTEM_USER and CURRENT_USER all as CURRENT_USER:
        # answer the login name (the same as the user name for logins set up like the tutorial's).
        "CURRENT_USER": (0, lambda: batch().principal.login),
        "USER_NAME": (-1, lambda *_: batch().principal.user),
        "SYSUTCDATETIME": (0, _utc_now),
        "GETUTCDATE": (0, _utc_now),
        "UUID": (0, lambda: str(uuid.uuid4()).upper()),  # NEWID()
        "CONCAT": (-1, lambda *parts: "".join("" if p is None else str(p) for p in parts)),
    }
    for fname, (nargs, fn) in functions.items():
        conn.create_function(fname, nargs, fn)


def install(s: Session, *, views: bool = True) -> None:
    """Point the emulator's SQL functions at the batch and (with ``views``) create the ``sys.*``
    views on its connection.

    The functions are registered the first time a connection runs a batch and read the running
    batch from the connection's :class:`~elasticjobs_emulator.tsql.session.BatchSlot` afterwards
    (ten ``create_function`` calls were a tenth of the emulator's CPU per target at 10,000
    databases). A batch whose text never names ``sys`` cannot read a view, and creating them is
    most of what a short batch costs, so :func:`names_views` lets the caller skip them.
    """
    conn, slot = s.conn, s.conn.batch
    slot.session = s
    if not slot.functions:
        _register_functions(conn, slot)
        slot.functions = True
    if not views:
        return
    for view, select in _VIEWS.items():
        conn.execute(f'CREATE TEMP VIEW "sys.{view}" AS {select}')
    conn.execute('CREATE TEMP TABLE "sys.databases" (name TEXT, database_id INTEGER, state INTEGER, '
                 "state_desc TEXT, collation_name TEXT)")  # fmt: skip
    conn.executemany(
        "INSERT INTO \"sys.databases\" VALUES (?, ?, 0, 'ONLINE', 'SQL_Latin1_General_CP1_CI_AS')",
        _visible_databases(s),
    )
    if s.is_master:
        conn.execute(f'CREATE TEMP VIEW "sys.sql_logins" AS {_SQL_LOGINS}')


def names_views(sql: str) -> bool:
    """Whether batch text could name a catalog view (any ``sys`` in it, bracketed or not)."""
    return "sys" in sql.lower()


def _visible_databases(s: Session) -> list[tuple[str, int]]:
    """(name, database_id) rows of ``sys.databases``: ``master`` is 1, the others 5 + creation sequence.

    Only ``master`` lists every database; elsewhere just ``master`` and the current one are
    visible. Ids come from one keyed lookup each (the store's creation sequence, so they sort in
    creation order and never change), not from a list of the server's databases: a batch costs
    the same on a server of 10 or 10,000 databases.
    """
    names = s.catalog.database_names() if s.is_master else [MASTER, s.database]
    rows = []
    for name in names:
        sequence = (
            0
            if name.lower() == MASTER
            else s.catalog.store.sequence(f"{s.catalog.server_id}/databases/{name}")
        )
        if sequence is not None:
            rows.append((name, 1 if name.lower() == MASTER else sequence + 5))
    return rows
