"""A job step's output table: its first result set written into a table of the output database.

Azure's agent creates the table from the result set's columns plus ``internal_execution_id``
(uniqueidentifier) with a nonclustered index ``IX_<table>_Internal_Execution_ID``, and the output
credential needs CREATE TABLE on the database (only when the table is missing) and ALTER, SELECT,
INSERT, DELETE on the table or its schema (``docs/emulator-engine.md``, "Step output").

One write is one SQLite transaction: the rows an earlier attempt of the same target execution
wrote (same ``internal_execution_id``) are deleted, then the new rows are inserted, so a retried
or resumed attempt never leaves duplicates.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.tsql import security
from elasticjobs_emulator.tsql.errors import (
    TsqlError,
    invalid_object,
    permission_denied_database,
    permission_denied_object,
    schema_denied,
)
from elasticjobs_emulator.tsql.session import MASTER, Principal, ResultSet, Session, open_database

INTERNAL_ID_COLUMN = "internal_execution_id"
# Permissions on the output table (or its schema) that Azure requires of the output credential.
TABLE_PERMISSIONS = ("ALTER", "SELECT", "INSERT", "DELETE")
_NUMERIC = frozenset({"INTEGER", "REAL", "NUMERIC"})
# Affinities a uniqueidentifier cannot live in (UNIQUEIDENTIFIER itself has NUMERIC affinity).
_NOT_UNIQUEIDENTIFIER = frozenset({"INTEGER", "REAL", "BLOB"})


@dataclass(frozen=True)
class OutputTable:
    """Where a step's output goes inside one database: ``[schema].[table]``."""

    schema: str
    table: str

    @property
    def display(self) -> str:
        """``[schema].[table]`` as messages show it."""
        return f"[{self.schema}].[{self.table}]"


def affinity(declared: str) -> str:
    """SQLite's column affinity of a declared type (https://sqlite.org/datatype3.html, 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if not upper or "BLOB" in upper:
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def sql_type(values: Iterable[object]) -> str:
    """The SQL Server type the emulator gives a new column, from the values it will hold.

    Text wins over numbers, numbers over bits; a column with no value at all is NVARCHAR.
    """
    kinds = {type(v) for v in values if v is not None}
    if bytes in kinds:
        return "VARBINARY"
    if str in kinds or not kinds:
        return "NVARCHAR"
    if float in kinds:
        return "FLOAT"
    if kinds == {bool}:
        return "BIT"
    return "BIGINT"


def _value_fits(value: object, column_affinity: str) -> bool:
    """Whether SQL Server would convert ``value`` implicitly into a column of this affinity."""
    if value is None:
        return True
    if isinstance(value, bytes):
        return column_affinity == "BLOB"
    if isinstance(value, str):
        return column_affinity not in _NUMERIC
    return column_affinity != "BLOB"


def _check_result_columns(result: ResultSet) -> None:
    seen: set[str] = set()
    for position, name in enumerate(result.columns, start=1):
        if not name.strip():
            raise TsqlError(
                1038,
                15,
                f"An object or column name is missing or empty: column {position} of the step's "
                "first result set has no name; give every column a name (expression AS name).",
            )
        lowered = name.lower()
        if lowered == INTERNAL_ID_COLUMN or lowered in seen:
            raise TsqlError(
                2705,
                16,
                f"Column names in each table must be unique. Column name '{name}' is specified more "
                f"than once (the agent adds '{INTERNAL_ID_COLUMN}' itself); rename it in the step's query.",
            )
        seen.add(lowered)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_columns(conn: sqlite3.Connection, table: str) -> dict[str, tuple[str, str]]:
    """Lower-cased column name -> (name, declared type) of ``table``; empty when it does not exist."""
    rows = conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    return {str(row[1]).lower(): (str(row[1]), str(row[2])) for row in rows}


def _authorize(s: Session, target: OutputTable, create: bool) -> None:
    if create and not s.has_permission("CREATE TABLE"):
        raise permission_denied_database("CREATE TABLE", s.database)
    if create and not s.has_permission("ALTER", "SCHEMA", target.schema):
        raise schema_denied(target.schema)
    for permission in TABLE_PERMISSIONS:
        if not s.has_permission(permission, "OBJECT", target.table):
            raise permission_denied_object(permission, target.table, s.database)


def _create(conn: sqlite3.Connection, target: OutputTable, result: ResultSet) -> None:
    columns = [f"{_quote(INTERNAL_ID_COLUMN)} UNIQUEIDENTIFIER NOT NULL"]
    for index, name in enumerate(result.columns):
        columns.append(f"{_quote(name)} {sql_type(row[index] for row in result.rows)}")
    conn.execute(f"CREATE TABLE {_quote(target.table)} ({', '.join(columns)})")
    index_name = f"IX_{target.table}_Internal_Execution_ID"
    conn.execute(
        f"CREATE INDEX {_quote(index_name)} ON {_quote(target.table)} ({_quote(INTERNAL_ID_COLUMN)})"
    )


def _check_shape(existing: dict[str, tuple[str, str]], target: OutputTable, result: ResultSet) -> None:
    """The table must have ``internal_execution_id`` and exactly the result set's columns, types fitting."""
    internal = existing.get(INTERNAL_ID_COLUMN)
    if internal is None or affinity(internal[1]) in _NOT_UNIQUEIDENTIFIER:
        raise TsqlError(
            207,
            16,
            f"Invalid column name '{INTERNAL_ID_COLUMN}'. The output table {target.display} needs a "
            f"'{INTERNAL_ID_COLUMN}' uniqueidentifier column; add it, or let the agent create the table.",
        )
    table_names = [name for key, (name, _) in existing.items() if key != INTERNAL_ID_COLUMN]
    if sorted(n.lower() for n in table_names) != sorted(c.lower() for c in result.columns):
        raise TsqlError(
            213,
            16,
            "Column name or number of supplied values does not match table definition. The output table "
            f"{target.display} has the columns ({', '.join(table_names)}) besides {INTERNAL_ID_COLUMN}; the "
            f"step's first result set has ({', '.join(result.columns)}). Make them match, or point "
            "properties.output at a new table.",
        )
    for index, name in enumerate(result.columns):
        column, declared = existing[name.lower()]
        column_affinity = affinity(declared)
        bad = next((row[index] for row in result.rows if not _value_fits(row[index], column_affinity)), None)
        if bad is not None:
            raise TsqlError(
                245,
                16,
                f"Conversion failed when converting a {sql_type([bad]).lower()} value of the result set's "
                f"column '{name}' to the type '{declared or 'none'}' of column '{column}' of the output "
                f"table {target.display}; change the column's type or the step's query.",
            )


def write_result_set(
    catalog: ServerCatalog,
    database: str,
    principal: Principal,
    target: OutputTable,
    result: ResultSet,
    internal_execution_id: str,
    cancel: threading.Event | None = None,
) -> int:
    """Write ``result`` into ``target`` of ``database`` (its canonical name) as ``principal``.

    The table is created when missing; returns the number of rows written.

    Raises :class:`TsqlError`: Msg 262 / 2760 / 229 for a missing permission, 213 / 207 / 245 when
    an existing table's shape does not fit the result set, 2705 / 1038 for result-set column names
    no table can have, 2760 for a schema other than ``dbo`` (the only one the emulator has).
    """
    _check_result_columns(result)
    if target.schema.lower() != "dbo":
        raise schema_denied(target.schema)
    if target.table.lower().startswith(security.INTERNAL_PREFIX) or target.table.startswith("#"):
        raise invalid_object(target.display)
    conn = open_database(catalog.database_file(database), master=database.lower() == MASTER)
    session = Session(catalog, database, principal, conn, cancel)
    try:
        session.check_cancel()
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing = _table_columns(conn, target.table)
            _authorize(session, target, create=not existing)
            if existing:
                _check_shape(existing, target, result)
            else:
                _create(conn, target, result)
            table = _quote(target.table)
            conn.execute(
                f"DELETE FROM {table} WHERE {_quote(INTERNAL_ID_COLUMN)} = ?", (internal_execution_id,)
            )
            columns = ", ".join(_quote(c) for c in (INTERNAL_ID_COLUMN, *result.columns))
            marks = ", ".join("?" for _ in range(len(result.columns) + 1))
            conn.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                [(internal_execution_id, *row) for row in result.rows],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    return len(result.rows)
