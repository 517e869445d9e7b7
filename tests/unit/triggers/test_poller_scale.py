"""The poller's cost per round does not grow with waiters: ended list each round, active list amortized.

Driven by hand with a fake source (100 items a page, like ARM) and fake clocks: the triggerer's wall
clock, and ARM's clock that stamps ``endTime`` (ahead of or behind the triggerer's by ``skew``).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from airflow_elasticjobs.triggers.poller import ENDED_LOOKBACK, ENDED_OVERLAP, AgentPoller
from tests.unit.triggers.fakes import FakeSource, execution, never_opens
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


def poller_for(clocks: Clocks) -> AgentPoller:
    return AgentPoller(KEY, never_opens, wall_clock=clocks.wall, details_per_poll=DETAILS)


async def settle(poller: AgentPoller, source: FakeSource, watches, clocks: Clocks) -> None:
    """Rounds until every first-sight target list is fetched; then forget calls and observations."""
    for _ in range(len(watches) // DETAILS + 2):
        await poller.poll_once(source)
        clocks.tick()
    drain(watches)
    source.calls.clear()


@pytest.mark.parametrize("waiting", [10, 500, 10_000])
async def test_a_steady_wait_costs_at_most_two_requests_per_round(waiting):
    clocks = Clocks()
    source = FakeSource(page_size=100)
    poller = poller_for(clocks)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, waiting, "InProgress")
        await settle(poller, source, watches, clocks)
        pages = -(-waiting // 100)
        rounds = max(10, 2 * pages)
        for _ in range(rounds):
            await poller.poll_once(source)
            clocks.tick()
        requests = sum(source.calls.values())
        assert requests / rounds <= 2
        assert source.calls["list"] == pages * -(-rounds // pages)  # the active list every `pages` rounds
        assert not source.calls["get"] and not source.calls["targets"]
        assert all(w.queue.empty() for w in watches)


@pytest.mark.parametrize("waiting", [10, 500, 10_000])
async def test_every_end_is_seen_within_one_round(waiting):
    """Ends spread over many rounds (ARM's clock 3 minutes ahead): each waiter hears its end in the
    first round after it, exactly once."""
    clocks = Clocks(skew=timedelta(minutes=3))
    source = FakeSource(page_size=100)
    poller = poller_for(clocks)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, waiting, "InProgress")
        await settle(poller, source, watches, clocks)
        per_round = max(1, waiting // 50)
        heard_in: dict[int, int] = {}
        for round_ in range(-(-waiting // per_round)):
            for i in range(round_ * per_round, min(waiting, (round_ + 1) * per_round)):
                end(source, f"e{i}", clocks.arm() - timedelta(seconds=i % 10))
            clocks.tick()
            await poller.poll_once(source)
            for i, w in enumerate(watches):
                while not w.queue.empty():
                    assert w.queue.get_nowait().lifecycle == "Canceled"
                    assert i not in heard_in, f"e{i} delivered twice"
                    heard_in[i] = round_
        assert heard_in == {i: i // per_round for i in range(waiting)}
        assert not source.calls["get"]


@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(0), timedelta(minutes=10)])
async def test_the_ended_cursor_follows_arms_clock(skew):
    """Once ARM's lead over the triggerer's clock is learnt, an end is seen in the next round and old
    ends drop out of the list after the overlap instead of being reread. Before any end was seen,
    the list reaches ENDED_LOOKBACK back: with ARM further behind than that, the first ends are
    found when the active list is next due (one GET each), which teaches the lead."""
    clocks = Clocks(skew)
    source = FakeSource(page_size=100)
    poller = poller_for(clocks)
    with contextlib.ExitStack() as stack:
        burst = watch_many(stack, poller, source, 300, "InProgress")
        late = stack.enter_context(watch(poller, "late"))
        source.executions["late"] = execution("late", "InProgress")
        await settle(poller, source, [*burst, late], clocks)
        for i in range(300):  # 300 end at once: 3 pages of the ended list in that round
            end(source, f"e{i}", clocks.arm())
        for _ in range(1 if skew > -ENDED_LOOKBACK else 3):  # the active list has 3 pages
            clocks.tick()
            await poller.poll_once(source)
        assert all(w.queue.get_nowait().lifecycle == "Canceled" for w in burst)
        assert source.calls["get"] == (0 if skew > -ENDED_LOOKBACK else 300)
        rounds_rereading = 0
        for _ in range(12):
            source.calls.clear()
            clocks.tick()
            await poller.poll_once(source)
            rounds_rereading += source.calls["list_ended"] > 1
        assert rounds_rereading <= ENDED_OVERLAP.total_seconds() / 10 + 1
        end(source, "late", clocks.arm() - timedelta(seconds=1))
        clocks.tick()
        await poller.poll_once(source)
        assert late.queue.get_nowait().lifecycle == "Canceled"
        assert not source.calls["get"]


async def test_before_any_end_is_seen_the_list_reaches_back_by_the_lookback():
    clocks = Clocks(skew=-ENDED_LOOKBACK + timedelta(seconds=5))  # ARM almost 2 minutes behind
    source = FakeSource()
    poller = poller_for(clocks)
    with watch(poller, "e1") as w:
        source.executions["e1"] = execution("e1", "InProgress")
        await poller.poll_once(source)
        drain([w])
        end(source, "e1", clocks.arm())
        clocks.tick()
        await poller.poll_once(source)
        assert w.queue.get_nowait().lifecycle == "Canceled"
        assert not source.calls["get"]


async def test_a_vanished_execution_is_noticed_at_the_next_active_list():
    """An execution that leaves the active list without an end (its job was deleted) ends its watch
    when the active list is next due; the others keep waiting."""
    clocks = Clocks()
    source = FakeSource(page_size=100)
    poller = poller_for(clocks)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, 300, "InProgress")
        await settle(poller, source, watches, clocks)
        del source.executions["e7"]
        for _ in range(3):  # the active list (3 pages) is due within 3 rounds
            await poller.poll_once(source)
            clocks.tick()
        assert "does not exist" in watches[7].queue.get_nowait().error
        assert source.calls["get"] == 1
        assert all(w.queue.empty() for w in watches if w is not watches[7])


async def test_a_new_watch_between_active_lists_is_first_seen_by_one_get():
    clocks = Clocks()
    source = FakeSource(page_size=100)
    poller = poller_for(clocks)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, 500, "InProgress")
        await settle(poller, source, watches, clocks)
        await poller.poll_once(source)  # the active list was read: next due in 5 rounds
        source.calls.clear()
        source.executions["new"] = execution("new", "InProgress")
        newcomer = stack.enter_context(watch(poller, "new"))
        await poller.poll_once(source)
        assert dict(source.calls) == {"list_ended": 1, "get": 1, "targets": 1}
        assert newcomer.queue.get_nowait().lifecycle == "InProgress"


async def test_many_new_watches_are_first_seen_by_the_active_list():
    clocks = Clocks()
    source = FakeSource(page_size=100)
    poller = poller_for(clocks)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, 500, "InProgress")
        await settle(poller, source, watches, clocks)
        await poller.poll_once(source)
        source.calls.clear()
        for i in range(10):
            source.executions[f"n{i}"] = execution(f"n{i}", "Created")
        newcomers = [stack.enter_context(watch(poller, f"n{i}")) for i in range(10)]
        await poller.poll_once(source)
        assert source.calls["list"] == 6 and not source.calls["get"]  # 6 pages are cheaper than 10 GETs
        assert all(w.queue.get_nowait().lifecycle == "Created" for w in newcomers)


async def test_a_watch_following_running_states_reads_the_active_list_every_round():
    clocks = Clocks()
    source = FakeSource(page_size=100)
    poller = poller_for(clocks)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, 300, "Created")
        follower = stack.enter_context(watch(poller, "e0", follow_running=True))
        await settle(poller, source, [*watches, follower], clocks)
        source.executions["e0"].lifecycle = "InProgress"
        await poller.poll_once(source)
        assert follower.queue.get_nowait().lifecycle == "InProgress"
        assert source.calls["list"] == 3
