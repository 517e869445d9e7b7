"""Job schedules: fire ``Once`` and ``Recurring`` jobs on time (a tick of at most one second).

A schedule (``properties.schedule`` of a job: ``enabled``, ``type``, ``interval`` as an ISO 8601
duration, ``startTime``, ``endTime``) has slots ``startTime + k * interval`` (only ``startTime``
for Once) up to ``endTime``. Each tick starts one execution for the latest slot that is due,
newer than the last one fired, and at most :data:`GRACE_SECONDS` old: slots missed while the
emulator was down are not caught up one by one. The last fired slot is kept in the store, so a
restart neither repeats nor loses a slot.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from elasticjobs_emulator.engine.clock import Clock, parse_iso
from elasticjobs_emulator.store import Store, resource_key

log = logging.getLogger(__name__)

GRACE_SECONDS = 60.0
TICK_SECONDS = 1.0
_META_PREFIX = "schedule-last-slot:"
_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_interval(text: str) -> relativedelta:
    """An ISO 8601 duration (``PT1H``, ``P1D``, ``P1W``, ``P1M`` …) as a calendar step."""
    match = _DURATION.match(text.strip().upper()) if text else None
    if not match or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as PT1H or P1D")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    step = relativedelta(
        years=int(parts.get("years", 0)),
        months=int(parts.get("months", 0)),
        weeks=int(parts.get("weeks", 0)),
        days=int(parts.get("days", 0)),
        hours=int(parts.get("hours", 0)),
        minutes=int(parts.get("minutes", 0)),
        seconds=parts.get("seconds", 0.0),
    )
    probe = datetime(2000, 1, 1, tzinfo=UTC)
    if probe + step <= probe:
        raise ValueError(f"'{text}' is not a positive duration")
    return step


def latest_due_slot(schedule: dict[str, Any], now: float) -> float | None:
    """Epoch seconds of the latest slot of ``schedule`` at or before ``now``, or None."""
    if not schedule.get("enabled") or not schedule.get("startTime"):
        return None
    start = parse_iso(schedule["startTime"])
    end = parse_iso(schedule["endTime"]) if schedule.get("endTime") else float("inf")
    limit = min(now, end)
    if start > limit:
        return None
    if schedule.get("type", "Once") != "Recurring":
        return start
    step = parse_interval(str(schedule.get("interval", "")))
    first = datetime.fromtimestamp(start, UTC)
    if not (step.years or step.months):
        seconds = ((first + step) - first).total_seconds()
        return start + int((limit - start) // seconds) * seconds
    slot, k = first, 0
    while (first + step * (k + 1)).timestamp() <= limit:
        k += 1
        slot = first + step * k
    return slot.timestamp()


class Scheduler:
    """Thread that starts executions of scheduled jobs through ``start_job(job_id)``."""

    def __init__(
        self, store: Store, clock: Clock, start_job: Callable[[str], object], tick: float = TICK_SECONDS
    ):
        self._store = store
        self._clock = clock
        self._start_job = start_job
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start ticking."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="elasticjobs-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._clock.wait(self._stop, self._tick):
            try:
                self.tick()
            except Exception:
                log.exception("Schedule tick failed")

    def tick(self) -> list[str]:
        """Fire every job whose schedule has a new due slot; return the fired job ids."""
        now = self._clock.now()
        fired = []
        for job in self._store.resources_of_type("jobs"):
            schedule = job.get("properties", {}).get("schedule") or {}
            try:
                slot = latest_due_slot(schedule, now)
            except ValueError as exc:
                log.warning("Job %s has an unusable schedule: %s", job.get("id"), exc)
                continue
            if slot is None or now - slot > GRACE_SECONDS:
                continue
            meta_key = _META_PREFIX + resource_key(job["id"])
            last = self._store.get_meta(meta_key)
            if last is not None and float(last) >= slot:
                continue
            self._start_job(job["id"])
            self._store.set_meta(meta_key, repr(slot))
            fired.append(job["id"])
        return fired
