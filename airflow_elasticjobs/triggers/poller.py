"""One shared poller per job agent in a triggerer process (coalesced polling).

However many deferred tasks wait on executions of the same agent, the triggerer makes **one**
``GET …/jobAgents/{agent}/executions?isActive=true`` (all pages) per interval for all of them, and
asks for more only when something changed:

- an execution that is no longer in the active list has just ended (or never existed): one ``GET``
  of that execution, once;
- an execution whose state changed (lifecycle, last message, attempts, start times), or whose
  progress is due for a refresh (``progress_interval``): one list of its target executions.

So the cost per interval is O(agents), not O(waiting tasks); a transient fault (429, 5xx, dropped
connection) backs off once for every waiter of the agent, honouring ``Retry-After``.

Pollers live in a registry per event loop (the triggerer runs one loop; ``dag.test()`` runs each
trigger in a fresh one) keyed by :class:`AgentKey`, and stop and unregister themselves when the last
watch leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_elasticjobs.execution_state import TargetResult, is_terminal
from airflow_elasticjobs.hooks.errors import describe_error
from airflow_elasticjobs.triggers.transient import Backoff, FaultBudget, is_transient


@dataclass(frozen=True)
class AgentKey:
    """Identity of one job agent as seen through one connection (the unit of sharing)."""

    conn_id: str
    endpoint: str
    subscription_id: str
    resource_group_name: str
    server_name: str
    agent_name: str


class ExecutionSource(Protocol):
    """What the poller needs from an open async hook (:class:`ElasticJobsAsyncHook` provides it)."""

    def list_executions(
        self, job_name: str | None = None, *, is_active: bool | None = None
    ) -> AsyncIterator[Any]:
        """Root executions of the agent."""

    async def get_execution(self, job_name: str, job_execution_id: str) -> Any | None:
        """One root execution, or ``None``."""

    async def list_target_executions(self, job_name: str, job_execution_id: str) -> list[Any]:
        """Target executions of a root execution."""


@dataclass(frozen=True)
class Observation:
    """What the poller saw of one watched execution.

    Exactly one of ``lifecycle`` (a state update), ``error`` (the watch is over) and ``transient``
    (a poll failed; still retrying) is set.
    """

    lifecycle: str | None = None
    last_message: str | None = None
    targets: tuple[TargetResult, ...] | None = None
    error: str | None = None
    transient: str | None = None


@dataclass(eq=False)
class Watch:
    """One waiter's subscription to one execution; read updates with :meth:`next`."""

    job_name: str
    execution_id: str
    poll_interval: float
    progress_interval: float
    budget: FaultBudget
    queue: asyncio.Queue[Observation] = field(default_factory=asyncio.Queue)
    signature: tuple[Any, ...] | None = None
    next_details_at: float = 0.0

    def deliver(self, observation: Observation) -> None:
        """Queue an observation for the waiter."""
        self.queue.put_nowait(observation)

    async def next(self) -> Observation:
        """Wait for the next observation."""
        return await self.queue.get()


def _signature(execution: Any) -> tuple[Any, ...]:
    """What, when it changes, means an execution's state changed."""
    return (
        str(getattr(execution.lifecycle, "value", execution.lifecycle)),
        execution.last_message,
        execution.current_attempts,
        execution.start_time,
        execution.current_attempt_start_time,
        execution.end_time,
    )


class AgentPoller:
    """Polls one agent's active executions for every :class:`Watch` registered with it.

    :param key: the agent.
    :param open_hook: returns an async context manager yielding an :class:`ExecutionSource`
        (e.g. ``lambda: ElasticJobsAsyncHook(conn_id, …)``); reopened after a failed poll.
    :param on_idle: called when the last watch left and polling stopped.
    :param backoff: the shared backoff after failed polls.
    :param clock: monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        key: AgentKey,
        open_hook: Callable[[], AbstractAsyncContextManager[ExecutionSource]],
        *,
        on_idle: Callable[[], None] = lambda: None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self._open_hook = open_hook
        self._on_idle = on_idle
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._watches: list[Watch] = []
        self._task: asyncio.Task[None] | None = None
        self.polls = 0

    @contextlib.contextmanager
    def watching(
        self,
        job_name: str,
        execution_id: str,
        *,
        poll_interval: float,
        progress_interval: float,
        error_budget: float,
    ) -> Iterator[Watch]:
        """Register a watch for the ``with`` block; starts polling if this is the first watch."""
        watch = Watch(
            job_name,
            execution_id,
            poll_interval=poll_interval,
            progress_interval=progress_interval,
            budget=FaultBudget(error_budget, self._clock),
        )
        self._watches.append(watch)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"elasticjobs-poller-{self.key}"
            )
        try:
            yield watch
        finally:
            self._watches.remove(watch)

    @property
    def watch_count(self) -> int:
        """How many watches are registered."""
        return len(self._watches)

    async def poll_once(self, source: ExecutionSource) -> None:
        """One polling round for every watch: the active list, then only what changed."""
        self.polls += 1
        active = {}
        async for execution in source.list_executions(is_active=True):
            active[(execution.name or "").lower()] = execution
        for watch in list(self._watches):
            execution = active.get(watch.execution_id.lower())
            if execution is None:
                execution = await source.get_execution(watch.job_name, watch.execution_id)
            if execution is None:
                watch.deliver(
                    Observation(
                        error=f"Execution {watch.execution_id} of job {watch.job_name!r} does not exist on "
                        f"agent {self.key.agent_name!r}; check job_name and execution_id."
                    )
                )
                continue
            await self._observe(source, watch, execution)

    async def _observe(self, source: ExecutionSource, watch: Watch, execution: Any) -> None:
        signature = _signature(execution)
        now = self._clock()
        changed = signature != watch.signature
        targets = None
        if not is_terminal(signature[0]) and (changed or now >= watch.next_details_at):
            found = await source.list_target_executions(watch.job_name, watch.execution_id)
            targets = tuple(TargetResult.from_model(t) for t in found)
            watch.next_details_at = now + watch.progress_interval
        if changed or targets is not None:
            watch.signature = signature
            watch.deliver(
                Observation(lifecycle=signature[0], last_message=execution.last_message, targets=targets)
            )

    async def _run(self) -> None:
        try:
            while self._watches:
                try:
                    async with self._open_hook() as source:
                        while self._watches:
                            await self.poll_once(source)
                            self._backoff.reset()
                            for watch in self._watches:
                                watch.budget.record_success()
                            await asyncio.sleep(min((w.poll_interval for w in self._watches), default=0.0))
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    self._report(err)
                    await asyncio.sleep(self._backoff.next_delay(err))
        finally:
            self._on_idle()

    def _report(self, err: Exception) -> None:
        description = describe_error(err)
        transient = is_transient(err)
        for watch in list(self._watches):
            if not transient:
                watch.deliver(Observation(error=description))
                continue
            watch.budget.record_failure()
            if watch.budget.exhausted():
                watch.deliver(
                    Observation(
                        error=f"No successful poll of agent {self.key.agent_name!r} for "
                        f"{watch.budget.failing_for():.0f} s (budget {watch.budget.seconds:.0f} s); "
                        f"last error: {description}"
                    )
                )
            else:
                watch.deliver(Observation(transient=description))


_REGISTRY: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[AgentKey, AgentPoller]] = (
    weakref.WeakKeyDictionary()
)


def shared_poller(
    key: AgentKey, open_hook: Callable[[], AbstractAsyncContextManager[ExecutionSource]]
) -> AgentPoller:
    """The poller of ``key`` in the running event loop, created on first use."""
    pollers = _REGISTRY.setdefault(asyncio.get_running_loop(), {})
    poller = pollers.get(key)
    if poller is None:

        def forget() -> None:
            if pollers.get(key) is poller:
                del pollers[key]

        poller = pollers[key] = AgentPoller(key, open_hook, on_idle=forget)
    return poller
