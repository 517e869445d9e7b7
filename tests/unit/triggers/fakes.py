"""A fake execution source for poller and trigger unit tests (no network)."""

from __future__ import annotations

from collections import Counter
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any


def execution(name: str, lifecycle: str, message: str | None = None, attempts: int = 0) -> SimpleNamespace:
    """Something shaped like an ``azure.mgmt.sql.models.JobExecution`` root execution."""
    return SimpleNamespace(
        name=name,
        lifecycle=lifecycle,
        last_message=message,
        current_attempts=attempts,
        start_time=None,
        current_attempt_start_time=None,
        end_time=None,
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


class FakeSource:
    """Executions by id; counts every call; can be told to fail the next calls."""

    def __init__(self) -> None:
        self.executions: dict[str, SimpleNamespace] = {}
        self.targets: dict[str, list[SimpleNamespace]] = {}
        self.calls: Counter[str] = Counter()
        self.failures: list[BaseException] = []
        self.opened = 0

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def _active(self):
        for e in list(self.executions.values()):
            if e.lifecycle in ("Created", "InProgress", "WaitingForRetry", "WaitingForChildJobExecutions"):
                yield e

    def list_executions(self, job_name: str | None = None, *, is_active: bool | None = None) -> Any:
        self.calls["list"] += 1
        self._maybe_fail()
        assert job_name is None and is_active is True
        return self._active()

    async def get_execution(self, job_name: str, execution_id: str) -> SimpleNamespace | None:
        self.calls["get"] += 1
        self._maybe_fail()
        return self.executions.get(execution_id)

    async def list_target_executions(self, job_name: str, execution_id: str) -> list[SimpleNamespace]:
        self.calls["targets"] += 1
        self._maybe_fail()
        return self.targets.get(execution_id, [])

    @asynccontextmanager
    async def open(self):
        self.opened += 1
        yield self
