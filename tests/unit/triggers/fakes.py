"""A fake execution source for poller and trigger unit tests (no network)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import datetime
from types import SimpleNamespace
from typing import Any

ACTIVE = ("Created", "InProgress", "WaitingForRetry", "WaitingForChildJobExecutions")


def execution(
    name: str, lifecycle: str, message: str | None = None, attempts: int = 0, end_time: Any = None
) -> SimpleNamespace:
    """Something shaped like an ``azure.mgmt.sql.models.JobExecution`` root execution."""
    return SimpleNamespace(
        name=name,
        lifecycle=lifecycle,
        last_message=message,
        current_attempts=attempts,
        start_time=None,
        current_attempt_start_time=None,
        end_time=end_time,
        create_time=None,
    )


def target(db: str, lifecycle: str) -> SimpleNamespace:
    """Something shaped like a target execution."""
    return SimpleNamespace(
        step_id=1,
        step_name="Step1",
        target=SimpleNamespace(server_name="srv", database_name=db),
        lifecycle=lifecycle,
        last_message=None,
        current_attempts=1,
    )


def matches(e: SimpleNamespace, end_time_min: Any, end_time_max: Any) -> bool:
    """Whether a list with these end-time filters (none: the active list) shows ``e``."""
    if end_time_min is None:
        return e.lifecycle in ACTIVE
    return (
        e.end_time is not None
        and e.end_time >= end_time_min
        and (end_time_max is None or e.end_time <= end_time_max)
    )


class FakeSource:
    """Executions by id; counts every request (a list's pages each); can be told to fail the next calls
    (``failures``) or every request about one execution (``broken``: its GET and its target list)."""

    def __init__(self, page_size: int = 100) -> None:
        self.page_size = page_size
        self.executions: dict[str, SimpleNamespace] = {}
        self.targets: dict[str, list[SimpleNamespace]] = {}
        self.calls: Counter[str] = Counter()
        self.failures: list[BaseException] = []
        self.broken: dict[str, BaseException] = {}
        self.opened = 0
        #: ARM's clock: when set, every list page carries its ``Date`` (:attr:`server_date`).
        self.arm_clock: Callable[[], datetime] | None = None
        self.server_date: datetime | None = None

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def execution_pages(self, *, is_active: bool | None = None, end_time_min=None, end_time_max=None):
        """The agent's root executions a page at a time, counting each page (``list`` or ``list_ended``).

        Paged like ARM's list: each page is the next slice of the executions matching the filters
        when that page is asked for (:meth:`before_page` may change them between pages)."""
        self._maybe_fail()
        kind = "list" if end_time_min is None else "list_ended"
        assert (is_active is True) == (kind == "list")
        start = 0
        while True:
            self.before_page(kind, start // self.page_size)
            chosen = [e for e in self.executions.values() if matches(e, end_time_min, end_time_max)]
            self.calls[kind] += 1
            if self.arm_clock is not None:
                self.server_date = self.arm_clock().replace(microsecond=0)
            yield chosen[start : start + self.page_size]
            start += self.page_size
            if start >= len(chosen):
                return

    def before_page(self, kind: str, page: int) -> None:
        """Called before each page of a list (``kind`` as counted) is read, ``page`` from 0; nothing here."""

    async def get_execution(self, job_name: str, execution_id: str) -> SimpleNamespace | None:
        self.calls["get"] += 1
        self._maybe_fail()
        if execution_id in self.broken:
            raise self.broken[execution_id]
        return self.executions.get(execution_id)

    async def list_target_executions(self, job_name: str, execution_id: str) -> list[SimpleNamespace]:
        self.calls["targets"] += 1
        self._maybe_fail()
        if execution_id in self.broken:
            raise self.broken[execution_id]
        return self.targets.get(execution_id, [])

    @asynccontextmanager
    async def open(self):
        self.opened += 1
        yield self


class Ticks:
    """The poller's ``sleep`` under a test's control: no time passes, and :meth:`rounds` lets the real
    polling loop run whole rounds, one at a time, each with the reads it starts beside it."""

    def __init__(self) -> None:
        self._sleeping: list[asyncio.Future[None]] = []

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleeping.append(future)
        await future

    async def rounds(self, count: int = 1) -> None:
        """Wake the poller's loops ``count`` times, each time until every one of them waits again
        (the first call after the first watch registered runs the first round)."""
        for _ in range(count):
            sleeping, self._sleeping = self._sleeping, []
            for future in sleeping:
                if not future.done():
                    future.set_result(None)
            await settle()


async def settle() -> None:
    """Run the event loop until nothing is ready to run (the fake source answers without waiting)."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    while loop._ready:  # type: ignore[attr-defined]  # callbacks scheduled by the other tasks
        await asyncio.sleep(0)
