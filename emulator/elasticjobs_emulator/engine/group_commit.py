"""Group commit: many threads' writes committed together, each in one transaction per batch.

A job fan-out saves two lifecycle changes per target from up to ``capacity`` threads at once.
One transaction per save made those threads queue on the store's write lock, each paying a
commit. Here a caller adds its item to the open batch; if no batch is being written it takes the
open batch and writes it in one transaction (the leader), otherwise it waits. When a write ends
the next waiting caller leads the batch that filled up meanwhile; a batch nobody waits for (only
:meth:`GroupCommit.submit` items) is written by the thread that wrote the one before it.

:meth:`GroupCommit.commit` returns only after its item is committed (or raises the batch's error),
so the store never lags what a caller has been told. :meth:`GroupCommit.submit` returns at once and
runs its ``then`` after the item is committed, on the thread that wrote it: what must follow the
write (the engine's bookkeeping of a finished target) still does, without the caller waiting.
Batches commit in the order they were opened: a later change never reaches the store before an
earlier one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Batch(Generic[T]):
    def __init__(self, lock: threading.Lock) -> None:
        self.items: list[T] = []
        self.then: list[Callable[[], None]] = []
        self.waiters = 0  # callers of commit() waiting for this batch
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
            batch.waiters += 1
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
        self._lead(batch)
        if batch.error is not None:
            raise batch.error

    def submit(self, item: T, then: Callable[[], None]) -> None:
        """Add ``item`` to the open batch; ``then()`` runs once it is committed.

        Returns at once while another thread writes (that thread writes this batch too, unless a
        caller of :meth:`commit` waits for it); otherwise writes the batch itself first. When the
        write fails, ``then`` does not run and the error is logged, as is an exception of ``then``.
        """
        with self._lock:
            batch = self._open
            batch.items.append(item)
            batch.then.append(then)
            if self._writing:
                return
            self._writing = True
            self._open = _Batch(self._lock)
        self._lead(batch)

    def _lead(self, batch: _Batch[T]) -> None:
        """Write ``batch`` (taken by this thread), then every following batch nobody waits for."""
        while True:
            try:
                self._write(batch.items)
            except BaseException as exc:
                batch.error = exc
            with self._lock:
                batch.done = True
                batch.changed.notify_all()
                following = self._open
                drain = bool(following.items) and following.waiters == 0
                if drain:
                    self._open = _Batch(self._lock)
                else:
                    self._writing = False
                    following.changed.notify()  # one caller of the batch that filled meanwhile leads it
            self._run_then(batch)
            if not drain:
                return
            batch = following

    @staticmethod
    def _run_then(batch: _Batch[T]) -> None:
        if batch.error is not None:
            if batch.then:
                log.error(
                    "Execution saves failed; %d follow-ups dropped", len(batch.then), exc_info=batch.error
                )
            return
        for then in batch.then:
            try:
                then()
            except Exception:
                log.exception("A follow-up of a committed execution save failed")
