"""What one waiter holds while it waits in the shared poller: its :class:`Watch` and the
:class:`Observation` values the poller delivers to it (through a small :class:`Mailbox`).

Slotted and small: 10,000 of them wait in one triggerer (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from airflow_elasticjobs.execution_state import TargetResult
from airflow_elasticjobs.hooks.errors import describe_error
from airflow_elasticjobs.waiting import FaultBudget, GaveUp


class Observation(NamedTuple):
    """What the poller saw of one watched execution (immutable: a ``NamedTuple``).

    Exactly one of ``lifecycle`` (a state update), ``error`` (the watch is over) and ``transient``
    (a poll failed; still retrying) is set.
    """

    lifecycle: str | None = None
    last_message: str | None = None
    targets: tuple[TargetResult, ...] | None = None
    error: str | None = None
    transient: str | None = None


class Mailbox:
    """The observations not yet read by one waiter: ``asyncio.Queue``'s few methods the poller and
    its tests use, at a fraction of its size (two slots instead of three deques and an event)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Observation] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, observation: Observation) -> None:
        """Add an observation; wakes the waiter."""
        self._items.append(observation)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        """Whether nothing is waiting to be read."""
        return not self._items

    def qsize(self) -> int:
        """How many observations are waiting to be read."""
        return len(self._items)

    def get_nowait(self) -> Observation:
        """The oldest observation; ``asyncio.QueueEmpty`` when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Observation:
        """Wait for the oldest observation."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


@dataclass(eq=False, slots=True)
class Watch:
    """One waiter's subscription to one execution; read updates with :meth:`next`.

    Slotted and holding only its own state (10,000 of them wait in one triggerer): the execution
    states the lists return are not kept, only the
    :func:`~airflow_elasticjobs.execution_state.state_signature` of the last one.
    """

    job_name: str
    execution_id: str
    poll_interval: float
    #: Seconds between timed progress refreshes while nothing changes; ``None``: on changes only.
    progress_interval: float | None
    budget: FaultBudget
    #: Whether running state changes are wanted within one interval (the active list every round).
    follow_running: bool = False
    queue: Mailbox = field(default_factory=Mailbox)
    signature: tuple[Any, ...] | None = None
    #: Whether a terminal state was seen (final in Elastic Jobs: nothing more to poll).
    finished: bool = False
    #: When the current state's targets became wanted (a change not yet detailed); ``None``: not wanted.
    details_wanted_since: float | None = None
    #: Whether the current state was delivered (possibly without targets, when over budget).
    announced: bool = False
    details_at: float = -math.inf
    #: Set once an error observation ended the watch; later rounds skip it.
    ended: bool = False
    #: Whether the last target list failed (its state rounds then do not refill the error budget).
    details_failing: bool = False

    def deliver(self, observation: Observation) -> None:
        """Queue an observation for the waiter."""
        self.queue.put_nowait(observation)

    async def next(self) -> Observation:
        """Wait for the next observation."""
        return await self.queue.get()

    def fail(self, err: Exception, agent_name: str, context: str = "", transient: bool | None = None) -> None:
        """A poll of agent ``agent_name`` failed for this watch: transient until its budget is spent,
        else the watch ends.

        :param transient: overrides :func:`~airflow_elasticjobs.waiting.is_transient`'s judgement.
        """
        description = context + describe_error(err)
        try:
            self.budget.charge(err, transient=transient)
        except GaveUp as gave_up:
            self.end(
                description
                if gave_up.permanent
                else f"No successful poll of agent {agent_name!r} for "
                f"{gave_up.failing_for:.0f} s (budget {gave_up.budget_seconds:.0f} s); "
                f"last error: {description}",
            )
        else:
            self.deliver(Observation(transient=description))

    def end(self, error: str) -> None:
        """End the watch with an error observation; later rounds skip it."""
        self.deliver(Observation(error=error))
        self.ended = True
