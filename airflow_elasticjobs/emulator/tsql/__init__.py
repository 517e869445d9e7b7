"""T-SQL subset interpreter over one SQLite file per emulated database.

Public API: :func:`connect` authenticates a SQL login to a database and returns a
:class:`Principal`; :func:`execute_batch` runs one T-SQL batch as that principal and returns a
:class:`BatchResult`, raising :class:`TsqlError` (or :class:`UnsupportedStatement`,
:class:`PermissionDenied`, :class:`LoginFailed`, :class:`QueryCanceled`). See
``docs/emulator-tsql.md`` for the supported subset and the permission model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from airflow_elasticjobs.emulator.catalog import ServerCatalog


class TsqlError(Exception):
    """A SQL Server error: number, severity and message."""

    def __init__(self, number: int, severity: int, message: str) -> None:
        super().__init__(message)
        self.number = number
        self.severity = severity
        self.message = message


class UnsupportedStatement(TsqlError):
    """A statement outside the emulator's subset."""


class PermissionDenied(TsqlError):
    """The principal lacks a permission."""


class LoginFailed(TsqlError):
    """Authentication to a database failed."""


class QueryCanceled(TsqlError):
    """The batch was cancelled."""


@dataclass(frozen=True)
class Principal:
    """An authenticated login in one database."""

    login: str
    user: str
    database: str
    is_admin: bool


@dataclass
class ResultSet:
    """Rows returned by one SELECT."""

    columns: list[str]
    rows: list[list[Any]]


@dataclass
class BatchResult:
    """Everything one batch produced."""

    result_sets: list[ResultSet] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    rowcount: int = -1


def connect(catalog: ServerCatalog, database: str, login: str, password_digest: str | None) -> Principal:
    """Authenticate ``login`` to ``database``; raise :class:`LoginFailed` otherwise."""
    raise NotImplementedError


def execute_batch(
    catalog: ServerCatalog,
    database: str,
    principal: Principal,
    sql: str,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """Run one T-SQL batch as ``principal``."""
    raise NotImplementedError
