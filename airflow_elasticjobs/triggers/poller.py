"""One shared poller per job agent in a triggerer process (coalesced polling).

However many deferred tasks wait on executions of the same agent, the triggerer polls for all of
them together (all on one open client, so one connection pool), and the cost per interval does not
grow with the number of waiters. Each round (every poll interval) reads the first of two lists and,
when due, starts a read of the second **beside** the rounds (at most one under way per agent), so a
long active list never delays the ends the ended list delivers:

1. the **ended list**, ``GET …/jobAgents/{agent}/executions?endTimeMin=<cursor>`` (all pages): every
   root execution that ended since the cursor (``endTimeMin`` filters ``JobExecutions_ListByAgent``
   in the REST spec, example ``ListJobExecutionsByAgentWithFilter.json``). The cursor is in ARM's
   clock, not the triggerer's (:mod:`~airflow_elasticjobs.triggers.ended_cursor`). Executions seen
   again in its overlap are deduplicated by id (a state already delivered is not delivered twice);
2. the **active list**, ``GET …/executions?isActive=true`` (all pages), only when due: once every as
   many rounds as it had pages last time, and at least :data:`ACTIVE_MIN_ROUNDS` rounds apart (so
   it costs at most one request per interval on average, a third of one for a one-page list),
   every round (once the previous read finished) while a watch asks to follow running states
   (``stop_on``), and at once when more watches are unseen than the list has pages. It notices
   what the ended list cannot: running state changes (announced when it is read: up to
   :data:`ACTIVE_MIN_ROUNDS` intervals, or its page count, after they happen), executions that
   vanish, and watches whose execution never appears. The watches it did not list are accounted
   for by the next round's ended list.

Then: a ``GET`` for each watch the lists could not account for (left the active list but not in
the ended list: first seen already ended, or vanished; not seen yet while no active read will cover
it soon), a few at a time concurrently; a missing execution ends its watch with an error.
Beside the rounds: target-execution lists (progress) for at most ``details_per_poll`` executions
(:mod:`~airflow_elasticjobs.triggers.details` chooses them). A change beyond the budget is reported
at once without targets; its targets follow in a later pass.

The two lists are read as JSON, parsed only for the fields the poller judges states by
(:class:`~airflow_elasticjobs.execution_state.RootState`): deserializing whole SDK models was most
of a steady round's CPU.

So a steady wait costs at most two requests per agent per interval on average, however many wait
(more only in a round where more executions ended than one page holds, or for first sights and
state changes: O(1) per execution's life). A transient fault (429, 5xx, dropped connection) of an
agent-wide list backs off once for every waiter of the agent, honouring ``Retry-After``. Rounds
start at a fixed rate (every poll interval, not an interval after the previous round ended), so an
execution's end is seen within about one interval. :attr:`AgentPoller.requests` counts the
requests by kind.

Errors are kept to the watch they concern: a failed ``GET`` or target list of one execution (a
404 because its job was deleted, a 403, a 5xx after the SDK's retries) ends or delays only that
execution's watch, while a failure of the agent-wide lists (and any authentication failure) applies
to every watch. A lifecycle this provider version does not know is treated as still active and
logged once (:meth:`~airflow_elasticjobs.execution_state.Lifecycle.observed`). What counts as
transient and how long a watch keeps trying is :mod:`airflow_elasticjobs.waiting`'s policy.

An identity Entra ID rejects (a rotated and revoked client secret: AADSTS7000215) does not end any
watch at once: every task that defers was started by its worker with this very connection moments
before, so a rejection means the secret changed since. The poller opens a new hook at once, which
reads the connection again and builds a new credential; while that freshly read connection is still
rejected (the secret was revoked before the connection was updated), every round reads it again and
the failure counts against each watch's error budget like a transient fault.

Pollers stop when the last watch leaves (:mod:`~airflow_elasticjobs.triggers.registry` keeps
one per agent and event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
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
    from airflow_elasticjobs.triggers.registry import AgentKey

log = logging.getLogger(__name__)


class ExecutionSource(Protocol):
    """What the poller needs from an open async hook (:class:`ElasticJobsAsyncHook` provides it)."""

    def execution_pages(
        self, *, is_active: bool | None = None, end_time_min: datetime | None = None
    ) -> AsyncIterator[list[Any]]:
        """Root executions of the agent (only active ones, or only those ended since a time), a page
        (one request) at a time, each execution with the attributes
        :func:`~airflow_elasticjobs.execution_state.state_signature` reads and its ``name``."""

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
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        details_per_poll: int = DETAILS_PER_POLL,
    ) -> None:
        self.key = key
        self._open_hook = open_hook
        self._on_idle = on_idle
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._wall_clock = wall_clock
        self._details_per_poll = details_per_poll
        self._watches: list[Watch] = []
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
        self._watches.append(watch)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"elasticjobs-poller-{self.key}"
            )
        try:
            yield watch
        finally:
            self._watches.remove(watch)

    async def poll_once(self, source: ExecutionSource) -> None:
        """One whole round by hand: :meth:`poll_states`, then :meth:`poll_details` (in sequence).

        The polling loop runs the two side by side instead (see :meth:`poll_details`).
        """
        await self.poll_states(source)
        await self.poll_details(source)

    async def poll_states(self, source: ExecutionSource) -> None:
        """The states of every watch by hand: one agent-wide list, then a ``GET`` for what it missed.

        The polling loop instead reads the ended list every round and the active list beside the
        rounds (:meth:`_ended_round`); this sequential round reads one or the other, so tests and
        callers driving rounds by hand see each list's effect in the round that reads it.

        A terminal state is delivered at once; a running state change is announced by the next
        :meth:`poll_details`, with its targets. A failure of the agent-wide lists is raised (it
        concerns every watch); a failure of one execution's ``GET`` is delivered to that watch alone.
        """
        began = self._wall_clock()
        # A terminal state is final: its watch has nothing more to learn (its waiter is leaving).
        watches = [w for w in self._watches if not w.ended and not w.finished]
        unseen = [w for w in watches if w.signature is None]
        if self._active_due(watches, unseen):
            seen, pages = await read_pages(source.execution_pages(is_active=True))
            self.requests["list_active"] += pages
            self._active_pages, self._rounds_since_active = pages, 1
            left = [w for w in watches if w.execution_id.lower() not in seen]
            if any(w.signature is not None for w in left):
                seen |= await self._list_ended(source)
            lookup = [w for w in left if w.execution_id.lower() not in seen]
        else:
            self._rounds_since_active += 1
            seen = await self._list_ended(source)
            lookup = [w for w in unseen if w.execution_id.lower() not in seen]
        await self._settle(source, watches, seen, lookup)
        self._cursor.reach_back_from(began)
        self._details_due.set()

    async def _settle(
        self, source: ExecutionSource, watches: list[Watch], seen: dict[str, Any], lookup: list[Watch]
    ) -> None:
        """``GET`` the ``lookup`` watches, then note what ``seen`` and those ``GET`` requests show for
        every watch (a missing execution ends its watch; a failed ``GET`` is charged to its watch)."""
        fetched, failed = await per_watch(
            lookup, lambda w: source.get_execution(w.job_name, w.execution_id), CONCURRENT_REQUESTS
        )
        self.requests["get_execution"] += len(lookup)
        # Executions seen running before that ended since: fresh evidence of ARM's clock.
        self._cursor.learn([e for w, e in fetched.items() if e is not None and w.signature is not None])
        seen |= {w.execution_id.lower(): e for w, e in fetched.items() if e is not None}
        for watch in watches:
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

    async def _ended_round(self, source: ExecutionSource) -> None:
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
        if idle and self._active_due(watches, unseen, ACTIVE_MIN_ROUNDS):
            self._active_covers = set(watches)
            self._rounds_since_active = 0
            self._active_read = asyncio.get_running_loop().create_task(self._read_active(source, watches))
        self._rounds_since_active += 1
        seen = await self._list_ended(source)
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

    def _active_due(self, watches: list[Watch], unseen: list[Watch], min_rounds: int = 1) -> bool:
        """Whether this round reads the active list (amortized: one page per round on average).

        Due after as many rounds as it had pages (at least ``min_rounds``), every round for a watch
        following running states, and when unseen watches would cost at least as many ``GET``
        requests as its pages.
        """
        return (
            self._rounds_since_active >= max(self._active_pages, min_rounds)
            or any(w.follow_running for w in watches)
            or len(unseen) >= self._active_pages
        )

    async def _list_ended(self, source: ExecutionSource) -> dict[str, Any]:
        """Root executions ended since the cursor, by lower-case id; advances the cursor.

        The cursor follows ARM's clock (see the module docstring), so a triggerer clock behind or
        ahead of ARM's neither misses ends nor rereads old ones for long.
        """
        started = self._wall_clock()
        ended, pages = await read_pages(source.execution_pages(end_time_min=self._cursor.since(started)))
        self.requests["list_ended"] += pages
        self._cursor.learn(ended.values())
        self._cursor.previous_listing = started
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
                await asyncio.sleep(max(0.0, began + self._interval() - self._clock()))

    async def _rounds(self, source: ExecutionSource) -> None:
        """State rounds at a fixed rate with the details loop beside them; a failure of either raises."""
        details = asyncio.get_running_loop().create_task(self._details_loop(source))
        try:
            while self._watches:
                round_ends = self._clock() + self._interval()
                await self._ended_round(source)
                self._fresh_hook = False
                for beside in (details, self._active_read):
                    if beside is not None and beside.done():
                        beside.result()  # its failure (agent list, authentication) concerns every watch
                self._backoff.reset()
                await asyncio.sleep(max(0.0, round_ends - self._clock()))
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
                    await asyncio.sleep(self._backoff.next_delay(err))
        finally:
            self._on_idle()
