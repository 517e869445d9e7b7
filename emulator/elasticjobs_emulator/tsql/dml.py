"""DML/DDL through ``sqlglot`` (tsql -> sqlite): CREATE/DROP/TRUNCATE TABLE, INSERT, SELECT, UPDATE, DELETE.

Names are resolved the way Azure SQL Database does for the ``dbo`` schema: ``[dbo].[t]`` and ``t``
are the same table, ``sys.tables`` & co. are the catalog views of :mod:`.sysviews`, other schemas
and three-part names of other databases are errors. Every statement checks the principal's
permission on what it touches before it runs (see ``docs/emulator-tsql.md``).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from elasticjobs_emulator.tsql import security
from elasticjobs_emulator.tsql.errors import (
    TsqlError,
    UnsupportedStatement,
    canceled,
    cannot_drop_table,
    invalid_object,
    permission_denied_database,
    permission_denied_object,
    schema_denied,
    syntax_error,
)
from elasticjobs_emulator.tsql.session import ResultSet, Session
from elasticjobs_emulator.tsql.sysviews import VIEW_NAMES

_TEXT_TYPES = {
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.NVARCHAR,
    exp.DataType.Type.CHAR,
    exp.DataType.Type.NCHAR,
}


def parse(text: str) -> exp.Expression:
    """Parse one T-SQL statement with sqlglot; raise Msg 102 on a syntax error."""
    try:
        expressions = sqlglot.parse(text, read="tsql")
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        raise syntax_error(str(first.get("highlight") or text[:30])) from None
    except SqlglotError as error:
        raise TsqlError(102, 15, f"Incorrect syntax: {error}") from None
    expressions = [e for e in expressions if e is not None]
    if len(expressions) != 1:
        raise syntax_error(text[:30])
    expression = expressions[0]
    server_names = {id(node) for outer in _server_name_nodes(expression) for node in outer.walk()}
    for parameter in expression.find_all(exp.Parameter, exp.Placeholder):
        if id(parameter) in server_names:
            continue
        name = parameter.sql(dialect="tsql") or "?"
        if name.startswith("@@"):
            raise UnsupportedStatement(f"system function {name}")
        raise TsqlError(
            137, 15, f'Must declare the scalar variable "{name}". (The emulator has no variables.)'
        )
    if isinstance(expression, exp.Select) and expression.args.get("into"):
        raise UnsupportedStatement("SELECT … INTO", "Use CREATE TABLE and INSERT … SELECT.")
    if not isinstance(
        expression,
        exp.Query | exp.Insert | exp.Update | exp.Delete | exp.TruncateTable | exp.Create | exp.Drop,
    ):
        raise UnsupportedStatement(text.split(None, 2)[0].upper())
    if (
        isinstance(expression, exp.Create | exp.Drop)
        and str(expression.args.get("kind", "")).upper() != "TABLE"
    ):
        raise UnsupportedStatement(f"{expression.key.upper()} {expression.args.get('kind')}")
    return expression


def condition(text: str) -> exp.Expression:
    """Parse an IF condition as ``SELECT CASE WHEN condition THEN 1 ELSE 0 END``."""
    return parse(f"SELECT CASE WHEN {text} THEN 1 ELSE 0 END")


@dataclass
class _Plan:
    sql: str
    targets: list[str] = field(default_factory=list)  # user tables written, created or dropped
    reads: list[str] = field(default_factory=list)  # other user tables read


def _resolve_tables(s: Session, expression: exp.Expression) -> dict[int, str]:
    """Rewrite table references in place; return the user tables by node id.

    ``sys.*`` become the catalog views, ``#temp`` tables live in SQLite's temp schema for the
    batch (SQL Server keeps them for the session; a data-plane or job-step session is one batch),
    CTE names stay as they are; none of those are user tables.
    """
    ctes = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    tables: dict[int, str] = {}
    for table in expression.find_all(exp.Table):
        name, schema, catalog = table.name, table.db, table.catalog
        full = ".".join(p for p in (catalog, schema, name) if p)
        if catalog and catalog.lower() != s.database.lower():
            raise TsqlError(
                40515,
                15,
                f"Reference to database and/or server name in '{full}' is not supported "
                "in this version of SQL Server.",
            )
        table.set("db", None)
        table.set("catalog", None)
        if schema.lower() == "sys":
            if name.lower() not in VIEW_NAMES or (name.lower() == "sql_logins" and not s.is_master):
                raise invalid_object(full)
            table.set("this", exp.Identifier(this=f"sys.{name.lower()}", quoted=True))
        elif isinstance(table.this, exp.Identifier) and table.this.args.get("temporary"):
            table.set("this", exp.Identifier(this=f"#{name}", quoted=True))
        elif (schema and schema.lower() != "dbo") or name.lower().startswith(security.INTERNAL_PREFIX):
            raise invalid_object(full)
        elif schema or name.lower() not in ctes:
            tables[id(table)] = name
    return tables


def _target_nodes(expression: exp.Expression) -> list[exp.Expression]:
    """The table nodes a statement writes to, creates or drops."""
    if isinstance(expression, exp.Drop | exp.TruncateTable):
        return list(expression.find_all(exp.Table))
    if isinstance(expression, exp.Insert | exp.Update | exp.Delete | exp.Create):
        node = expression.this
        return [node.this if isinstance(node, exp.Schema) else node]
    return []


def _server_name_nodes(expression: exp.Expression) -> list[exp.Expression]:
    """The ``@@SERVERNAME`` nodes of a statement (the only ``@@`` function the subset has)."""
    return [
        node
        for node in expression.find_all(exp.Parameter)
        if isinstance(node.this, exp.Parameter) and node.this.name.upper() == "SERVERNAME"
    ]


def _fix_dialect(expression: exp.Expression) -> None:
    """Bridge what sqlglot leaves as T-SQL: N'…' literals, ``+`` between strings, SCHEMA_NAME(), and
    the ``(MAX)`` length of NVARCHAR/VARCHAR/VARBINARY (sqlglot renders ``TEXT(MAX)``, which SQLite
    refuses; a SQLite TEXT or BLOB column has no length limit, so the unbounded type is the bare one)."""
    for data_type in expression.find_all(exp.DataType):
        params = data_type.expressions
        if len(params) == 1 and params[0].name.upper() == "MAX":
            data_type.set("expressions", [])
    for schema in list(expression.find_all(exp.CurrentSchema)):
        schema.replace(exp.Literal.string("dbo"))
    for national in list(expression.find_all(exp.National)):
        national.replace(exp.Literal.string(national.name))
    for add in list(expression.find_all(exp.Add)):
        if any(_is_text(side) for side in (add.left, add.right)):
            add.replace(exp.DPipe(this=add.left, expression=add.right, safe=True))


def _is_text(node: exp.Expression) -> bool:
    if isinstance(node, exp.Literal) and node.is_string:
        return True
    if isinstance(node, exp.Cast) and node.to.this in _TEXT_TYPES:
        return True
    return isinstance(node, exp.DPipe | exp.Concat)


def _plan(s: Session, expression: exp.Expression) -> _Plan:
    expression = expression.copy()
    user_tables = _resolve_tables(s, expression)
    _fix_dialect(expression)
    # Azure SQL Database answers @@SERVERNAME with the logical server's name (without the DNS suffix).
    for node in _server_name_nodes(expression):
        node.replace(exp.Literal.string(s.catalog.name))
    target_ids = [id(node) for node in _target_nodes(expression)]
    targets = [user_tables[i] for i in target_ids if i in user_tables]
    reads = [name for i, name in user_tables.items() if i not in target_ids]
    if isinstance(expression, exp.TruncateTable):
        sql = "; ".join(f"DELETE FROM {t.sql(dialect='sqlite')}" for t in expression.find_all(exp.Table))
    else:
        sql = expression.sql(dialect="sqlite")
    return _Plan(sql, targets, reads)


def _authorize(s: Session, expression: exp.Expression, plan: _Plan) -> None:
    """Check the permissions of ``docs/emulator-tsql.md`` (temp tables need none)."""
    if isinstance(expression, exp.Create):
        if plan.targets and not s.has_permission("CREATE TABLE"):
            raise permission_denied_database("CREATE TABLE", s.database)
        if plan.targets and not s.has_permission("ALTER", "SCHEMA", "dbo"):
            raise schema_denied("dbo")
        return
    if isinstance(expression, exp.Drop | exp.TruncateTable):
        verb = "drop" if isinstance(expression, exp.Drop) else "truncate"
        for table in plan.targets:
            if not s.has_permission("ALTER", "OBJECT", table):
                raise cannot_drop_table(table, verb)
        return
    for table in plan.targets:
        permission = expression.key.upper()
        if not s.has_permission(permission, "OBJECT", table):
            raise permission_denied_object(permission, table, s.database)
    for table in plan.reads:
        if not s.has_permission("SELECT", "OBJECT", table):
            raise permission_denied_object("SELECT", table, s.database)


_SQLITE_ERRORS = [
    (re.compile(r"no such table: (?:main\.)?(.+)"), lambda m: invalid_object(m[1])),
    (re.compile(r"no such column: (.+)"), lambda m: TsqlError(207, 16, f"Invalid column name '{m[1]}'.")),
    (re.compile(r"(?:table|view) \"?([^\"]+?)\"? already exists"),
     lambda m: TsqlError(2714, 16, f"There is already an object named '{m[1]}' in the database.")),
    (re.compile(r"UNIQUE constraint failed: (.+)"),
     lambda m: TsqlError(2627, 14, f"Violation of a PRIMARY KEY or UNIQUE constraint on {m[1]}.")),
    (re.compile(r"NOT NULL constraint failed: (\w+)\.(\w+)"),
     lambda m: TsqlError(515, 16, f"Cannot insert the value NULL into column '{m[2]}', table '{m[1]}'; "
                                  "column does not allow nulls.")),
    (re.compile(r"interrupted"), lambda m: canceled()),
]  # fmt: skip


def _translate(error: sqlite3.Error, expression: exp.Expression) -> TsqlError:
    message = str(error)
    if isinstance(expression, exp.Drop) and message.startswith("no such table"):
        return cannot_drop_table(message.split(":", 1)[-1].strip().removeprefix("main."))
    for pattern, make in _SQLITE_ERRORS:
        if match := pattern.search(message):
            return make(match)
    return TsqlError(50000, 16, f"The emulator's storage engine rejected the statement: {message}")


def execute(s: Session, expression: exp.Expression) -> ResultSet | None:
    """Run one parsed DML/DDL statement; return its rows for a query, count rows for DML."""
    plan = _plan(s, expression)
    _authorize(s, expression, plan)
    try:
        cursor = s.conn.execute(plan.sql)
        if cursor.description is not None:
            columns = [d[0] for d in cursor.description]
            return ResultSet(columns, [list(row) for row in cursor.fetchall()])
    except sqlite3.Error as error:
        raise _translate(error, expression) from None
    if isinstance(expression, exp.Insert | exp.Update | exp.Delete | exp.TruncateTable):
        s.result.add_rowcount(cursor.rowcount)
    return None


def scalar_row(s: Session, expression: exp.Expression) -> list[object]:
    """Evaluate a ``SELECT expr, …`` with no table and return its single row."""
    result = execute(s, expression)
    if result is None or not result.rows:
        return []
    return result.rows[0]
