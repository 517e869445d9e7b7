"""Schedules: ISO 8601 intervals, due slots, and firing once per slot with a fake clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from elasticjobs_emulator.engine.clock import Clock, to_iso
from elasticjobs_emulator.engine.scheduler import Scheduler, latest_due_slot, parse_interval
from tests.unit.engine.fakes import JOB, define_job

T0 = datetime(2025, 1, 31, 10, 0, tzinfo=UTC).timestamp()


class FakeClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, now: float) -> None:
        self.current = now

    def now(self) -> float:
        return self.current

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        return event.is_set()


def schedule(**fields):
    base = {"enabled": True, "type": "Recurring", "interval": "PT1H", "startTime": to_iso(T0)}
    base.update(fields)
    return base


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "PT0S", "PTXH"])
def test_bad_intervals_are_rejected(text):
    with pytest.raises(ValueError, match="duration"):
        parse_interval(text)


def test_fixed_interval_slots():
    assert latest_due_slot(schedule(), T0 - 1) is None
    assert latest_due_slot(schedule(), T0) == T0
    assert latest_due_slot(schedule(), T0 + 3 * 3600 + 5) == T0 + 3 * 3600
    assert latest_due_slot(schedule(interval="PT15M"), T0 + 1000) == T0 + 900


def test_month_interval_uses_the_calendar():
    slot = latest_due_slot(schedule(interval="P1M"), datetime(2025, 3, 5, tzinfo=UTC).timestamp())
    assert datetime.fromtimestamp(slot, UTC) == datetime(2025, 2, 28, 10, 0, tzinfo=UTC)


def test_end_time_disabled_and_once():
    assert latest_due_slot(schedule(endTime=to_iso(T0 + 10)), T0 + 7200) == T0
    assert latest_due_slot(schedule(enabled=False), T0 + 7200) is None
    assert latest_due_slot(schedule(type="Once"), T0 + 7200) == T0


def test_scheduler_fires_each_slot_once_and_skips_stale_slots(store):
    define_job(store, [], [])
    job = store.get(JOB)
    job["properties"]["schedule"] = schedule(interval="PT1H")
    store.put(JOB, job)
    clock = FakeClock(T0 + 1)
    fired: list[str] = []
    scheduler = Scheduler(store, clock, fired.append)
    assert scheduler.tick() == [JOB]
    clock.current = T0 + 1800
    assert scheduler.tick() == []
    clock.current = T0 + 3600 + 120  # the 11:00 slot is 2 minutes old: missed, not caught up
    assert scheduler.tick() == []
    clock.current = T0 + 7200 + 5
    assert scheduler.tick() == [JOB]
    assert Scheduler(store, clock, fired.append).tick() == []  # a restart does not repeat the slot
    assert fired == [JOB, JOB]
