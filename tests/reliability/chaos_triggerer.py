"""A trigger run by Airflow's own ``TriggerRunner.run_trigger`` (the triggerer's coroutine), in-process.

``shutdown()`` cancels the trigger task with no message, as the triggerer does when it stops or a
trigger moves to another triggerer; ``user_kill()`` queues the trigger in ``to_cancel`` and runs
``cancel_triggers()``, the path Airflow 3.3 takes when the task instance left the deferred state
(mark failed / success, clear), which awaits the trigger's ``on_kill()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from airflow.jobs.triggerer_job_runner import TriggerRunner

_TRIGGER_ID = 1


class TriggerHarness:
    """One trigger running in a fresh ``TriggerRunner`` on the current event loop."""

    def __init__(self, trigger: Any) -> None:
        self.runner = TriggerRunner()
        self.task = asyncio.create_task(self.runner.run_trigger(_TRIGGER_ID, trigger))
        self.runner.triggers[_TRIGGER_ID] = {"task": self.task, "name": repr(trigger), "events": 0}

    @property
    def events(self) -> list[dict[str, Any]]:
        """Payloads of the events the trigger fired so far."""
        return [entry.event.payload for entry in self.runner.events]

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
