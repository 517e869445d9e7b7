"""The shared per-agent poller: one list per interval for all watches, details only on change."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from airflow_elasticjobs.triggers.poller import ACTIVE_MIN_ROUNDS, AgentPoller
from airflow_elasticjobs.triggers.registry import AgentKey, shared_poller
from tests.unit.triggers.fakes import FakeSource, Ticks, execution, settle, target

KEY = AgentKey("conn", "https://127.0.0.1:1", "sub", "rg", "srv", "agent")


def watch(poller: AgentPoller, execution_id: str, **kw):
    options = {"poll_interval": 0.01, "progress_interval": None, "error_budget": 60} | kw
    return poller.watching("Job1", execution_id, **options)


def watch_many(stack, poller: AgentPoller, source: FakeSource, count: int, lifecycle: str, **kw):
    """``count`` executions e0, e1, … in ``lifecycle``, each watched for the life of ``stack``."""
    for i in range(count):
        source.executions[f"e{i}"] = execution(f"e{i}", lifecycle)
    return [stack.enter_context(watch(poller, f"e{i}", **kw)) for i in range(count)]


def drain(watches) -> None:
    for w in watches:
        while not w.queue.empty():
            w.queue.get_nowait()


def stepped(source: FakeSource, ticks: Ticks, **kw) -> AgentPoller:
    """A poller whose real loop runs one round per ``ticks.rounds()`` over ``source``."""
    return AgentPoller(KEY, source.open, sleep=ticks.sleep, **kw)


async def test_a_round_costs_one_list_for_many_watches(ticks):
    """The first round (a hook not yet answered) reads the ended list only; the second the active
    list too, which first sees every watch (the details pass after it announces them with their
    targets); then the ended list every round and the active list every ACTIVE_MIN_ROUNDS, which
    notices a running state change."""
    source = FakeSource()
    poller = stepped(source, ticks, details_per_poll=20)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, 20, "InProgress")
        await ticks.rounds(3)  # the active list in the 2nd round, the details pass in the 3rd
        assert dict(source.calls) == {"list_ended": 3, "list": 1, "targets": 20}  # first sight of each
        first = [w.queue.get_nowait() for w in watches]
        assert {o.lifecycle for o in first} == {"InProgress"}

        source.calls.clear()
        await ticks.rounds()
        assert dict(source.calls) == {"list_ended": 1}  # nothing changed: no details, no events
        assert all(w.queue.empty() for w in watches)

        source.executions["e3"].lifecycle = "WaitingForRetry"
        source.calls.clear()
        await ticks.rounds(ACTIVE_MIN_ROUNDS - 1)
        assert dict(source.calls) == {"list_ended": 2, "list": 1, "targets": 1}
        assert watches[3].queue.get_nowait().lifecycle == "WaitingForRetry"


async def test_ended_executions_are_found_by_one_list_not_one_get_each(ticks):
    source = FakeSource()
    for i in range(30):
        source.executions[f"e{i}"] = execution(f"e{i}", "InProgress")
    now = [datetime(2026, 1, 1, 12, 0, tzinfo=UTC)]
    poller = stepped(source, ticks, wall_clock=lambda: now[0], details_per_poll=30)
    with contextlib.ExitStack() as stack:
        watches = [stack.enter_context(watch(poller, f"E{i}")) for i in range(30)]  # any case
        await ticks.rounds(3)
        drain(watches)
        ended_at = now[0] + timedelta(seconds=5)
        for i in range(25):
            source.executions[f"e{i}"] = execution(
                f"e{i}", "Succeeded", "Job execution succeeded.", end_time=ended_at
            )
        now[0] += timedelta(seconds=10)
        source.calls.clear()
        await ticks.rounds()
        assert dict(source.calls) == {"list_ended": 1}  # no GET, no target list
        done = [w.queue.get_nowait() for w in watches[:25]]
        assert {(o.lifecycle, o.last_message) for o in done} == {("Succeeded", "Job execution succeeded.")}
        assert all(w.queue.empty() for w in watches[25:])


async def test_execution_first_seen_ended_is_fetched_by_id(ticks):
    """Not in the active list and ended before the ended list's reach: one GET, the round after."""
    source = FakeSource()
    source.executions["e1"] = execution("e1", "Succeeded", "Job execution succeeded.")
    poller = stepped(source, ticks)
    with watch(poller, "e1") as w:
        await ticks.rounds(3)
        # The active list of the 2nd round does not list it; while unseen, the 3rd reads it again.
        assert dict(source.calls) == {"list_ended": 3, "list": 2, "get": 1}  # terminal: no target list
        observation = w.queue.get_nowait()
        assert (observation.lifecycle, observation.last_message) == ("Succeeded", "Job execution succeeded.")


async def test_missing_execution_is_an_error_naming_the_fix(ticks):
    source = FakeSource()
    poller = stepped(source, ticks)
    with watch(poller, "nope") as w:
        await ticks.rounds(3)
        error = w.queue.get_nowait().error
    assert "nope" in error and "does not exist" in error and "check job_name" in error


async def test_progress_refresh_is_rate_limited(ticks):
    now = [0.0]
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    source.targets["e1"] = [target("db1", "InProgress")]
    poller = stepped(source, ticks, clock=lambda: now[0])
    with watch(poller, "e1", progress_interval=60) as w:
        await ticks.rounds(3)
        assert w.queue.get_nowait().targets[0].lifecycle == "InProgress"
        source.targets["e1"] = [target("db1", "Succeeded")]
        now[0] = 30
        await ticks.rounds()
        assert w.queue.empty() and source.calls["targets"] == 1
        now[0] = 61
        await ticks.rounds()
        assert w.queue.get_nowait().targets[0].lifecycle == "Succeeded"


async def test_default_fetches_details_on_state_changes_only(ticks):
    """Without a progress_interval a long steady wait costs the ended list each round, the active
    list every ACTIVE_MIN_ROUNDS, and nothing else."""
    now = [0.0]
    source = FakeSource()
    poller = stepped(source, ticks, clock=lambda: now[0], details_per_poll=100)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, 100, "InProgress")
        await ticks.rounds(3)
        assert source.calls["targets"] == 100  # first sight of each execution
        drain(watches)
        source.calls.clear()
        for _ in range(51):
            now[0] += 3600  # however long it runs, nothing changed: nothing to fetch
            await ticks.rounds()
        assert dict(source.calls) == {"list_ended": 51, "list": 51 // ACTIVE_MIN_ROUNDS}
        assert all(w.queue.empty() for w in watches)
        source.executions["e7"].last_message = "Step 2 started."
        await ticks.rounds(ACTIVE_MIN_ROUNDS)
        assert source.calls["targets"] == 1 and watches[7].queue.get_nowait().targets is not None


async def test_only_opted_in_watches_get_timed_refreshes(ticks):
    now = [0.0]
    source = FakeSource()
    poller = stepped(source, ticks, clock=lambda: now[0], details_per_poll=10)
    with contextlib.ExitStack() as stack:
        quiet = watch_many(stack, poller, source, 5, "InProgress")
        source.executions["chatty"] = execution("chatty", "InProgress")
        chatty = stack.enter_context(watch(poller, "chatty", progress_interval=10))
        await ticks.rounds(3)
        drain([*quiet, chatty])
        source.calls.clear()
        for _ in range(6):
            now[0] += 10
            await ticks.rounds()
        assert source.calls["targets"] == 6  # one per progress_interval, all for the opted-in watch
        assert chatty.queue.qsize() == 6 and all(w.queue.empty() for w in quiet)


@pytest.mark.parametrize("waiting", [10, 100, 1000])
async def test_requests_per_round_do_not_grow_with_waiters(ticks, waiting):
    """Steady state with due progress refreshes: the lists, plus at most one refresh per progress_interval."""
    now = [0.0]
    source = FakeSource()
    poller = stepped(source, ticks, clock=lambda: now[0], details_per_poll=5)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, waiting, "InProgress", progress_interval=2)
        await ticks.rounds(2)  # the active list in the 2nd round sees them all
        for _ in range(-(-waiting // 5)):  # first sight: 5 target lists per round, in turn
            await ticks.rounds()
            now[0] += 1
        assert source.calls["targets"] == waiting
        drain(watches)
        source.calls.clear()
        rounds = 20
        for _ in range(rounds):
            await ticks.rounds()
            now[0] += 1  # poll every second, progress due every 2 s for every waiter
        pages = -(-waiting // 100)
        assert source.calls["list_ended"] == rounds
        assert source.calls["list"] <= pages * -(-rounds // max(pages, ACTIVE_MIN_ROUNDS))
        assert source.calls["targets"] == rounds // 2  # one refresh per progress_interval per agent
        assert not source.calls["get"]
        refreshed = [w for w in watches if not w.queue.empty()]
        assert len(refreshed) == min(waiting, rounds // 2)  # in turn: stalest first, none twice


async def test_changes_beyond_the_budget_are_announced_now_and_detailed_in_turn(ticks):
    source = FakeSource()
    poller = stepped(source, ticks, details_per_poll=5)
    with contextlib.ExitStack() as stack:
        watches = watch_many(stack, poller, source, 12, "Created")
        await ticks.rounds(3)
        assert source.calls["targets"] == 5
        first = [w.queue.get_nowait() for w in watches]
        assert all(o.lifecycle == "Created" for o in first)  # every waiter hears the state at once
        assert [o.targets is not None for o in first] == [True] * 5 + [False] * 7
        await ticks.rounds(3)
        assert source.calls["targets"] == 12  # the rest, 5 per round, oldest change first
        later = [w.queue.get_nowait() for w in watches[5:]]
        assert all(o.targets is not None and o.lifecycle == "Created" for o in later)
        await ticks.rounds()
        assert source.calls["targets"] == 12 and all(w.queue.empty() for w in watches)


async def test_unknown_lifecycle_counts_as_active_and_is_logged_once(ticks, caplog):
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    poller = stepped(source, ticks)
    with watch(poller, "e1") as w, caplog.at_level("WARNING", logger="airflow_elasticjobs.execution_state"):
        await ticks.rounds(3)
        source.executions["e1"] = execution("e1", "PausedForPoller")  # a lifecycle a later API adds
        await ticks.rounds(ACTIVE_MIN_ROUNDS + 1)  # seen by the active list, announced the round after
        source.executions["e1"].last_message = "Still paused."
        await ticks.rounds(ACTIVE_MIN_ROUNDS + 1)
        source.executions["e1"] = execution("e1", "Succeeded", end_time=datetime.now(UTC))
        await ticks.rounds()
        seen = [w.queue.get_nowait() for _ in range(w.queue.qsize())]
    assert [o.lifecycle for o in seen] == ["InProgress", "InProgress", "InProgress", "Succeeded"]
    assert not any(o.error for o in seen)
    warnings = [r for r in caplog.records if "PausedForPoller" in r.getMessage()]
    assert len(warnings) == 1 and "treating it as still active" in warnings[0].getMessage()


class HangingTargets(FakeSource):
    """A source whose target lists of some executions do not answer until released."""

    def __init__(self, hanging: set[str]) -> None:
        super().__init__()
        self.hanging = hanging
        self.released = asyncio.Event()
        self.asked: list[str] = []

    async def list_target_executions(self, job_name: str, execution_id: str):
        self.asked.append(execution_id)
        if execution_id in self.hanging:
            await self.released.wait()
        return await super().list_target_executions(job_name, execution_id)


async def test_a_slow_first_sight_does_not_delay_another_waiters_end():
    """Target lists run beside the state rounds: one that hangs (a burst of first sights on a slow
    server) holds back neither the next rounds nor the terminal state they find for another watch."""
    source = HangingTargets({"new"})
    source.executions |= {"new": execution("new", "InProgress"), "old": execution("old", "InProgress")}
    poller = AgentPoller(KEY, source.open)
    with watch(poller, "old") as old:
        assert (await asyncio.wait_for(old.next(), 5)).lifecycle == "InProgress"
        with watch(poller, "new") as new:
            while "new" not in source.asked:  # the new watch's first target list is under way
                await asyncio.sleep(0.01)
            source.executions["old"] = execution("old", "Canceled", end_time=datetime.now(UTC))
            ended = await asyncio.wait_for(old.next(), 5)
            assert (ended.lifecycle, new.queue.empty()) == ("Canceled", True)
            source.released.set()
            first = await asyncio.wait_for(new.next(), 5)
    assert (first.lifecycle, first.targets) == ("InProgress", ())


class SlowActiveList(FakeSource):
    """A source whose active list, once ``slow`` is set, does not answer until ``released``
    (a list of many pages that takes several intervals to read)."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = False
        self.reading = asyncio.Event()
        self.released = asyncio.Event()

    async def execution_pages(self, *, is_active=None, end_time_min=None, end_time_max=None):
        if is_active and self.slow:
            self.reading.set()
            await self.released.wait()
        pages = super().execution_pages(
            is_active=is_active, end_time_min=end_time_min, end_time_max=end_time_max
        )
        async for page in pages:
            yield page


async def test_a_slow_active_list_does_not_delay_an_end_the_ended_list_finds():
    """The active list is read beside the state rounds: while one read of it hangs, the ended list is
    still read every interval and delivers an end, and no second active read starts meanwhile."""
    source = SlowActiveList()
    source.executions |= {"e1": execution("e1", "InProgress"), "e2": execution("e2", "InProgress")}
    poller = AgentPoller(KEY, source.open)
    with watch(poller, "e1") as w1, watch(poller, "e2") as w2:
        assert (await asyncio.wait_for(w1.next(), 5)).lifecycle == "InProgress"
        assert (await asyncio.wait_for(w2.next(), 5)).lifecycle == "InProgress"
        source.slow = True
        await asyncio.wait_for(source.reading.wait(), 5)  # an active-list read is under way
        source.executions["e1"] = execution("e1", "Succeeded", end_time=datetime.now(UTC))
        ended = await asyncio.wait_for(w1.next(), 5)
        assert ended.lifecycle == "Succeeded"
        reads, ended_lists = source.calls["list"], source.calls["list_ended"]
        async with asyncio.timeout(5):
            while source.calls["list_ended"] < ended_lists + 3:  # more rounds, no second active read
                await asyncio.sleep(0.01)
        assert source.calls["list"] == reads
        source.released.set()
        source.executions["e2"].lifecycle = "WaitingForRetry"
        assert (await asyncio.wait_for(w2.next(), 5)).lifecycle == "WaitingForRetry"


async def test_a_state_that_changed_while_its_targets_were_read_is_detailed_again(ticks):
    source = HangingTargets({"e1"})
    source.executions["e1"] = execution("e1", "Created")
    poller = stepped(source, ticks)
    with watch(poller, "e1", follow_running=True) as w:  # the active list every round
        await ticks.rounds(3)
        assert source.asked == ["e1"]  # the target list for Created hangs
        source.executions["e1"] = execution("e1", "InProgress")
        await ticks.rounds()
        source.released.set()
        await settle()
        assert w.queue.empty()  # targets read for Created are not announced as InProgress's
        await ticks.rounds()
        assert w.queue.get_nowait().lifecycle == "InProgress" and source.calls["targets"] == 2


async def test_shared_poller_is_one_per_agent_and_loop_and_goes_away_when_idle():
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    first = shared_poller(KEY, source.open)
    assert shared_poller(KEY, source.open) is first
    other = shared_poller(AgentKey("conn", "https://127.0.0.1:1", "sub", "rg", "srv", "agent2"), source.open)
    assert other is not first
    with watch(first, "e1") as w:
        await asyncio.wait_for(w.next(), 5)
    for _ in range(100):
        if shared_poller(KEY, source.open) is not first:
            break
        await asyncio.sleep(0.01)
    assert shared_poller(KEY, source.open) is not first


def test_pollers_are_per_event_loop():
    source = FakeSource()

    async def get():
        return shared_poller(KEY, source.open)

    assert asyncio.run(get()) is not asyncio.run(get())


pytestmark = pytest.mark.timeout(30)
