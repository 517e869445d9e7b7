"""T-SQL of a fleet query: the job step's command around the user's SELECT, and the read-back.

Every target runs the user's query wrapped as a derived table, with three columns put in front:

* ``job_execution_id``: ``$(job_execution_id)``, the job agent's scripting variable for the root
  execution's id ("Create and manage elastic jobs by using T-SQL", section "Monitor database
  performance", https://learn.microsoft.com/azure/azure-sql/database/elastic-jobs-tsql-create-manage,
  selects it "to group all results from the same job execution together"). The agent's own
  ``internal_execution_id`` column cannot do that: it identifies one target execution, not the job
  execution (docs/emulator-engine.md, "Step output").
* ``target_server_name`` (``@@SERVERNAME``) and ``target_database_name`` (``DB_NAME()``): where the
  row comes from.

The agent appends each target's first result set to the output table; :func:`read_back_sql` selects
the rows of one execution only. Pure string building, no I/O (unit-tested in
``tests/unit/fleet_query``).
"""

from __future__ import annotations

import re
from typing import Any

from airflow_elasticjobs.validation import invalid, is_templated, require

EXECUTION_COLUMN = "job_execution_id"
SERVER_COLUMN = "target_server_name"
DATABASE_COLUMN = "target_database_name"
INTERNAL_COLUMN = "internal_execution_id"
"""The column Azure's agent adds to every output table (one id per target execution)."""
RESERVED_COLUMNS = (EXECUTION_COLUMN, SERVER_COLUMN, DATABASE_COLUMN, INTERNAL_COLUMN)
"""Column names the user's query must not return (the output table would have them twice)."""
HIDDEN_COLUMNS = frozenset({EXECUTION_COLUMN, INTERNAL_COLUMN})
"""Columns read back but not returned: the same for every row of one execution, or internal."""

_TRAILING_SEMICOLONS = re.compile(r"[\s;]+$")
_LEADING_WITH = re.compile(r"^\s*WITH\b", re.IGNORECASE)
_GO_LINE = re.compile(r"^\s*GO\s*$", re.IGNORECASE | re.MULTILINE)


def normalize_query(query: Any) -> str:
    """The user's SELECT without trailing semicolons; an error naming ``query`` when it cannot be wrapped.

    Checks what can be checked without a T-SQL parser; anything else the target database reports
    (the target execution fails with the SQL Server message).
    """
    if is_templated(query):
        return str(query)
    if not isinstance(query, str) or not query.strip():
        raise invalid(
            "query", query, "give the SELECT to run on every database, e.g. 'SELECT DB_NAME() AS db'"
        )
    text = _TRAILING_SEMICOLONS.sub("", query.strip())
    require("query", text, "give a SELECT, not only semicolons")
    if _LEADING_WITH.match(text):
        raise invalid(
            "query",
            _preview(text),
            "a query starting with a CTE (WITH …) cannot be used as a derived table in T-SQL; "
            "inline the CTE as a subquery in FROM",
        )
    if _GO_LINE.search(text):
        raise invalid("query", _preview(text), "remove GO: it is a client batch separator, not T-SQL")
    return text


def step_command(query: str) -> str:
    """The job step's T-SQL: the user's query as a derived table behind the three columns."""
    return (
        f"SELECT $(job_execution_id) AS {quote(EXECUTION_COLUMN)}, "
        f"@@SERVERNAME AS {quote(SERVER_COLUMN)}, DB_NAME() AS {quote(DATABASE_COLUMN)}, [fleet_query].*\n"
        f"FROM (\n{query}\n) AS [fleet_query]"
    )


def read_back_sql(schema: str, table: str, placeholder: str) -> str:
    """SELECT of one execution's rows (parameter: the execution id), ordered by server and database."""
    return (
        f"SELECT * FROM {quote(schema)}.{quote(table)} WHERE {quote(EXECUTION_COLUMN)} = {placeholder} "
        f"ORDER BY {quote(SERVER_COLUMN)}, {quote(DATABASE_COLUMN)}"
    )


def quote(name: str) -> str:
    """``[name]`` with ``]`` doubled (a T-SQL delimited identifier)."""
    return "[" + name.replace("]", "]]") + "]"


def _preview(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
