"""One shared poller per job agent in a triggerer process (coalesced polling; the design and its
figures: docs/performance.md, "Coalesced polling").

However many deferred tasks wait on executions of the same agent, the triggerer polls for all of
them together, and the cost per interval does not grow with the number of waiters. Rounds start at
a fixed rate (every poll interval). Each reads the **ended list** (``GET …/jobAgents/{agent}/
executions?endTimeMin=<cursor>&endTimeMax=<now>``, all pages; the cursor is in ARM's clock:
:mod:`~airflow_elasticjobs.triggers.ended_cursor`; executions seen again in its overlap are not
delivered twice) and, when due, starts a read of the **active list** (``?isActive=true``, all
pages) **beside** the rounds, at most one under way, so a long active list never delays an end.
The active list is due once every as many rounds as it had pages, at least
:data:`ACTIVE_MIN_ROUNDS` apart, every round while a watch follows running states (``stop_on``),
and at once when more watches are unseen than it has pages. It notices what the ended list cannot:
running state changes, executions that vanish, watches whose execution never appears.

Then a ``GET`` for each watch the lists could not account for, a few at a time; a missing execution
ends its watch with an error. Beside the rounds, target-execution lists (progress) for at most
``details_per_poll`` executions (:mod:`~airflow_elasticjobs.triggers.details`); a change beyond
the budget is reported at once, its targets follow. Both lists are read as JSON into
:class:`~airflow_elasticjobs.execution_state.RootState` (the fields states are judged by), not SDK
models. :attr:`AgentPoller.requests` counts the requests by kind.

Errors are kept to the watch they concern: a failed ``GET`` or target list of one execution ends or
delays only that watch; a failure of the agent-wide lists (and any authentication failure) applies
to every watch, backing off once for all of them (honouring ``Retry-After``). What counts as
transient and how long a watch keeps trying is :mod:`airflow_elasticjobs.waiting`'s policy.

An identity Entra ID rejects (a rotated and revoked client secret: AADSTS7000215) does not end any
watch at once: every task that defers was started by its worker with this very connection moments
before, so a rejection means the secret changed since. The poller opens a new hook at once, which
reads the connection again (a changed one gets its own client,
:mod:`~airflow_elasticjobs.hooks.shared_clients`); while it is still rejected, every round reads it
again and the failure counts against each watch's error budget like a transient fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_elasticjobs.execution_state import Lifecycle, TargetResult, is_terminal, state_signature
from airflow_elasticjobs.hooks.errors import describe_error, is_rejected_identity
from airflow_elasticjobs.triggers.details import DETAILS_PER_POLL, choose_details
from airflow_elasticjobs.triggers.ended_cursor import EndedCursor
from airflow_elasticjobs.triggers.fan_out import per_watch, read_pages
from airflow_elasticjobs.triggers.watch import Observation, Watch
from airflow_elasticjobs.waiting import Backoff, FaultBudget

if TYPE_CHECKING:
    from airflow_elasticjobs.triggers.agent_key import AgentKey

log = logging.getLogger(__name__)


class ExecutionSource(Protocol):
    """What the poller needs from an open async hook (:class:`ElasticJobsAsyncHook` provides it)."""

    def execution_pages(
        self,
        *,
        is_active: bool | None = None,
        end_time_min: datetime | None = None,
        end_time_max: datetime | None = None,
    ) -> AsyncIterator[list[Any]]:
        """Root executions of the agent (only active ones, or only those ended in a time window), a
        page (one request) at a time, each execution with the attributes
        :func:`~airflow_elasticjobs.execution_state.state_signature` reads and its ``name``."""

    #: ARM's clock from the ``Date`` header of the latest list page (whole seconds); ``None`` if no
    #: page carried one.
    server_date: datetime | None

    async def get_execution(self, job_name: str, job_execution_id: str) -> Any | None:
        """One root execution, or ``None``."""

    async def list_target_executions(self, job_name: str, job_execution_id: str) -> list[Any]:
        """Target executions of a root execution."""


#: Rounds of the polling loop between two reads of the active list, at least (a short list, one page,
#: is not read every round: the ended list finds the ends; running state changes wait for it).
ACTIVE_MIN_ROUNDS = 3
#: Concurrent requests of one round (target lists, GETs of executions missing from every list).
CONCURRENT_REQUESTS = 8


class AgentPoller:
    """Polls one agent's executions for every :class:`Watch` registered with it.

    :param key: the agent.
    :param open_hook: returns an async context manager yielding an :class:`ExecutionSource`
        (e.g. ``lambda: ElasticJobsAsyncHook(conn_id, …)``); opened once and kept open across
        rounds (one client and connection pool for every waiter); reopened after a failed poll.
    :param on_idle: called when the last watch left and polling stopped.
    :param backoff: the shared backoff after failed polls.
    :param clock: monotonic clock (injectable for tests).
    :param sleep: how the polling loop waits between rounds and after faults (injectable for tests:
        a test lets the real loop run one round at a time).
    :param wall_clock: UTC wall clock for the ended-executions filter (injectable for tests).
    :param details_per_poll: target lists per round, at most.
    """

    def __init__(
        self,
        key: AgentKey,
        open_hook: Callable[[], AbstractAsyncContextManager[ExecutionSource]],
        *,
        on_idle: Callable[[], None] = lambda: None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        details_per_poll: int = DETAILS_PER_POLL,
    ) -> None:
        self.key = key
        self._open_hook = open_hook
        self._on_idle = on_idle
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._details_per_poll = details_per_poll
        #: The watches registered, in registration order (a dict: membership and removal are O(1)
        #: with 10,000 watches on one agent).
        self._watches: dict[Watch, None] = {}
        self._task: asyncio.Task[None] | None = None
        self._next_refresh_at = -math.inf
        #: Requests made, by kind: ``list_active`` and ``list_ended`` (pages), ``get_execution``,
        #: ``list_targets``.
        self.requests: Counter[str] = Counter()
        self._active_pages = 1
        self._rounds_since_active = math.inf
        self._cursor = EndedCursor(wall_clock)
        #: Set by each state round: the details loop has work (see :meth:`poll_details`).
        self._details_due = asyncio.Event()
        self._fresh_hook = True
        #: The polling loop's active-list read under way (at most one), and the watches it covers.
        self._active_read: asyncio.Task[None] | None = None
        self._active_covers: set[Watch] = set()
        #: Watches the last active-list read did not list: the next ended round accounts for them.
        self._left: set[Watch] = set()

    @contextlib.contextmanager
    def watching(
        self,
        job_name: str,
        execution_id: str,
        *,
        poll_interval: float,
        progress_interval: float | None,
        error_budget: float,
        follow_running: bool = False,
    ) -> Iterator[Watch]:
        """Register a watch for the ``with`` block; starts polling if this is the first watch.

        :param follow_running: running state changes are wanted within one interval (e.g. the
            trigger's ``stop_on``): the active list is read every round while this watch lasts.
        """
        watch = Watch(
            job_name,
            execution_id,
            poll_interval=poll_interval,
            progress_interval=progress_interval,
            budget=FaultBudget(error_budget, self._clock),
            follow_running=follow_running,
        )
        self._watches[watch] = None
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"elasticjobs-poller-{self.key}"
            )
        try:
            yield watch
        finally:
            del self._watches[watch]

    async def _settle(
        self, source: ExecutionSource, watches: list[Watch], seen: dict[str, Any], lookup: list[Watch]
    ) -> None:
        """``GET`` the ``lookup`` watches, then note what ``seen`` and those ``GET`` requests show for
        every watch still registered (a missing execution ends its watch; a failed ``GET`` is charged
        to its watch)."""
        fetched, failed = await per_watch(
            lookup, lambda w: source.get_execution(w.job_name, w.execution_id), CONCURRENT_REQUESTS
        )
        self.requests["get_execution"] += len(lookup)
        # Executions seen running before that ended since: fresh evidence of ARM's clock.
        self._cursor.learn([e for w, e in fetched.items() if e is not None and w.signature is not None])
        seen |= {w.execution_id.lower(): e for w, e in fetched.items() if e is not None}
        for watch in watches:
            if watch not in self._watches:
                continue  # its trigger stopped waiting while the lists were read
            execution = seen.get(watch.execution_id.lower())
            if watch in failed:
                watch.fail(
                    failed[watch], self.key.agent_name, f"Polling execution {watch.execution_id} failed: "
                )
            elif execution is not None:
                self._note(watch, execution)
            elif watch in fetched:
                watch.end(
                    f"Execution {watch.execution_id} of job {watch.job_name!r} does not exist on "
                    f"agent {self.key.agent_name!r}; check job_name and execution_id.",
                )
            if watch not in failed and not watch.details_failing:
                watch.budget.record_success()

    async def _state_round(self, source: ExecutionSource) -> None:
        """The polling loop's state round: the ended list every round, the active list beside it.

        Starts the active-list read (:meth:`_read_active`) when due, none is under way and the hook
        has answered a round, and does not wait for it, so a long active list (many pages) never
        delays the ends this round finds.
        Then ``GET`` requests for the watches neither list accounts for: those the last active read
        did not list and the ended list does not either (vanished, or ended before this cursor), and
        unseen watches no active read will cover soon (fewer than its pages, as :meth:`_active_due`).
        """
        began = self._wall_clock()
        watches = [w for w in self._watches if not w.ended and not w.finished]
        unseen = [w for w in watches if w.signature is None]
        # Not on a hook that has not answered yet (the first round, or after a fault): a round that
        # fails then costs one request per backoff, not two.
        idle = not self._fresh_hook and (self._active_read is None or self._active_read.done())
        if idle and self._active_due(watches, unseen):
            self._active_covers = set(watches)
            self._rounds_since_active = 0
            self._active_read = asyncio.get_running_loop().create_task(self._read_active(source, watches))
        self._rounds_since_active += 1
        seen = await self._list_ended(source, watches)
        left, self._left = self._left, set()  # including a read started this round, if done already
        uncovered = [w for w in unseen if w not in self._active_covers and w.execution_id.lower() not in seen]
        lookup = [w for w in watches if w in left and w.execution_id.lower() not in seen]
        if len(uncovered) < self._active_pages:
            lookup += [w for w in uncovered if w not in left]
        await self._settle(source, watches, seen, lookup)
        self._cursor.reach_back_from(began)
        self._details_due.set()

    async def _read_active(self, source: ExecutionSource, watches: list[Watch]) -> None:
        """Read the active list (all pages) and note the running states it shows for ``watches``.

        Watches it does not list (ended, or vanished) are left to the next ended round. A watch
        whose end was delivered while the list was read is skipped (the list predates the end).
        """
        try:
            seen, pages = await read_pages(source.execution_pages(is_active=True))
        finally:
            self._active_covers = set()
        self.requests["list_active"] += pages
        self._active_pages = pages
        for watch in watches:
            if watch.ended or watch.finished or watch not in self._watches:
                continue
            execution = seen.get(watch.execution_id.lower())
            if execution is None:
                self._left.add(watch)
            else:
                self._note(watch, execution)
        self._details_due.set()

    def _active_due(self, watches: list[Watch], unseen: list[Watch]) -> bool:
        """Whether this round reads the active list (amortized: one page per round on average).

        Due after as many rounds as it had pages (at least :data:`ACTIVE_MIN_ROUNDS`), every round for a watch
        following running states, and when unseen watches would cost at least as many ``GET``
        requests as its pages.
        """
        return (
            self._rounds_since_active >= max(self._active_pages, ACTIVE_MIN_ROUNDS)
            or any(w.follow_running for w in watches)
            or len(unseen) >= self._active_pages
        )

    async def _list_ended(self, source: ExecutionSource, watches: list[Watch]) -> dict[str, Any]:
        """Root executions ended in the cursor's window, by lower-case id; advances the cursor.

        The end of each of ``watches`` is delivered as soon as its page arrives, not after the last
        page: while thousands end together a listing is many pages long, and an end on its first
        page need not wait for the rest. Then the newest part of the window is read first
        (:meth:`EndedCursor.parts`).

        The cursor follows ARM's clock (see the module docstring), so a triggerer clock behind or
        ahead of ARM's neither misses ends nor rereads old ones for long. The window ends when the
        listing starts: while thousands end, a list without that bound keeps growing at its tail as
        it is read, and the round would not end before the ends did.
        """
        by_id = {w.execution_id.lower(): w for w in watches}

        def deliver(page: dict[str, Any]) -> None:
            for execution_id, execution in page.items():
                watch = by_id.get(execution_id)
                if watch is not None and not watch.ended and watch in self._watches:
                    self._note(watch, execution)

        started = self._wall_clock()
        parts = self._cursor.parts(started)
        ended: dict[str, Any] = {}
        pages: list[int] = []
        for since, until in parts:
            found, count = await read_pages(
                source.execution_pages(end_time_min=since, end_time_max=until), deliver
            )
            ended |= found
            pages.append(count)
        self.requests["list_ended"] += sum(pages)
        self._cursor.learn(ended.values(), source.server_date)
        self._cursor.listed(started, parts[0][1], pages[0])
        return ended

    def _note(self, watch: Watch, execution: Any) -> None:
        """Record what was seen; a terminal state is delivered at once, a running one wants targets."""
        signature = state_signature(execution)
        if signature == watch.signature:
            return
        watch.signature = signature
        watch.announced = False
        watch.finished = is_terminal(signature[0])
        if watch.finished:
            watch.details_wanted_since = None
            self._announce(watch)
        elif watch.details_wanted_since is None:
            watch.details_wanted_since = self._clock()

    async def poll_details(self, source: ExecutionSource) -> None:
        """Target lists for changed executions (oldest change first) and one due refresh, within budget.

        The polling loop runs this beside the state rounds (woken by each, at most once per
        interval), so slow target lists (a burst of first sights) never hold back the next round
        and the terminal states it finds. A watch whose target list failed is announced without
        targets, charged against its error budget, and detailed again next time. A state that
        changed while its targets were being read is detailed again too.
        """
        now = self._clock()
        changed, chosen, self._next_refresh_at = choose_details(
            self._watches, now, self._details_per_poll, self._next_refresh_at
        )
        if not changed and not chosen:
            return
        asked = {w: w.signature for w in chosen}
        found, failed = await per_watch(
            chosen, lambda w: source.list_target_executions(w.job_name, w.execution_id), CONCURRENT_REQUESTS
        )
        self.requests["list_targets"] += len(chosen)
        for watch, targets in found.items():
            watch.details_failing = False
            watch.budget.record_success()
            if watch.ended or watch.signature != asked[watch]:
                continue  # ended, or changed meanwhile (a terminal state is already delivered)
            watch.details_wanted_since, watch.details_at = None, now
            watch.announced = False
            self._announce(watch, tuple(TargetResult.from_model(t) for t in targets))
        for watch in [*changed[len(chosen) :], *failed]:
            if not watch.announced and not watch.ended and not watch.finished:
                self._announce(watch)
        for watch, err in failed.items():
            watch.details_failing = True
            watch.fail(err, self.key.agent_name, f"Polling execution {watch.execution_id} failed: ")

    @staticmethod
    def _announce(watch: Watch, targets: tuple[TargetResult, ...] | None = None) -> None:
        assert watch.signature is not None
        lifecycle, last_message = Lifecycle.observed(watch.signature[0]).value, watch.signature[1]
        watch.deliver(Observation(lifecycle=lifecycle, last_message=last_message, targets=targets))
        watch.announced = True

    def _interval(self) -> float:
        return min(w.poll_interval for w in self._watches)

    async def _details_loop(self, source: ExecutionSource) -> None:
        """:meth:`poll_details` after each state round, at most once per interval."""
        while self._watches:
            await self._details_due.wait()
            self._details_due.clear()
            began = self._clock()
            await self.poll_details(source)
            if self._watches:
                await self._sleep(max(0.0, began + self._interval() - self._clock()))

    async def _rounds(self, source: ExecutionSource) -> None:
        """State rounds at a fixed rate with the details loop beside them; a failure of either raises."""
        details = asyncio.get_running_loop().create_task(self._details_loop(source))
        try:
            while self._watches:
                round_ends = self._clock() + self._interval()
                await self._state_round(source)
                self._fresh_hook = False
                for beside in (details, self._active_read):
                    if beside is not None and beside.done():
                        beside.result()  # its failure (agent list, authentication) concerns every watch
                self._backoff.reset()
                await self._sleep(max(0.0, round_ends - self._clock()))
        finally:
            besides = [task for task in (details, self._active_read) if task is not None]
            for task in besides:
                task.cancel()
            await asyncio.gather(*besides, return_exceptions=True)  # a failure was raised above
            self._active_read = None

    async def _run(self) -> None:
        try:
            while self._watches:
                self._fresh_hook = True  # no round succeeded yet on this hook: its connection was just read
                try:
                    async with self._open_hook() as source:
                        await self._rounds(source)
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    if is_rejected_identity(err) and not self._fresh_hook:
                        # E.g. a client secret rotated and the old one revoked: read the connection
                        # again and build a new credential before calling the rejection permanent.
                        log.warning(
                            "Entra ID rejected the identity of connection %r (%s); reading the "
                            "connection again.",
                            self.key.conn_id,
                            describe_error(err),
                        )
                        continue
                    # Rejected even with the connection read again: a rotation still under way (the
                    # worker started the job with this connection). Read it again each round,
                    # within the error budget.
                    rotating = is_rejected_identity(err)
                    for watch in [w for w in self._watches if not w.ended]:
                        watch.fail(err, self.key.agent_name, transient=True if rotating else None)
                    await self._sleep(self._backoff.next_delay(err))
        finally:
            self._on_idle()
