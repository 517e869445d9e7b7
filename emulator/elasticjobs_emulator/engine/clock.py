"""Time source of the engine, injectable so tests can fake time, and ARM timestamp formatting."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time and interruptible waiting (the engine's only notion of time)."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Wait until ``event`` is set or ``timeout`` seconds passed; True when it was set."""
        return event.wait(timeout)


def to_iso(timestamp: float) -> str:
    """ARM timestamp (``2025-01-01T00:00:00.123Z``) of epoch seconds; sorts like the time."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp (``Z`` or an offset; naive means UTC)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
