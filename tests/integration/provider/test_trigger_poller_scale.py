"""Many real triggers on one agent cost at most two ARM requests per poll interval, and all end.

The emulator runs with a page size of 5, so 30 waiting executions fill 6 pages of the active list:
the old design (the active list every round) would cost 6 requests per interval. The poller reads
the ended list every round and the active list once per as many rounds as it has pages. The
emulator's request counters (``GET /_emulator/counters``) are the truth; every trigger runs its real
``run()`` over the real azure-mgmt-sql async client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.provider.test_trigger_poller import (
    AGENT_LIST,
    EXECUTION_GET,
    TARGETS_LIST,
    trigger_for,
)
from tests.support.emulator import EmulatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PAGE_SIZE = 5
WAITERS = 30
INTERVAL = 0.5
WINDOW = 8.0


@pytest.fixture(name="emulator", scope="module")
def small_pages_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """The emulator with 5 items per list page (what 500 waiters are to ARM's 100)."""
    state = Path(tmp_path_factory.mktemp("emulator-small-pages"))
    with EmulatorProcess(state, token="integration-token", page_size=PAGE_SIZE) as process:
        yield process


def waiting_job(world, index: int) -> str:
    """A one-step job on one target database whose execution waits two minutes (one job each:
    executions of one job on one target would overlap and be Skipped)."""
    from tests.integration.executions_world import fast_options

    group = world.target_group(f"ScaleGroup{index}", [world.database_member(world.databases[0])])
    return world.job(f"ScaleJob{index}", [("Step1", group, "WAITFOR DELAY '00:02:00';", fast_options())])


async def test_many_waiters_cost_at_most_two_requests_per_interval_and_all_get_their_event(world):
    jobs = [waiting_job(world, i) for i in range(WAITERS)]
    executions = [world.start(job).name for job in jobs]
    pages = -(-WAITERS // PAGE_SIZE)
    events: dict[str, dict] = {}

    async def wait(job: str, execution_id: str) -> None:
        trigger = trigger_for(job, execution_id, poll_interval=INTERVAL, progress_interval=None)
        async for event in trigger.run():
            events[execution_id] = event.payload

    tasks = [asyncio.ensure_future(wait(j, e)) for j, e in zip(jobs, executions, strict=True)]
    try:
        await asyncio.sleep(INTERVAL * 6)  # first sight: the active list and 30 target lists (25 a round)
        await asyncio.to_thread(world.emulator.reset_controls)
        began = time.monotonic()
        await asyncio.sleep(WINDOW)
        counts = await asyncio.to_thread(world.emulator.counters)
        elapsed = time.monotonic() - began
        assert not events, f"no execution ended, yet events arrived: {events}"
        rounds = elapsed / INTERVAL + 1  # rounds start at a fixed rate: at most this many began
        lists = counts.get(AGENT_LIST, 0)
        # Every round reads one list; the active list's pages come once every `pages` rounds, one
        # such read may straddle the window's edge.
        assert lists <= 2 * rounds + pages, f"{lists} list requests in {rounds:.1f} rounds: {counts}"
        assert lists >= (elapsed / INTERVAL) / 3, f"the poller fell silent: {counts}"
        assert counts.get(EXECUTION_GET, 0) == 0 and counts.get(TARGETS_LIST, 0) == 0
        old_design = pages * (elapsed / INTERVAL)  # the whole active list every round
        assert lists < old_design / 2

        cancel = world.client.job_executions.cancel
        for job, execution_id in zip(jobs, executions, strict=True):
            await asyncio.to_thread(cancel, world.rg, world.agent_server, world.agent, job, execution_id)
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert sorted(events) == sorted(executions)
    assert {(e["status"], e["lifecycle"]) for e in events.values()} == {("done", "Canceled")}
