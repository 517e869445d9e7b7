"""List filters with nextLink paging, and in-flight executions surviving a kill -9.

Uses its own emulator process (page size 2) so it can be killed without disturbing other tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook
from tests.integration.executions_world import World, fast_options
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(
        tmp_path_factory.mktemp("executions-state"), token="persist-token", page_size=2
    ) as process:
        yield process


@pytest.fixture(scope="module")
def world(emulator_process: EmulatorProcess) -> Iterator[World]:
    with emulator_process.management_client() as client:
        yield World(emulator_process, client, unique_name("rg")).build()


def test_lists_page_with_filters_kept(world: World):
    group = world.target_group("Both", [world.server_member()])
    job = world.job("PagedJob", [("s", group, "SELECT 1", fast_options())])
    other = world.job("OtherJob", [("s", group, "SELECT 1", fast_options())])
    finished = [world.wait(job, world.start(job).name) for _ in range(3)]
    world.wait(other, world.start(other).name)
    running = world.job("SlowJob", [("s", group, "WAITFOR DELAY '00:00:05'", fast_options())])
    active = world.start(running)
    args = (world.rg, world.agent_server, world.agent)
    ops = world.client.job_executions

    assert [e.name for e in ops.list_by_job(*args, job)] == [e.name for e in finished]
    assert len(list(ops.list_by_agent(*args))) == 5
    assert [e.name for e in ops.list_by_agent(*args, is_active=True)] == [active.name]
    assert len(list(ops.list_by_agent(*args, is_active=False))) == 4
    after_first = finished[1].create_time - timedelta(milliseconds=1)
    assert [e.name for e in ops.list_by_job(*args, job, create_time_min=after_first)] == [
        e.name for e in finished[1:]
    ]
    assert [e.name for e in ops.list_by_job(*args, job, end_time_max=finished[0].end_time)] == [
        finished[0].name
    ]
    assert len(list(ops.list_by_job(*args, job, top=2))) == 2
    assert [e.name for e in ops.list_by_job(*args, job, skip=1)] == [e.name for e in finished[1:]]

    with world.emulator.http() as http:
        path = world.agent_path("executions") + "?api-version=2025-01-01&isActive=false"
        page = http.get(path).json()
        assert len(page["value"]) == 2 and "isActive=false" in page["nextLink"]
        second = http.get(page["nextLink"]).json()
        assert len(second["value"]) == 2 and "nextLink" not in second
        bad = http.get(world.agent_path("executions") + "?api-version=2025-01-01&createTimeMin=yesterday")
    assert bad.status_code == 400 and "createTimeMin" in bad.json()["error"]["message"]

    targets = list(world.client.job_target_executions.list_by_job_execution(*args, job, finished[0].name))
    assert len(targets) == 2
    steps = list(
        world.client.job_step_executions.list_by_job_execution(*args, job, finished[0].name, is_active=True)
    )
    assert steps == []
    world.client.job_executions.cancel(*args, running, active.name)


def test_execution_pages_are_read_from_the_store_as_windows(world: World):
    """The store reads one page's executions (``LIMIT``/``OFFSET``) instead of the whole list per page:
    every ``$skip``/``$top`` window, the filters across pages, and executions started while a
    listing is under way (they come after the ones already listed, none twice, none lost)."""
    group = world.target_group("Both", [world.server_member()])
    job = world.job("WindowJob", [("s", group, "SELECT 1", fast_options())])
    args = (world.rg, world.agent_server, world.agent)
    ops = world.client.job_executions
    first = [world.wait(job, world.start(job).name).name for _ in range(3)]

    pages = ops.list_by_job(*args, job).by_page()
    listed = [e.name for e in next(pages)]
    added = [world.wait(job, world.start(job).name).name for _ in range(2)]
    listed += [e.name for page in pages for e in page]
    assert listed == first + added

    for skip in range(6):
        for top in (None, 1, 2, 3, 5):
            window = [e.name for e in ops.list_by_job(*args, job, skip=skip, top=top)]
            assert window == listed[skip:][:top], (skip, top)
    ended_since = ops.get(*args, job, first[1]).end_time
    assert [e.name for e in ops.list_by_job(*args, job, end_time_min=ended_since, top=3)] == listed[1:4]
    targets = world.client.job_target_executions.list_by_job_execution(*args, job, first[0], skip=1)
    assert len(list(targets)) == 1


async def test_the_async_hooks_ended_list_reads_a_window_and_arms_clock(world: World, monkeypatch):
    """The ended list as the poller reads it (the async hook, through the real client's pipeline):
    ``endTimeMin`` and ``endTimeMax`` hold across ``nextLink`` pages (page size 2 here), and the
    pages' ``Date`` header gives ARM's clock (whole seconds; same machine clock here)."""
    group = world.target_group("Window", [world.server_member()])
    job = world.job("EndWindowJob", [("s", group, "SELECT 1", fast_options())])
    args = (world.rg, world.agent_server, world.agent)
    mine = [world.wait(job, world.start(job).name) for _ in range(4)]
    since, until = mine[0].end_time, mine[2].end_time
    monkeypatch.setenv(
        "AIRFLOW_CONN_EJ_WINDOW", world.emulator.connection_json(world.rg, world.agent_server, world.agent)
    )
    async with ElasticJobsAsyncHook("ej_window") as hook:
        assert hook.server_date is None
        pages = [page async for page in hook.execution_pages(end_time_min=since, end_time_max=until)]
        answered = datetime.now(UTC)
        # Whole seconds, refreshed once a second by the emulator's server: up to 2 s behind.
        assert answered - timedelta(seconds=10) <= hook.server_date <= answered
    listed = [e for page in pages for e in page]
    assert len(pages) >= 2
    assert all(since <= e.end_time <= until for e in listed)
    assert {e.name for e in listed} & {e.name for e in mine} == {e.name for e in mine[:3]}
    assert {e.name for e in world.client.job_executions.list_by_agent(*args, end_time_min=since)} >= {
        e.name for e in mine
    }


def test_in_flight_execution_resumes_after_kill_9(world: World):
    group = world.target_group("Both", [world.server_member()])
    options = fast_options(retryAttempts=2, initialRetryIntervalSeconds=1, timeoutSeconds=60)
    job = world.job(
        "CrashJob", [("s", group, "WAITFOR DELAY '00:00:03'", options), ("t", group, "SELECT 1", None)]
    )
    execution = world.start(job)
    world.wait(
        job,
        execution.name,
        until=lambda e: (
            sum(t.lifecycle == "InProgress" for t in world.target_executions(job, execution.name)) == 2
        ),
    )
    queued = world.start(job)  # started just before the crash: must not be lost either

    world.emulator.restart(kill=True)

    with world.emulator.management_client() as client:
        again = World(world.emulator, client, world.rg, world.agent_server, world.target_server, world.agent)
        done = again.wait(job, execution.name, timeout=40)
        assert done.lifecycle == "Succeeded", done.last_message
        first_step = again.target_executions(job, execution.name, "s")
        assert {t.current_attempts for t in first_step} == {2}
        assert [s.name for s in again.step_executions(job, execution.name)] == ["s", "t"]
        assert again.wait(job, queued.name, timeout=40).lifecycle in {
            "Skipped",
            "SucceededWithSkipped",
            "Succeeded",
        }
