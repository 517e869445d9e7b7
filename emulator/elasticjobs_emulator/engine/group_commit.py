"""Group commit: many threads' writes committed together, each caller returning once its write is.

A job fan-out saves two lifecycle changes per target from up to ``capacity`` threads at once.
One transaction per save made those threads queue on the store's write lock, each paying a
commit. Here a caller adds its item to the open batch; if no batch is being written it takes the
open batch and writes it in one transaction (the leader), otherwise it waits. When a write ends
the next waiting caller leads the batch that filled up meanwhile. Every caller still returns only
after its item is committed (or raises the batch's error), so the store never lags what a caller
has been told, and batches commit in the order they were opened: a later change never reaches the
store before an earlier one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Batch(Generic[T]):
    def __init__(self, lock: threading.Lock) -> None:
        self.items: list[T] = []
        self.done = False
        self.error: BaseException | None = None
        self.changed = threading.Condition(lock)  # only this batch's callers wait on it


class GroupCommit(Generic[T]):
    """Writes items in batches through ``write(items)`` (one transaction per call)."""

    def __init__(self, write: Callable[[list[T]], None]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._open: _Batch[T] = _Batch(self._lock)
        self._writing = False

    def commit(self, item: T) -> None:
        """Add ``item`` to the open batch and return once that batch is committed.

        Raises the exception ``write`` raised for the batch.
        """
        with self._lock:
            batch = self._open
            batch.items.append(item)
            while not batch.done:
                if not self._writing:  # nobody writes: this batch (ours, still open) is next
                    self._writing = True
                    self._open = _Batch(self._lock)
                    break
                batch.changed.wait()
            else:
                if batch.error is not None:
                    raise batch.error
                return
        try:
            self._write(batch.items)
        except BaseException as exc:
            batch.error = exc
        with self._lock:
            batch.done = True
            self._writing = False
            batch.changed.notify_all()
            self._open.changed.notify()  # one caller of the batch that filled meanwhile leads it
        if batch.error is not None:
            raise batch.error
