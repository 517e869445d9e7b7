"""Where the databases of one emulated server live, which exist, and who its admin is.

The databases are the server's ``databases`` children in the ARM store (``master`` included);
each has one SQLite file ``<state dir>/databases/<server>/<database>.sqlite`` (lower-cased names),
created on first use. :meth:`ServerCatalog.from_store` is the one place that layout is decided.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from elasticjobs_emulator import open_files
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store

# Database files this process has opened and prepared (the journal mode, which the file keeps, and
# the security catalog): later opens skip both. Forgotten when the file is dropped.
_prepared: set[str] = set()
# Idle connections to prepared files, by file.
_idle: dict[str, list[sqlite3.Connection]] = {}
_idle_count = 0
_files_lock = threading.Lock()
#: File descriptors an idle connection holds: the file (its rollback journal is open only while
#: a statement writes).
FDS_PER_CONNECTION = 1
#: At most this many idle connections, about 27 KB of memory each once shrunk (:func:`give_back`):
#: enough for a step over 10,000 databases to find every connection on its next run, which
#: saves a third of its CPU (opening and closing a file is cheap alone, but each releases the GIL
#: to the agent's other workers).
MAX_IDLE_CONNECTIONS = 12288


#: Descriptors left free for the store, sockets and the batches running when the open-file limit is
#: large: two JA800 agents' batches all writing at once hold 3,200 (the file and its journal each).
FREE_FDS = 4096


def idle_limit(file_limit: int) -> int:
    """Idle connections to keep under a soft open-file limit of ``file_limit``: all but
    :data:`FREE_FDS` descriptors, or half of them when that leaves more free, at most
    :data:`MAX_IDLE_CONNECTIONS`."""
    spare = max(file_limit // 2, file_limit - FREE_FDS)
    return min(MAX_IDLE_CONNECTIONS, spare // FDS_PER_CONNECTION)


@functools.cache
def idle_connections() -> int:
    """Idle database connections kept for reuse, over every database of every server: decided
    from the open-file limit at the first hand-back (the emulator raises that limit when it starts,
    :mod:`elasticjobs_emulator.open_files`)."""
    soft = open_files.soft_limit()
    return MAX_IDLE_CONNECTIONS if soft is None else idle_limit(soft)


def is_prepared(path: Path) -> bool:
    """Whether database file ``path`` was prepared by this process and not dropped since."""
    return str(path) in _prepared


def mark_prepared(path: Path) -> None:
    """Record that database file ``path`` has its journal mode set and its security catalog in place."""
    with _files_lock:
        _prepared.add(str(path))


def take_idle(path: Path) -> sqlite3.Connection | None:
    """An idle connection to ``path`` handed back by :func:`give_back`, now the caller's; or None."""
    global _idle_count
    with _files_lock:
        conns = _idle.get(str(path))
        if not conns:
            return None
        conn = conns.pop()
        if not conns:
            del _idle[str(path)]
        _idle_count -= 1
        return conn


def give_back(path: Path, conn: sqlite3.Connection) -> None:
    """Keep ``conn`` (autocommit, nothing temporary in it) for the next :func:`take_idle` of ``path``.

    A kept connection first gives its page cache back (``PRAGMA shrink_memory``: about 100 KB
    down to about 27 KB; the next batch on it reads its few pages again). With
    :func:`idle_connections` idle already, or when ``path`` was dropped meanwhile, ``conn`` is
    closed. The connections kept are not traded for newer ones: a job step runs its databases in
    the same order every time, so over more databases than the limit, evicting the least recently
    used would close each connection just before its next use (no batch would find one), while
    keeping the first ones lets that many batches of every run find theirs.
    """
    global _idle_count
    name = str(path)
    with _files_lock:
        keep = name in _prepared and _idle_count < idle_connections()
        if keep:
            _idle_count += 1  # the place is taken before the connection is shrunk, outside the lock
    if keep:
        conn.execute("PRAGMA shrink_memory")
        with _files_lock:
            keep = name in _prepared
            if keep:
                _idle.setdefault(name, []).append(conn)
            else:
                _idle_count -= 1
    if not keep:
        conn.close()


def _forget(path: Path) -> None:
    """Forget that ``path`` was prepared and close its idle connections (the file is being dropped)."""
    global _idle_count
    with _files_lock:
        _prepared.discard(str(path))
        conns = _idle.pop(str(path), [])
        _idle_count -= len(conns)
    for conn in conns:
        conn.close()


def _server_name(server_id: str) -> str:
    return server_id.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ServerCatalog:
    """The catalog of one emulated ``Microsoft.Sql/servers`` resource.

    Example::

        catalog = ServerCatalog.from_store(store, hasher, state_dir, server_id)
        catalog.database_names()  # ['master', 'TargetDb1', 'TargetDb2']
    """

    server_id: str
    name: str
    store: Store
    hasher: PasswordHasher
    directory: Path
    #: (admin login, admin password digest) read once by :meth:`pinned`; None: read at each use.
    admin: tuple[str | None, str | None] | None = field(default=None, compare=False)

    @classmethod
    def from_store(
        cls, store: Store, hasher: PasswordHasher, state_dir: Path, server_id: str
    ) -> ServerCatalog:
        """Build the catalog of the server with ARM id ``server_id`` whose state is in ``state_dir``."""
        name = _server_name(server_id)
        return cls(server_id, name, store, hasher, state_dir / "databases" / name.lower())

    def pinned(self) -> ServerCatalog:
        """This catalog with the admin login and password digest read now and kept (one job step's
        fan-out logs in with them on every target; a later change applies to the next step)."""
        return replace(self, admin=(self._read_admin_login(), self.store.get_secret(self.server_id)))

    def database_names(self) -> list[str]:
        """Names of the server's databases (including ``master``), in creation order."""
        return [doc["name"] for doc in self.store.children(self.server_id, "databases")]

    def database_file(self, name: str) -> Path:
        """SQLite file of database ``name`` (its directory is created on demand)."""
        path = self.directory / f"{name.lower()}.sqlite"
        if not is_prepared(path):
            self.directory.mkdir(parents=True, exist_ok=True)
        return path

    def drop_database_file(self, name: str) -> None:
        """Delete the SQLite file of database ``name`` (and its journal, or the WAL side files an
        older emulator left) if it exists."""
        base = self.directory / f"{name.lower()}.sqlite"
        _forget(base)
        for suffix in ("", "-journal", "-wal", "-shm"):
            base.with_name(base.name + suffix).unlink(missing_ok=True)

    @property
    def admin_login(self) -> str | None:
        """The server admin login (``properties.administratorLogin``), or None without a server."""
        return self._read_admin_login() if self.admin is None else self.admin[0]

    def _read_admin_login(self) -> str | None:
        doc = self.store.get(self.server_id)
        return None if doc is None else doc.get("properties", {}).get("administratorLogin")

    def admin_password_digest(self) -> str | None:
        """Digest of the server admin password (kept in the store's secrets), or None."""
        return self.store.get_secret(self.server_id) if self.admin is None else self.admin[1]
