"""Execution snapshots the api-server keeps between requests, so paging costs no ARM request.

A snapshot (:class:`~airflow_elasticjobs.plugins.execution_view.ExecutionSnapshot`) is one read of
an execution: its root, steps and every target (1 + 1 + ⌈targets / ARM page⌉ ARM requests). Every
page, filter and fleet picture of that execution is then cut from memory. :class:`SnapshotCache`
keeps one per execution, least recently used first out, and reads it again only when it is older
than ``refresh_seconds`` *and* the execution was still active: a terminal execution never changes.
Concurrent requests for the same stale execution share one read (the others wait for it).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from airflow_elasticjobs.plugins.execution_view import ExecutionSnapshot

#: Snapshots kept at most (a 10,000-target snapshot holds about 10 MB of rows).
MAX_SNAPSHOTS = 16
#: Seconds an active execution's snapshot is served before ARM is read again.
REFRESH_SECONDS = 3.0


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshot: ExecutionSnapshot | None = None
    read_at: float = 0.0


class SnapshotCache:
    """A bounded, thread-safe LRU of execution snapshots; see the module docstring for the policy.

    :param max_snapshots: snapshots kept at most.
    :param refresh_seconds: how long an active execution's snapshot is served before it is read again.
    :param clock: monotonic seconds.
    """

    def __init__(
        self,
        max_snapshots: int = MAX_SNAPSHOTS,
        refresh_seconds: float = REFRESH_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_snapshots < 1:
            raise ValueError(f"max_snapshots={max_snapshots!r} is invalid: keep at least 1 snapshot")
        self._max = max_snapshots
        self._refresh = refresh_seconds
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, read: Callable[[], ExecutionSnapshot]) -> ExecutionSnapshot:
        """The snapshot of ``key``, from memory when still valid, else from ``read()`` (then kept).

        An exception of ``read`` propagates and leaves no entry behind.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
        with entry.lock:
            if entry.snapshot is not None and not self._stale(entry):
                return entry.snapshot
            try:
                entry.snapshot, entry.read_at = read(), self._clock()
            except BaseException:
                with self._lock:
                    if entry.snapshot is None and self._entries.get(key) is entry:
                        del self._entries[key]
                raise
            return entry.snapshot

    def _stale(self, entry: _Entry) -> bool:
        assert entry.snapshot is not None
        return entry.snapshot.active and self._clock() - entry.read_at >= self._refresh
