"""The poller's cost per round does not grow with waiters: ended list each round, active list amortized.

The real polling loop, stepped one round at a time (:class:`~tests.unit.triggers.fakes.Ticks`), with a
fake source (100 items a page, like ARM) and fake clocks: the triggerer's wall clock, and ARM's clock
that stamps ``endTime`` (ahead of or behind the triggerer's by ``skew``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from airflow_elasticjobs.triggers.ended_cursor import ENDED_LOOKBACK, ENDED_OVERLAP
from airflow_elasticjobs.triggers.poller import ACTIVE_MIN_ROUNDS, AgentPoller
from airflow_elasticjobs.triggers.watch import Watch
from tests.unit.triggers.fakes import FakeSource, Ticks, execution
from tests.unit.triggers.test_poller import KEY, drain, watch, watch_many

#: Target lists per round: more than the default so first sight of 10,000 takes few rounds here.
DETAILS = 1000
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Clocks:
    """The triggerer's wall clock and ARM's, ``skew`` apart; one poll interval is 10 s."""

    def __init__(self, skew: timedelta = timedelta(0)) -> None:
        self.now = T0
        self.skew = skew

    def wall(self) -> datetime:
        return self.now

    def arm(self) -> datetime:
        return self.now + self.skew

    def tick(self, seconds: float = 10) -> None:
        self.now += timedelta(seconds=seconds)


def end(source: FakeSource, name: str, at: datetime, lifecycle: str = "Canceled") -> None:
    source.executions[name] = execution(name, lifecycle, f"Job execution {lifecycle.lower()}.", end_time=at)


@dataclass
class Rig:
    """``waiting`` watched executions e0, e1, … on a fake agent, past their first sight."""

    clocks: Clocks
    source: FakeSource
    poller: AgentPoller
    watches: list[Watch]
    ticks: Ticks

    async def rounds(self, count: int = 1, tick_first: bool = False) -> None:
        """``count`` polling rounds, one interval apart."""
        for _ in range(count):
            if tick_first:
                self.clocks.tick()
            await self.ticks.rounds()
            if not tick_first:
                self.clocks.tick()


async def settled(
    stack: contextlib.ExitStack,
    ticks: Ticks,
    waiting: int,
    lifecycle: str = "InProgress",
    skew: timedelta = timedelta(0),
    source: FakeSource | None = None,
    dated: bool = False,
) -> Rig:
    """Watch ``waiting`` executions for the life of ``stack`` and poll until every first-sight
    target list is fetched; then forget calls and observations.

    :param dated: the lists' pages carry ARM's clock in a ``Date`` header.
    """
    clocks = Clocks(skew)
    source = source or FakeSource(page_size=100)
    if dated:
        source.arm_clock = clocks.arm
    poller = AgentPoller(
        KEY, source.open, sleep=ticks.sleep, wall_clock=clocks.wall, details_per_poll=DETAILS
    )
    rig = Rig(clocks, source, poller, watch_many(stack, poller, source, waiting, lifecycle), ticks)
    await rig.rounds(waiting // DETAILS + 3)  # the active list in the 2nd round, details after it
    drain(rig.watches)
    source.calls.clear()
    return rig


@pytest.mark.parametrize("waiting", [10, 500, 10_000])
async def test_a_steady_wait_costs_at_most_two_requests_per_round(ticks, waiting):
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, waiting)
        pages = -(-waiting // 100)
        rounds = max(10, 2 * pages)
        await rig.rounds(rounds)
        calls = rig.source.calls
        assert sum(calls.values()) / rounds <= 2
        assert calls["list_ended"] == rounds
        every = max(pages, ACTIVE_MIN_ROUNDS)  # the active list every `every` rounds
        assert pages * (rounds // every) <= calls["list"] <= pages * -(-rounds // every)
        assert not calls["get"] and not calls["targets"]
        assert all(w.queue.empty() for w in rig.watches)


@pytest.mark.parametrize("waiting", [10, 500, 10_000])
async def test_every_end_is_seen_within_one_round(ticks, waiting):
    """Ends spread over many rounds (ARM's clock 3 minutes ahead): each waiter hears its end in the
    first round after it, exactly once."""
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, waiting, skew=timedelta(minutes=3))
        per_round = max(1, waiting // 50)
        heard_in: dict[int, int] = {}
        for round_ in range(-(-waiting // per_round)):
            for i in range(round_ * per_round, min(waiting, (round_ + 1) * per_round)):
                end(rig.source, f"e{i}", rig.clocks.arm() - timedelta(seconds=i % 10))
            await rig.rounds(tick_first=True)
            for i, w in enumerate(rig.watches):
                while not w.queue.empty():
                    assert w.queue.get_nowait().lifecycle == "Canceled"
                    assert i not in heard_in, f"e{i} delivered twice"
                    heard_in[i] = round_
        assert heard_in == {i: i // per_round for i in range(waiting)}
        assert not rig.source.calls["get"]


@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(0), timedelta(minutes=10)])
async def test_the_ended_cursor_follows_arms_clock(ticks, skew):
    """Once ARM's lead over the triggerer's clock is learnt, an end is seen in the next round and old
    ends drop out of the list after the overlap instead of being reread. Before any end was seen,
    the list reaches ENDED_LOOKBACK back: with ARM further behind than that, the first ends are
    found when the active list is next due (one GET each), which teaches the lead."""
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 301, skew=skew)
        burst, late = rig.watches[:300], rig.watches[300]
        for i in range(300):  # 300 end at once: 3 pages of the ended list in that round
            end(rig.source, f"e{i}", rig.clocks.arm())
        await rig.rounds(1 if skew > -ENDED_LOOKBACK else 4, tick_first=True)  # the active list: 4 pages
        assert all(w.queue.get_nowait().lifecycle == "Canceled" for w in burst)
        assert rig.source.calls["get"] == (0 if skew > -ENDED_LOOKBACK else 300)
        rounds_rereading = 0
        for _ in range(12):
            rig.source.calls.clear()
            await rig.rounds(tick_first=True)
            rounds_rereading += rig.source.calls["list_ended"] > 1
        assert rounds_rereading <= ENDED_OVERLAP.total_seconds() / 10 + 1
        end(rig.source, "e300", rig.clocks.arm() - timedelta(seconds=1))
        await rig.rounds(tick_first=True)
        assert late.queue.get_nowait().lifecycle == "Canceled"
        assert not rig.source.calls["get"]


async def test_before_any_end_is_seen_the_list_reaches_back_by_the_lookback(ticks):
    with contextlib.ExitStack() as stack:
        rig = await settled(
            stack, ticks, 1, skew=-ENDED_LOOKBACK + timedelta(seconds=5)
        )  # ARM nearly 2 min behind
        end(rig.source, "e0", rig.clocks.arm())
        await rig.rounds(tick_first=True)
        assert rig.watches[0].queue.get_nowait().lifecycle == "Canceled"
        assert not rig.source.calls["get"]


async def test_a_vanished_execution_is_noticed_at_the_next_active_list(ticks):
    """An execution that leaves the active list without an end (its job was deleted) ends its watch
    when the active list is next due; the others keep waiting."""
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 300)
        del rig.source.executions["e7"]
        await rig.rounds(3)  # the active list (3 pages) is due within 3 rounds
        assert "does not exist" in rig.watches[7].queue.get_nowait().error
        assert rig.source.calls["get"] == 1
        assert all(w.queue.empty() for w in rig.watches if w is not rig.watches[7])


async def test_a_new_watch_between_active_lists_is_first_seen_by_one_get(ticks):
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 500)
        await rig.rounds()  # the active list was read: next due in 5 rounds
        rig.source.calls.clear()
        rig.source.executions["new"] = execution("new", "InProgress")
        newcomer = stack.enter_context(watch(rig.poller, "new"))
        await rig.rounds()
        assert dict(rig.source.calls) == {"list_ended": 1, "get": 1, "targets": 1}
        assert newcomer.queue.get_nowait().lifecycle == "InProgress"


async def test_many_new_watches_are_first_seen_by_the_active_list(ticks):
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 500)
        await rig.rounds()
        rig.source.calls.clear()
        for i in range(10):
            rig.source.executions[f"n{i}"] = execution(f"n{i}", "Created")
        newcomers = [stack.enter_context(watch(rig.poller, f"n{i}")) for i in range(10)]
        await rig.rounds(2)  # announced (with targets) by the details pass after the active list
        assert rig.source.calls["list"] == 6 and not rig.source.calls["get"]  # 6 pages cost less than 10 GETs
        assert all(w.queue.get_nowait().lifecycle == "Created" for w in newcomers)


async def test_a_watch_following_running_states_reads_the_active_list_every_round(ticks):
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 300, lifecycle="Created")
        follower = stack.enter_context(watch(rig.poller, "e0", follow_running=True))
        # The active list is not due (3 pages), but the follower wants it every round; what it sees
        # is announced (with targets) by the details pass after it.
        await rig.rounds(2)
        assert follower.queue.get_nowait().lifecycle == "Created"
        rig.source.executions["e0"].lifecycle = "InProgress"
        await rig.rounds(2)
        assert follower.queue.get_nowait().lifecycle == "InProgress"
        assert rig.source.calls["list"] == 12


async def test_an_end_visible_later_than_the_overlap_is_found_by_the_next_active_list(ticks):
    """Once ARM's clock is learnt, an end written with an ``endTime`` from before the previous
    listing, further back than ENDED_OVERLAP, is outside the ended list; the next active list does
    not list it, and one GET in the round after delivers it."""
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 300)
        first, late = rig.watches[0], rig.watches[5]
        rig.clocks.tick()
        listed_at = rig.clocks.arm()
        end(rig.source, "e0", listed_at)  # listed at once: ARM's lead is 0, not ENDED_LOOKBACK
        await rig.rounds()  # the next ended list reaches back from this one's start
        assert first.queue.get_nowait().lifecycle == "Canceled"
        end(rig.source, "e5", listed_at - ENDED_OVERLAP - timedelta(seconds=1))
        rig.source.calls.clear()
        await rig.rounds(4, tick_first=True)  # the active list (3 pages) is due within 3 rounds
        assert late.queue.get_nowait().lifecycle == "Canceled"
        assert rig.source.calls["get"] == 1  # not in the ended list: found missing from the active one
        assert all(w.queue.empty() for w in rig.watches if w not in (first, late))


async def test_with_date_headers_ends_are_seen_next_round_however_far_behind_arms_clock_is(ticks):
    """ARM's clock 10 minutes behind the triggerer's (past ENDED_LOOKBACK): the lists' Date header
    teaches that from the first page, so the first ends are found by the next ended list, no GET."""
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 300, skew=timedelta(minutes=-10), dated=True)
        for i in range(300):
            end(rig.source, f"e{i}", rig.clocks.arm())
        await rig.rounds(tick_first=True)
        assert all(w.queue.get_nowait().lifecycle == "Canceled" for w in rig.watches)
        assert not rig.source.calls["get"]


class Storm(FakeSource):
    """Executions keep ending while the ended list is read: before each of its pages after the
    first, ARM's clock moves on a second and the next 100 executions end (a list that grows at
    its tail as it is read, as thousands cancelled together do)."""

    def __init__(self) -> None:
        super().__init__(page_size=100)
        self.clocks: Clocks | None = None
        self.pending: list[str] = []

    def before_page(self, kind: str, page: int) -> None:
        if kind == "list_ended" and page > 0 and self.clocks is not None:
            self.clocks.tick(1)
            self.move_on()

    def move_on(self) -> None:
        """The next 100 executions end now (the storm also goes on between rounds)."""
        assert self.clocks is not None
        for name in self.pending[:100]:
            end(self, name, self.clocks.arm())
        del self.pending[:100]


async def stormed(stack: contextlib.ExitStack, ticks, storm: Storm):
    """2,000 settled waiters on ``storm``: 300 of them end now, the rest 100 per page read."""
    rig = await settled(stack, ticks, 2000, source=storm, dated=True)
    storm.clocks = rig.clocks
    for i in range(300):
        end(storm, f"e{i}", rig.clocks.arm())
    storm.pending = [f"e{i}" for i in range(300, 2000)]
    return rig


async def deliveries_until_storm_is_over(rig, storm: Storm) -> list[int]:
    """Runs rounds (the storm going on between them) until every waiter heard its end, at most
    20; returns how many ``Canceled`` events each waiter got."""
    heard = [0] * len(rig.watches)
    for _ in range(20):
        for i, w in enumerate(rig.watches):
            while not w.queue.empty():
                assert w.queue.get_nowait().lifecycle == "Canceled"
                heard[i] += 1
        if all(heard):
            break
        storm.move_on()
        await rig.rounds(tick_first=True)
    return heard


async def test_a_round_reads_the_ends_up_to_its_start_not_those_that_come_while_it_reads(ticks):
    """2,000 executions end 100 per page read: a round stops at the ends stamped by its own start
    (plus ARM_CLOCK_SLACK) instead of chasing the storm to its last page; the next rounds
    deliver the rest, each end exactly once, and no GET is needed."""
    storm = Storm()
    with contextlib.ExitStack() as stack:
        rig = await stormed(stack, ticks, storm)
        await rig.rounds(tick_first=True)
        assert storm.calls["list_ended"] <= 6  # chasing the storm: 20 pages, every end in one round
        assert storm.pending  # the storm outlasted the round
        assert await deliveries_until_storm_is_over(rig, storm) == [1] * 2000
        assert not storm.calls["get"]


class Watched(FakeSource):
    """Records, before each page of the ended list, which executions' ends were already delivered."""

    def __init__(self) -> None:
        super().__init__(page_size=100)
        self.watches: list[Watch] = []
        self.delivered_before: dict[int, set[int]] = {}

    def before_page(self, kind: str, page: int) -> None:
        if kind == "list_ended":
            self.delivered_before[page] = {i for i, w in enumerate(self.watches) if not w.queue.empty()}


async def test_each_page_of_ends_is_delivered_before_the_next_page_is_read(ticks):
    """300 end together, 3 pages of the ended list: the ends of a page are delivered as it arrives,
    so the first page's waiters do not wait for the pages after it."""
    source = Watched()
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 300, source=source, dated=True)
        source.watches = rig.watches
        for i in range(300):
            end(source, f"e{i}", rig.clocks.arm())
        await rig.rounds(tick_first=True)
        assert source.delivered_before == {0: set(), 1: set(range(100)), 2: set(range(200))}
        assert all(w.queue.get_nowait().lifecycle == "Canceled" for w in rig.watches)
        assert all(w.queue.empty() for w in rig.watches)  # each end delivered once


class Leaving(FakeSource):
    """Closes ``leave`` (a trigger stops waiting) before the second page of an ended list is read."""

    def __init__(self) -> None:
        super().__init__(page_size=100)
        self.leave: contextlib.ExitStack | None = None

    def before_page(self, kind: str, page: int) -> None:
        if kind == "list_ended" and page == 1 and self.leave is not None:
            self.leave.close()


async def test_a_watch_whose_trigger_stops_while_the_ends_are_read_gets_no_event(ticks):
    """201 end together (3 pages); the trigger of the one on the last page stops waiting (cancelled,
    say) while the first page is delivered: its end is not delivered to a watch nobody reads, the
    others' are."""
    source = Leaving()
    with contextlib.ExitStack() as stack:
        rig = await settled(stack, ticks, 200, source=source, dated=True)
        source.executions["late"] = execution("late", "InProgress")
        source.leave = contextlib.ExitStack()
        late = source.leave.enter_context(watch(rig.poller, "late"))
        await rig.rounds(3)
        drain([late])
        for name in [*(f"e{i}" for i in range(200)), "late"]:
            end(source, name, rig.clocks.arm())
        await rig.rounds(tick_first=True)
        assert all(w.queue.get_nowait().lifecycle == "Canceled" for w in rig.watches)
        assert late.queue.empty()


class WindowedStorm(Storm):
    """A :class:`Storm` that records the ``endTimeMin``/``endTimeMax`` of every ended list."""

    def __init__(self) -> None:
        super().__init__()
        self.windows: list[tuple[datetime, datetime | None]] = []

    def execution_pages(self, *, is_active=None, end_time_min=None, end_time_max=None):
        if end_time_min is not None:
            self.windows.append((end_time_min, end_time_max))
        return super().execution_pages(
            is_active=is_active, end_time_min=end_time_min, end_time_max=end_time_max
        )


async def test_while_many_end_the_newest_part_of_the_window_is_read_first(ticks):
    """After a round whose newest ends took several pages, the next reads the ends since that
    window stopped first, then the part it read already (overlap and slack: ends visible late);
    once the storm is over a round is one listing of one page again."""
    storm = WindowedStorm()
    with contextlib.ExitStack() as stack:
        rig = await stormed(stack, ticks, storm)
        storm.windows.clear()
        await rig.rounds(tick_first=True)
        [(_, stopped)] = storm.windows
        storm.windows.clear()
        await rig.rounds(tick_first=True)
        (newest_from, _), (since, reread_to) = storm.windows
        assert newest_from == stopped == reread_to
        assert since < stopped
        assert await deliveries_until_storm_is_over(rig, storm) == [1] * 2000
        storm.windows.clear()
        storm.calls.clear()
        await rig.rounds(3, tick_first=True)
        assert len(storm.windows) == 3 and storm.calls["list_ended"] == 3
