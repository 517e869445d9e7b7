"""One batch run: the principal, its SQLite connection, the cancel flag and what was produced.

A batch runs on a connection of its own (busy timeout, rollback journal, autocommit: every statement
commits on its own as in SQL Server's autocommit mode), so batches from many engine threads can run
against the same database file. Afterwards the connection is kept for the next batch on that file
when nothing of the batch is left in it (:func:`checkin`), else closed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from elasticjobs_emulator.catalog import ServerCatalog, give_back, is_prepared, mark_prepared, take_idle
from elasticjobs_emulator.tsql import security
from elasticjobs_emulator.tsql.errors import canceled

BUSY_TIMEOUT_SECONDS = 30.0
MASTER = "master"


@dataclass(frozen=True)
class Principal:
    """An authenticated SQL login in one database: its database ``user`` (``dbo`` for the admin)."""

    login: str
    user: str
    database: str
    is_admin: bool


@dataclass
class ResultSet:
    """Rows returned by one SELECT: column names and rows (lists of plain Python values)."""

    columns: list[str]
    rows: list[list[Any]]


@dataclass
class BatchResult:
    """What one batch produced; ``rowcount`` sums the rows INSERT/UPDATE/DELETE touched (-1: none)."""

    result_sets: list[ResultSet] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    rowcount: int = -1

    def add_rowcount(self, count: int) -> None:
        """Count rows affected by one DML statement."""
        self.rowcount = max(self.rowcount, 0) + max(count, 0)


class BatchSlot:
    """The batch a connection runs now (None between batches), and whether the emulator's SQL
    functions, which answer for that batch, are registered on the connection yet."""

    __slots__ = ("functions", "session")

    def __init__(self) -> None:
        self.session: Session | None = None
        self.functions = False


class BatchConnection(sqlite3.Connection):
    """A connection to one database file; ``batch`` is the batch running on it.

    The SQL functions of :func:`elasticjobs_emulator.tsql.sysviews.install` read the batch from
    ``batch`` instead of holding it, so a kept connection registers them once, not once per batch.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch = BatchSlot()


def open_database(path: Path, *, master: bool) -> BatchConnection:
    """Open one database file in autocommit mode with its security catalog in place.

    The journal is a rollback journal truncated after each commit (``TRUNCATE``), not WAL: the
    T-SQL subset has no explicit transactions, so every lock lasts one statement, and a WAL
    database's open and last close create and delete its ``-wal`` and ``-shm`` files (about 200 µs
    of CPU per open and close against 55 µs, which a fan-out over 10,000 databases pays per target),
    and an idle connection holds three descriptors instead of one. Setting the journal mode and
    checking the catalog cost more than opening the file; a file this process already prepared
    (:func:`catalog.is_prepared`) is opened without them (a file left in WAL mode by an older
    emulator is switched on its first open).
    """
    conn = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
        factory=BatchConnection,
    )
    if is_prepared(path):
        return conn
    try:
        conn.execute("PRAGMA journal_mode=TRUNCATE")
        security.ensure_schema(conn, master=master)
    except BaseException:
        conn.close()
        raise
    mark_prepared(path)
    return conn


def checkout(path: Path, *, master: bool) -> BatchConnection:
    """A connection to a database file for one batch: an idle one when there is, else a new one.

    Hand it back with :func:`checkin`.
    """
    conn = take_idle(path)
    return cast(BatchConnection, conn) if conn is not None else open_database(path, master=master)


def checkin(path: Path, conn: BatchConnection, *, reusable: bool) -> None:
    """Keep a batch's connection for the next batch on the same file, or close it.

    Only a connection in the state of a new one is kept: the caller says whether the batch could
    have left anything in its temporary schema (``#temp`` tables, the ``sys.*`` views of a batch that
    named them; checking the schema itself costs more than a new connection), and a connection with
    an open transaction is closed.
    """
    conn.batch.session = None
    try:
        conn.set_progress_handler(None, 0)
        keep = reusable and not conn.in_transaction
    except sqlite3.Error:
        keep = False
    if keep:
        give_back(path, conn)
    else:
        conn.close()


@dataclass
class Session:
    """Everything a statement handler needs while one batch runs."""

    catalog: ServerCatalog
    database: str
    principal: Principal
    conn: BatchConnection
    cancel: threading.Event | None
    result: BatchResult = field(default_factory=BatchResult)

    @property
    def is_master(self) -> bool:
        """Whether the batch runs in ``master``."""
        return self.database.lower() == MASTER

    @contextmanager
    def master(self) -> Iterator[sqlite3.Connection]:
        """A connection to ``master`` (the batch's own when it runs there)."""
        if self.is_master:
            yield self.conn
            return
        conn = open_database(self.catalog.database_file(MASTER), master=True)
        try:
            yield conn
        finally:
            conn.close()

    def check_cancel(self) -> None:
        """Raise the cancellation error if the caller asked to stop."""
        if self.cancel is not None and self.cancel.is_set():
            raise canceled()

    def has_permission(self, permission: str, securable_class: str = "DATABASE", securable: str = "") -> bool:
        """Whether the principal holds ``permission`` on a securable of this database."""
        if self.principal.is_admin:
            return True
        return security.has_permission(self.conn, self.principal.user, permission, securable_class, securable)
