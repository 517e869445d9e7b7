"""One thread running callbacks at a later time (retry backoff, attempt timeouts)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from elasticjobs_emulator.engine.clock import Clock

log = logging.getLogger(__name__)


class TimerHandle:
    """A scheduled callback; :meth:`cancel` drops it (and what it references) before it runs."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        """Do not run the callback."""
        self._callback = None

    def fire(self) -> None:
        """Run the callback unless cancelled."""
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


class Timers:
    """Runs ``callback()`` once ``delay`` seconds have passed on the engine clock.

    Callbacks must be quick (they hand work to a pool); one thread serves every timer, so
    thousands of pending retries cost one heap entry each, not one thread each.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the timer thread."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="elasticjobs-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the timer thread; pending callbacks are dropped."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Schedule ``callback`` to run after ``delay`` seconds (0 or less: as soon as possible)."""
        handle = TimerHandle(callback)
        with self._lock:
            heapq.heappush(self._heap, (self._clock.now() + max(delay, 0.0), next(self._counter), handle))
            earliest = self._heap[0][2] is handle
        if earliest:  # the timer thread already wakes for an earlier deadline than this one
            self._wake.set()
        return handle

    def _next_due(self) -> tuple[list[TimerHandle], float | None]:
        now = self._clock.now()
        due: list[TimerHandle] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
            wait = self._heap[0][0] - now if self._heap else None
        return due, wait

    def _run(self) -> None:
        while not self._stopping:
            due, wait = self._next_due()
            for handle in due:
                try:
                    handle.fire()
                except Exception:
                    log.exception("Engine timer callback failed")
            if not due:
                self._clock.wait(self._wake, wait)
                self._wake.clear()
