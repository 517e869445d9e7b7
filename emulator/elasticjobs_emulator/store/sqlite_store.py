"""SQLite-backed store for ARM resource documents, write-only secrets and executions.

Every write is committed before the call returns (WAL journal), so the state survives a
``kill -9`` of the emulator. Writes go through one connection under a lock; reads outside a
transaction go through a small pool of read connections, so the many threads of a job fan-out
read committed state side by side instead of queueing behind each other and behind writes.
ARM names are case-insensitive: rows are keyed by the lower-cased resource id, documents keep
the casing the caller used.

Resource documents are the JSON bodies the ARM API returns (``id``, ``name``, ``type``,
``properties`` ...). Secrets (credential password digests, server admin password digests) live in
their own table and are never part of a document.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

#: Read connections shared by every thread (WAL lets them read while the writer commits).
READ_CONNECTIONS = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY,
    parent_key TEXT NOT NULL,
    child_type TEXT NOT NULL,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_parent ON resources(parent_key, child_type, seq);
CREATE TABLE IF NOT EXISTS secrets (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    key TEXT PRIMARY KEY,
    agent_key TEXT NOT NULL,
    job_key TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    step_name TEXT,
    seq INTEGER NOT NULL,
    create_time TEXT NOT NULL,
    end_time TEXT,
    active INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_agent ON executions(agent_key, kind, create_time);
CREATE INDEX IF NOT EXISTS executions_job ON executions(job_key, kind, create_time);
CREATE INDEX IF NOT EXISTS executions_root ON executions(execution_id, kind, seq);
CREATE INDEX IF NOT EXISTS executions_active ON executions(active, kind);
-- A page of an isActive list walks these in seq order and stops after the page (find_executions).
CREATE INDEX IF NOT EXISTS executions_agent_pages ON executions(agent_key, kind, active, seq);
CREATE INDEX IF NOT EXISTS executions_job_pages ON executions(job_key, kind, active, seq);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class ExecutionRow(NamedTuple):
    """One execution document with its indexed columns (``key``: the lower-cased ARM id)."""

    key: str
    agent_id: str
    job_id: str
    execution_id: str
    kind: str  # job, step or target
    step_name: str | None
    create_time: str
    end_time: str | None
    active: bool
    doc: dict[str, Any]


def resource_key(resource_id: str) -> str:
    """Return the case-insensitive storage key of an ARM resource id."""
    return resource_id.rstrip("/").lower()


def _like_below(key: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching every key below ``key``."""
    return key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def split_resource_id(resource_id: str) -> tuple[str, str]:
    """Split ``…/parent/childType/name`` into (parent key, child type segment, lower-cased)."""
    parts = resource_key(resource_id).split("/")
    return "/".join(parts[:-2]), parts[-2]


class Store:
    """Thread-safe persistence for the emulator (one locked write connection, pooled readers)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Owner-only before SQLite opens it: the file holds password digests and the token-signing key.
        # SQLite gives its -wal and -shm files the database file's mode.
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._seq = self._load_seq()
        self._writer: int | None = None  # thread id inside transaction(), whose reads must see its writes
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._all_readers: list[sqlite3.Connection] = []
        for _ in range(READ_CONNECTIONS):
            reader = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._all_readers.append(reader)
            self._readers.put(reader)

    def _read(self, sql: str, params: Any = ()) -> list[Any]:
        """Rows of one query of committed state (the writer's own view inside its transaction)."""
        if self._writer == threading.get_ident():
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        reader = self._readers.get()
        try:
            return reader.execute(sql, params).fetchall()
        finally:
            self._readers.put(reader)

    def _read_one(self, sql: str, params: Any = ()) -> Any:
        rows = self._read(sql, params)
        return rows[0] if rows else None

    def _load_seq(self) -> int:
        row = self._conn.execute(
            "SELECT MAX(m) FROM (SELECT MAX(seq) AS m FROM resources"
            " UNION ALL SELECT MAX(seq) FROM executions)"
        ).fetchone()
        return int(row[0] or 0)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run several writes atomically (nested use joins the outer transaction)."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._writer = threading.get_ident()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._writer = None

    def close(self) -> None:
        """Close the underlying connection."""
        with self._lock:
            self._conn.close()
            for reader in self._all_readers:
                reader.close()

    # -- resources -------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any] | None:
        """Return the stored document of a resource, or None."""
        row = self._read_one("SELECT doc FROM resources WHERE key = ?", (resource_key(resource_id),))
        return json.loads(row[0]) if row else None

    def exists(self, resource_id: str) -> bool:
        """Whether a resource with this id exists (a keyed lookup; the document is not decoded)."""
        row = self._read_one("SELECT 1 FROM resources WHERE key = ?", (resource_key(resource_id),))
        return row is not None

    def put(self, resource_id: str, doc: dict[str, Any]) -> bool:
        """Create or replace a resource document; return True when it was created."""
        key = resource_key(resource_id)
        parent_key, child_type = split_resource_id(resource_id)
        with self.transaction() as conn:
            row = conn.execute("SELECT seq FROM resources WHERE key = ?", (key,)).fetchone()
            if row:
                conn.execute("UPDATE resources SET doc = ? WHERE key = ?", (json.dumps(doc), key))
                return False
            conn.execute(
                "INSERT INTO resources(key, parent_key, child_type, seq, doc) VALUES (?, ?, ?, ?, ?)",
                (key, parent_key, child_type, self._next_seq(), json.dumps(doc)),
            )
            return True

    def delete(self, resource_id: str) -> bool:
        """Delete a resource with its descendants, secrets and executions; True if it existed."""
        key = resource_key(resource_id)
        like = _like_below(key)
        with self.transaction() as conn:
            found = conn.execute("DELETE FROM resources WHERE key = ?", (key,)).rowcount > 0
            conn.execute("DELETE FROM resources WHERE key LIKE ? ESCAPE '\\'", (like,))
            conn.execute("DELETE FROM secrets WHERE key = ? OR key LIKE ? ESCAPE '\\'", (key, like))
            conn.execute(
                "DELETE FROM executions WHERE job_key = ? OR job_key LIKE ? ESCAPE '\\'", (key, like)
            )
        return found

    def children(self, parent_id: str, child_type: str) -> list[dict[str, Any]]:
        """Documents of the direct children of one type (e.g. ``jobs``), in creation order."""
        rows = self._read(
            "SELECT doc FROM resources WHERE parent_key = ? AND child_type = ? ORDER BY seq",
            (resource_key(parent_id), child_type.lower()),
        )
        return [json.loads(r[0]) for r in rows]

    def name_of(self, resource_id: str) -> str | None:
        """The ``name`` of a resource's document, or None when it does not exist.

        One key lookup; the document is not decoded in Python.
        """
        row = self._read_one(
            "SELECT json_extract(doc, '$.name') FROM resources WHERE key = ?", (resource_key(resource_id),)
        )
        return None if row is None else str(row[0])

    def sequence(self, resource_id: str) -> int | None:
        """Creation sequence number of a resource (unique, increasing in creation order), or None.

        One key lookup; it never changes when the document is replaced.
        """
        row = self._read_one("SELECT seq FROM resources WHERE key = ?", (resource_key(resource_id),))
        return None if row is None else int(row[0])

    def resources_of_type(self, child_type: str) -> list[dict[str, Any]]:
        """Documents of every resource whose type segment is ``child_type`` (e.g. ``jobs``)."""
        rows = self._read(
            "SELECT doc FROM resources WHERE child_type = ? ORDER BY seq", (child_type.lower(),)
        )
        return [json.loads(r[0]) for r in rows]

    # -- secrets (write-only from the API's point of view) ---------------------------------
    def set_secret(self, resource_id: str, value: str) -> None:
        """Store a secret digest for a resource (never part of its document)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO secrets(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (resource_key(resource_id), value),
            )

    def get_secret(self, resource_id: str) -> str | None:
        """Return the stored secret digest of a resource, or None."""
        row = self._read_one("SELECT value FROM secrets WHERE key = ?", (resource_key(resource_id),))
        return row[0] if row else None

    # -- executions ------------------------------------------------------------------------
    def put_executions(self, rows: Iterable[ExecutionRow]) -> None:
        """Create or replace execution rows in one transaction (one statement for all of them).

        A replaced row keeps its creation sequence; only ``end_time``, ``active`` and ``doc`` change.
        """
        params = [
            (
                row.key,
                resource_key(row.agent_id),
                resource_key(row.job_id),
                row.execution_id.lower(),
                row.kind,
                row.step_name.lower() if row.step_name else None,
                row.create_time,
                row.end_time,
                int(row.active),
                json.dumps(row.doc),
            )
            for row in rows
        ]
        with self.transaction() as conn:
            # Every row takes a sequence number; a replaced row keeps its own (gaps only order rows).
            numbered = [(*p[:6], self._next_seq(), *p[6:]) for p in params]
            conn.executemany(
                "INSERT INTO executions(key, agent_key, job_key, execution_id, kind, step_name, seq,"
                " create_time, end_time, active, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET end_time = excluded.end_time, active = excluded.active,"
                " doc = excluded.doc",
                numbered,
            )

    def get_execution(self, key: str) -> dict[str, Any] | None:
        """Return the document of one execution row by its key, or None."""
        row = self._read_one("SELECT doc FROM executions WHERE key = ?", (key,))
        return json.loads(row[0]) if row else None

    def find_executions(
        self,
        kind: str,
        *,
        job_id: str | None = None,
        agent_id: str | None = None,
        under: str | None = None,
        execution_id: str | None = None,
        step_name: str | None = None,
        active: bool | None = None,
        create_time_min: str | None = None,
        create_time_max: str | None = None,
        end_time_min: str | None = None,
        end_time_max: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Documents of the execution rows of one ``kind`` matching every given filter, oldest first.

        ``job_id``/``agent_id`` match the owning job/agent, ``under`` matches executions of every job
        at or below that resource (a server, agent or job); ids and names compare case-insensitively.
        Times are ARM timestamps (``to_iso``), which sort like the times; an execution without an
        ``endTime`` never matches an end-time bound. ``offset`` and ``limit`` select a slice of the
        matches in SQL (one list page), so only that slice's documents are read and decoded.
        """
        conditions = ["kind = ?"]
        params: list[Any] = [kind]
        filters: tuple[tuple[str, Any], ...] = (
            ("job_key = ?", job_id and resource_key(job_id)),
            ("agent_key = ?", agent_id and resource_key(agent_id)),
            ("execution_id = ?", execution_id and execution_id.lower()),
            ("step_name = ?", step_name and step_name.lower()),
            ("active = ?", None if active is None else int(active)),
            ("create_time >= ?", create_time_min),
            ("create_time <= ?", create_time_max),
            ("end_time >= ?", end_time_min),
            ("end_time <= ?", end_time_max),
        )
        for condition, value in filters:
            if value is not None:
                conditions.append(condition)
                params.append(value)
        if under is not None:
            key = resource_key(under)
            conditions.append("(job_key = ? OR job_key LIKE ? ESCAPE '\\')")
            params.extend([key, _like_below(key)])
        rows = self._read(
            f"SELECT doc FROM executions WHERE {' AND '.join(conditions)} ORDER BY seq LIMIT ? OFFSET ?",
            [*params, -1 if limit is None else limit, offset],
        )
        return [json.loads(r[0]) for r in rows]

    # -- small key/value metadata (e.g. the emulator's secret key) -------------------------
    def get_meta(self, key: str) -> str | None:
        """Return a metadata value or None."""
        row = self._read_one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def utc_now_iso() -> str:
    """Current UTC time as the ISO 8601 string ARM uses (``2025-01-01T00:00:00.123Z``)."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"
