"""The timer thread: callbacks run once, in due order, and cancelled ones never run."""

from __future__ import annotations

import threading

from elasticjobs_emulator.engine.clock import Clock
from elasticjobs_emulator.engine.timers import Timers


def test_callbacks_run_in_due_order_and_cancelled_ones_never():
    timers = Timers(Clock())
    timers.start()
    ran: list[str] = []
    done = threading.Event()
    try:
        timers.call_later(0.06, lambda: (ran.append("late"), done.set()))
        timers.call_later(0.02, lambda: ran.append("early"))
        timers.call_later(0.04, lambda: ran.append("cancelled")).cancel()
        timers.call_later(-1, lambda: ran.append("now"))
        assert done.wait(5)
    finally:
        timers.stop()
    assert ran == ["now", "early", "late"]
