"""In-memory state of the executions the engine runs, and the guard every piece of engine work runs in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.sql_access import SqlAccess

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    """One running attempt: its cancel event and why it was interrupted."""

    event: threading.Event = field(default_factory=threading.Event)
    timed_out: bool = False


@dataclass
class Run:
    """In-memory state of one active root execution."""

    root: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    canceled: threading.Event = field(default_factory=threading.Event)
    step_index: int = 0
    step: dict[str, Any] | None = None
    remaining: int = 0
    results: list[str] = field(default_factory=list)
    step_results: list[str] = field(default_factory=list)
    attempts: dict[str, Attempt] = field(default_factory=dict)
    retries: dict[str, Callable[[], None]] = field(default_factory=dict)
    #: The current step's accessor for first attempts (:meth:`SqlAccess.for_step`).
    step_sql: SqlAccess | None = None

    @property
    def job_id(self) -> str:
        """ARM id of the job."""
        return str(self.root[rec.PRIVATE]["job_id"])

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Step documents of the job version this execution runs."""
        return list(self.root[rec.PRIVATE]["steps"])


class Guard:
    """Runs a piece of engine work on a pool thread: not once the engine stops, failures logged."""

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, func: Callable[..., None], *args: Any) -> None:
        """Run ``func(*args)`` unless stopping; log (do not raise) its exception."""
        if self.stopping:
            return
        try:
            func(*args)
        except Exception:
            log.exception("Execution engine step failed")
