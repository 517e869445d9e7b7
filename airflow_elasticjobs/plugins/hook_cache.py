"""Hooks the api-server keeps between requests, so a tab refreshing every 5 s costs no new token.

A hook owns its credential (and so the credential's cached access token) and the SDK client's
HTTP connection pool. :class:`HookCache` keeps one per (connection id, resource group, server,
agent), least recently used first out, and:

- re-reads the connection at most every ``recheck_seconds`` and builds a new hook when the parsed
  connection differs (a rotated secret, another endpoint);
- drops a hook whose call failed authentication (:meth:`HookCache.discard`), so the next call reads
  the connection again and asks for a new token;
- closes a hook it drops only once no request uses it any more (requests run in parallel threads).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

HookKey = tuple[str, str | None, str | None, str | None]

#: Hooks kept at most (each holds a credential and an HTTP pool).
MAX_HOOKS = 32
#: Seconds a hook is used before its connection is read again to see whether it changed.
RECHECK_SECONDS = 30.0


@dataclass
class _Entry:
    hook: Any
    settings: Any
    checked_at: float
    users: int = 0
    retired: bool = field(default=False)


def _build_hook(key: HookKey) -> Any:
    from airflow_elasticjobs.hooks.connection_args import ConnectionArgs
    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook

    return ElasticJobsHook.for_args(ConnectionArgs(*key))


def _read_settings(hook: Any) -> Any:
    """The hook's connection, read again from Airflow (metadata DB, environment or secrets backend)."""
    from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings, get_connection

    conn = get_connection("elastic_jobs_conn_id", hook.elastic_jobs_conn_id)
    return ElasticJobsConnectionSettings.from_connection(conn)


class HookCache:
    """A bounded, thread-safe LRU of Elastic Jobs hooks; see the module docstring for the policy.

    :param max_hooks: hooks kept at most.
    :param recheck_seconds: how long a hook is used before its connection is compared again.
    :param build: makes the hook of a key (the real ``ElasticJobsHook`` by default).
    :param read_settings: reads a hook's connection again (parsed settings, compared with ``==``).
    :param clock: monotonic seconds.
    """

    def __init__(
        self,
        max_hooks: int = MAX_HOOKS,
        recheck_seconds: float = RECHECK_SECONDS,
        *,
        build: Callable[[HookKey], Any] = _build_hook,
        read_settings: Callable[[Any], Any] = _read_settings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_hooks < 1:
            raise ValueError(f"max_hooks={max_hooks!r} is invalid: keep at least 1 hook")
        self._max = max_hooks
        self._recheck = recheck_seconds
        self._build = build
        self._read_settings = read_settings
        self._clock = clock
        self._entries: OrderedDict[HookKey, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @contextmanager
    def hook(self, key: HookKey) -> Iterator[Any]:
        """Lend the hook of ``key`` for one request (built, or rebuilt when its connection changed)."""
        entry = self._checkout(key)
        try:
            yield entry.hook
        finally:
            self._release(entry)

    def discard(self, key: HookKey) -> None:
        """Forget the hook of ``key`` (e.g. after an authentication failure); the next call rebuilds it."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._retire(entry)

    def _checkout(self, key: HookKey) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            now = self._clock()
            if entry is not None and now - entry.checked_at >= self._recheck:
                if self._read_settings(entry.hook) == entry.settings:
                    entry.checked_at = now
                else:
                    del self._entries[key]
                    self._retire(entry)
                    entry = None
            if entry is None:
                hook = self._build(key)
                entry = _Entry(hook, hook.settings, now)
                self._entries[key] = entry
                while len(self._entries) > self._max:
                    _, oldest = self._entries.popitem(last=False)
                    self._retire(oldest)
            self._entries.move_to_end(key)
            entry.users += 1
            return entry

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.users -= 1
            if entry.retired and entry.users == 0:
                entry.hook.close()

    @staticmethod
    def _retire(entry: _Entry) -> None:
        """Mark a dropped entry; close it now unless a request still uses it (then on release)."""
        entry.retired = True
        if entry.users == 0:
            entry.hook.close()
