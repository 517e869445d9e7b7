"""DB-API 2.0 driver for the emulator's SQL data plane (T-SQL batches over HTTPS).

Example::

    from elasticjobs_emulator import dbapi

    conn = dbapi.connect(host="127.0.0.1", port=8443, server="target-server", database="master",
                         user="admin1", password=password, verify="/state/tls/cert.pem")
    cur = conn.cursor()
    cur.execute("SELECT name FROM sys.databases WHERE name = ?", ("TargetDb1",))
    cur.fetchall()

- ``paramstyle`` is ``qmark``: each ``?`` outside string literals, quoted identifiers and
  comments is replaced on the client by a T-SQL literal (``N'…'`` with ``''`` escapes, numbers,
  ``NULL``, ``0x…`` for bytes, ISO strings for dates). Values never become SQL syntax.
- Every batch commits on its own (the emulator runs in autocommit mode): ``commit()`` is a
  no-op and ``rollback()`` raises :class:`NotSupportedError`.
- ``Cursor.messages`` holds what the batch printed (PRINT, RAISERROR with severity <= 10);
  several SELECTs in one batch are reached with ``nextset()``.
- Errors carry the SQL Server ``number``, ``severity`` and the ``messages`` printed before them.

This module talks HTTP only; it imports nothing from the emulator's server modules (``api``,
``engine``, ``tsql``, ``store``...) and needs neither FastAPI nor Airflow.
"""

from __future__ import annotations

import datetime
import decimal
import math
import ssl
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"

SQLPLANE_PATH = "/_emulator/sql/servers/{server}/databases/{database}/query"


class Warning(Exception):
    """PEP 249 warning."""


class Error(Exception):
    """Base of every driver error; ``number``/``severity`` are SQL Server's when the server sent them."""

    def __init__(self, message: str, number: int | None = None, severity: int | None = None,
                 messages: Sequence[str] = ()) -> None:  # fmt: skip
        super().__init__(message if number is None else f"Msg {number}, Level {severity}: {message}")
        self.number = number
        self.severity = severity
        self.messages = list(messages)


class InterfaceError(Error):
    """Misuse of the driver (closed connection, bad parameters)."""


class DatabaseError(Error):
    """An error reported by the emulated database."""


class DataError(DatabaseError):
    """A value could not be processed."""


class OperationalError(DatabaseError):
    """Login failure, unreachable server, timeout, cancellation."""


class IntegrityError(DatabaseError):
    """Constraint violation (duplicate key, NULL into NOT NULL)."""


class InternalError(DatabaseError):
    """The emulator failed unexpectedly."""


class ProgrammingError(DatabaseError):
    """Syntax error, missing object, missing permission."""


class NotSupportedError(DatabaseError):
    """A statement outside the emulator's T-SQL subset, or an unsupported driver feature."""


_INTEGRITY = {515, 547, 2601, 2627}
_OPERATIONAL = {3980, 4060, 18456, 40532}
_NOT_SUPPORTED = {40508, 40515, 40517}


def _error_class(number: int) -> type[DatabaseError]:
    if number in _INTEGRITY:
        return IntegrityError
    if number in _OPERATIONAL:
        return OperationalError
    if number in _NOT_SUPPORTED:
        return NotSupportedError
    return ProgrammingError


# -- parameters ----------------------------------------------------------------------------------
def literal(value: Any) -> str:
    """Render a Python value as a T-SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"Cannot send the float {value!r} as a parameter: T-SQL has no NaN or infinity.")
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise DataError(f"Cannot send the Decimal {value} as a parameter: it is not finite.")
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex().upper()
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return literal(
            value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
        )
    if isinstance(value, str):
        if "\x00" in value:
            raise DataError("A string parameter contains a NUL character; remove it.")
        return "N'" + value.replace("'", "''") + "'"
    raise InterfaceError(f"Cannot send a parameter of type {type(value).__name__}; pass str, int, float, "
                         "Decimal, bytes, bool, None or a date/time.")  # fmt: skip


def _placeholders(sql: str) -> Iterator[int]:
    """Positions of ``?`` outside quotes, brackets and comments."""
    i, n = 0, len(sql)
    closers = {"'": "'", '"': '"', "[": "]"}
    while i < n:
        c = sql[i]
        if c in closers:
            close = closers[c]
            i += 1
            while i < n:
                if sql[i] == close:
                    if sql.startswith(close * 2, i):
                        i += 2
                        continue
                    break
                i += 1
        elif sql.startswith("--", i):
            i = sql.find("\n", i)
            i = n if i < 0 else i
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 1
        elif c == "?":
            yield i
        i += 1


def bind(sql: str, parameters: Sequence[Any] | None) -> str:
    """Substitute ``qmark`` parameters with T-SQL literals."""
    if parameters is None:
        return sql
    if isinstance(parameters, Mapping | str | bytes):
        raise InterfaceError("Parameters must be a sequence (paramstyle 'qmark'), e.g. a tuple.")
    positions = list(_placeholders(sql))
    if len(positions) != len(parameters):
        raise ProgrammingError(f"The statement has {len(positions)} '?' placeholders but "
                               f"{len(parameters)} parameters were given.")  # fmt: skip
    out, last = [], 0
    for pos, value in zip(positions, parameters, strict=True):
        out.append(sql[last:pos])
        out.append(literal(value))
        last = pos + 1
    out.append(sql[last:])
    return "".join(out)


# -- connection and cursor -----------------------------------------------------------------------
class Connection:
    """A session with one emulated database. Each ``execute`` is one HTTPS request."""

    def __init__(self, client: httpx.Client, path: str, user: str, timeout: float | None) -> None:
        self._client: httpx.Client | None = client
        self._path = path
        self.user = user
        self.timeout = timeout
        self.autocommit = True  # settable for DbApiHook; every batch commits on its own regardless

    def __repr__(self) -> str:
        return f"<elasticjobs_emulator.dbapi.Connection {self._path} user={self.user!r}>"

    def _live_client(self) -> httpx.Client:
        if self._client is None:
            raise InterfaceError("The connection is closed; open a new one with dbapi.connect().")
        return self._client

    def cursor(self) -> Cursor:
        """Return a new cursor."""
        self._live_client()
        return Cursor(self)

    def commit(self) -> None:
        """No-op: the emulator commits every statement as it runs."""
        self._live_client()

    def rollback(self) -> None:
        """Not supported: there is no open transaction to roll back."""
        raise NotSupportedError("The emulator runs every statement in autocommit mode; nothing to roll back.")

    def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_batch(self, batch: str) -> dict[str, Any]:
        """Send one batch; return the decoded result or raise the mapped error."""
        body: dict[str, Any] = {"batch": batch}
        if self.timeout:
            body["timeout"] = self.timeout
        try:
            response = self._live_client().post(self._path, json=body)
        except httpx.HTTPError as exc:
            raise OperationalError(f"Cannot reach the emulator's SQL data plane: {exc}") from None
        try:
            payload = response.json()
        except ValueError:
            raise InternalError(
                f"The emulator answered HTTP {response.status_code} without a JSON body."
            ) from None
        if response.is_success:
            return payload
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        if not isinstance(error, dict) or "number" not in error:
            raise InternalError(f"The emulator answered HTTP {response.status_code}: {payload}")
        cls = OperationalError if response.status_code in (401, 404) else _error_class(int(error["number"]))
        raise cls(str(error.get("message")), int(error["number"]), int(error.get("severity", 16)),
                  error.get("messages") or ())  # fmt: skip


class Cursor:
    """PEP 249 cursor over the result sets of the last batch."""

    def __init__(self, connection: Connection) -> None:
        self.connection: Connection | None = connection
        self.arraysize = 1
        self.rowcount = -1
        self.messages: list[str] = []
        self._sets: list[dict[str, Any]] = []
        self._rows: list[tuple[Any, ...]] = []
        self._columns: list[str] | None = None

    @property
    def description(self) -> list[tuple[str, None, None, None, None, None, None]] | None:
        """Column descriptions of the current result set (names only), or None."""
        if self._columns is None:
            return None
        return [(name, None, None, None, None, None, None) for name in self._columns]

    def _open(self) -> Connection:
        if self.connection is None:
            raise InterfaceError("The cursor is closed.")
        return self.connection

    def _load_set(self) -> None:
        current = self._sets.pop(0) if self._sets else None
        self._columns = None if current is None else list(current["columns"])
        self._rows = [] if current is None else [tuple(r) for r in current["rows"]]

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> Cursor:
        """Run one T-SQL batch (``?`` placeholders bound from ``parameters``)."""
        connection = self._open()
        result = connection.run_batch(bind(operation, parameters))
        self.messages = list(result.get("messages", []))
        self.rowcount = int(result.get("rowcount", -1))
        self._sets = list(result.get("result_sets", []))
        self._load_set()
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Sequence[Any]]) -> None:
        """Run the batch once per parameter sequence; ``rowcount`` is the total."""
        total = 0
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
            total += max(self.rowcount, 0)
        self.rowcount = total

    def _need_rows(self) -> None:
        self._open()
        if self._columns is None:
            raise ProgrammingError("No result set: the last batch returned no rows to fetch.")

    def fetchone(self) -> tuple[Any, ...] | None:
        """Next row of the current result set, or None."""
        self._need_rows()
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        """Up to ``size`` (default ``arraysize``) next rows."""
        self._need_rows()
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        """All remaining rows of the current result set."""
        self._need_rows()
        rows, self._rows = self._rows, []
        return rows

    def nextset(self) -> bool | None:
        """Move to the next result set of the batch; None when there is none."""
        self._open()
        if not self._sets:
            self._columns, self._rows = None, []
            return None
        self._load_set()
        return True

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored (PEP 249 allows it)."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """Accepted and ignored (PEP 249 allows it)."""

    def close(self) -> None:
        """Close the cursor."""
        self.connection = None
        self._sets, self._rows, self._columns = [], [], None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    host: str,
    port: int,
    server: str,
    database: str,
    user: str,
    password: str,
    verify: bool | str = True,
    scheme: str = "https",
    timeout: float | None = 30.0,
) -> Connection:
    """Open a connection to ``database`` on emulated ``server`` as the SQL login ``user``.

    ``verify`` is True (system CAs), False, or the path of the emulator's certificate (CA bundle).
    ``timeout`` bounds both the HTTP request and the batch (the emulator cancels it after that
    many seconds). The login is checked at once (``SELECT 1``), like opening an ODBC connection.
    """
    for field, value in (("host", host), ("server", server), ("database", database), ("user", user)):
        if not value:
            raise InterfaceError(f"dbapi.connect(): '{field}' is empty; pass the emulator's {field}.")
    if scheme not in ("https", "http"):
        raise InterfaceError(f"dbapi.connect(): scheme {scheme!r} is not supported; use 'https' (or 'http').")
    client = httpx.Client(
        base_url=f"{scheme}://{host}:{int(port)}",
        auth=httpx.BasicAuth(user, password),
        verify=ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify,
        timeout=None if timeout is None else timeout + 10.0,
    )
    path = SQLPLANE_PATH.format(server=quote(server, safe=""), database=quote(database, safe=""))
    connection = Connection(client, path, user, timeout)
    try:
        connection.run_batch("SELECT 1")
    except BaseException:
        connection.close()
        raise
    return connection
