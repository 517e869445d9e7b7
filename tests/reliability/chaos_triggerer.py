"""A trigger run by Airflow's own ``TriggerRunner.run_trigger`` (the triggerer's coroutine), in-process.

``shutdown()`` cancels the trigger task with no message, as the triggerer does when it stops or a
trigger moves to another triggerer; ``user_kill()`` queues the trigger in ``to_cancel`` and runs
``cancel_triggers()``, the path the triggerer takes when the task instance left the deferred state
(mark failed / success, clear): Airflow 3.3 then awaits the trigger's ``on_kill()``; 3.0 to 3.2
only cancel the trigger's task, as for a move (the trigger's ``run()`` tells them apart).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from airflow.jobs.triggerer_job_runner import TriggerRunner

from tests.compat.airflow_versions import trigger_event_payload

_TRIGGER_ID = 1


class TriggerHarness:
    """One trigger running in a fresh ``TriggerRunner`` on the current event loop."""

    def __init__(self, trigger: Any) -> None:
        self.runner = TriggerRunner()
        # What ``create_triggers`` sets from the workload (a deferral without timeout); 3.0 to 3.2's
        # ``run_trigger`` reads it on cancellation.
        trigger.timeout_after = None
        self.task = asyncio.create_task(self.runner.run_trigger(_TRIGGER_ID, trigger))
        self.runner.triggers[_TRIGGER_ID] = {"task": self.task, "name": repr(trigger), "events": 0}

    @property
    def events(self) -> list[dict[str, Any]]:
        """Payloads of the events the trigger fired so far."""
        return [trigger_event_payload(entry) for entry in self.runner.events]

    async def until_event(self, timeout: float) -> list[dict[str, Any]]:
        """Wait until the trigger fired (and returned); its events."""
        await asyncio.wait_for(asyncio.shield(self.task), timeout)
        return self.events

    async def shutdown(self) -> None:
        """Cancel as the triggerer does on stop or redistribution (no ``on_kill``)."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def user_kill(self) -> float:
        """Cancel as for a task instance a user marked failed; seconds until the coroutine ended."""
        started = time.monotonic()
        self.runner.to_cancel.append(_TRIGGER_ID)
        await self.runner.cancel_triggers()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        return time.monotonic() - started
