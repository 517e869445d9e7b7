"""Every execution lifecycle reached through the real SDK: retries, timeouts, cancel, overlap.

Transient states (InProgress, WaitingForChildJobExecutions, WaitingForRetry) are observed by
polling while a target runs ``WAITFOR DELAY`` or waits between attempts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.integration.executions_world import TUTORIAL_SQL, World, fast_options
from tests.support.emulator import unique_name

pytestmark = pytest.mark.integration

FLAKY_SQL = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('{table}')) "
    "BEGIN CREATE TABLE [dbo].[{table}]([Id] [int] NOT NULL); THROW 50000, 'first attempt fails', 1; END"
)


@pytest.fixture(scope="module")
def world(emulator) -> Iterator[World]:
    with emulator.management_client() as client:
        yield World(emulator, client, unique_name("rg")).build()


@pytest.fixture(scope="module")
def groups(world: World) -> dict[str, str]:
    return {
        "db1": world.target_group("Db1", [world.database_member("TargetDb1")]),
        "both": world.target_group("Both", [world.server_member()]),
    }


def _name() -> str:
    return unique_name("job")


def _targets_in(world: World, job: str, execution_id: str, lifecycle: str):
    return [t for t in world.target_executions(job, execution_id) if t.lifecycle == lifecycle]


def test_put_is_idempotent_and_returns_201_then_200(world: World, groups):
    job = world.job(_name(), [("s", groups["db1"], "SELECT 1", fast_options())])
    execution_id = str(uuid.uuid4())
    path = world.agent_path("jobs", job, "executions", execution_id) + "?api-version=2025-01-01"
    with world.emulator.http() as http:
        first = http.put(path)
        second = http.put(path)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.headers["Location"].endswith(f"/executions/{execution_id}?api-version=2025-01-01")
    body = first.json()
    assert body["properties"]["lifecycle"] == "Created" and body["properties"]["currentAttempts"] == 0
    assert "startTime" not in body["properties"] and "endTime" not in body["properties"]
    assert body["properties"]["lastMessage"] == "Job execution created."
    assert all(value is not None for value in body["properties"].values())
    assert "_engine" not in body
    again = world.client.job_executions.begin_create_or_update(
        world.rg, world.agent_server, world.agent, job, execution_id
    ).result()
    assert again.name == execution_id
    runs = list(world.client.job_executions.list_by_job(world.rg, world.agent_server, world.agent, job))
    assert [r.name for r in runs] == [execution_id]


def test_start_answers_created_with_a_location(world: World, groups):
    job = world.job(_name(), [("s", groups["db1"], "SELECT 1", fast_options())])
    with world.emulator.http() as http:
        response = http.post(world.agent_path("jobs", job, "start") + "?api-version=2025-01-01")
    assert response.status_code == 200
    body = response.json()
    assert body["properties"]["lifecycle"] == "Created" and body["properties"]["currentAttempts"] == 0
    assert response.headers["Location"].split("?")[0].endswith(body["id"])
    assert world.wait(job, body["name"]).lifecycle == "Succeeded"


def test_running_states_then_success(world: World, groups):
    job = world.job(_name(), [("s", groups["db1"], "WAITFOR DELAY '00:00:02'", fast_options())])
    execution = world.start(job)
    running = world.wait(job, execution.name, until=lambda e: e.lifecycle == "WaitingForChildJobExecutions")
    assert running.start_time is not None and running.end_time is None
    [target] = world.target_executions(job, execution.name)
    assert target.lifecycle == "InProgress" and target.current_attempts == 1
    assert target.current_attempt_start_time is not None
    [step] = world.step_executions(job, execution.name)
    assert step.lifecycle == "WaitingForChildJobExecutions"
    assert world.wait(job, execution.name).lifecycle == "Succeeded"


def test_retry_after_a_failed_attempt_shows_waiting_for_retry(world: World, groups):
    options = fast_options(retryAttempts=3, initialRetryIntervalSeconds=1)
    job = world.job(
        _name(), [("s", groups["db1"], FLAKY_SQL.format(table=f"M{uuid.uuid4().hex[:8]}"), options)]
    )
    execution = world.start(job)
    deadline = time.monotonic() + 20
    while not (waiting := _targets_in(world, job, execution.name, "WaitingForRetry")):
        assert time.monotonic() < deadline, "never saw WaitingForRetry"
        time.sleep(0.05)
    assert "first attempt fails" in waiting[0].last_message and waiting[0].current_attempts == 1
    assert world.wait(job, execution.name).lifecycle == "Succeeded"
    [target] = world.target_executions(job, execution.name)
    assert target.lifecycle == "Succeeded" and target.current_attempts == 2


def test_failing_step_exhausts_attempts_and_stops_the_job(world: World, groups):
    options = fast_options(retryAttempts=2, initialRetryIntervalSeconds=1)
    failing = ("fails", groups["db1"], "THROW 50001, 'always broken', 1;", options)
    never = ("never", groups["db1"], TUTORIAL_SQL.format(table="NeverTable"), fast_options())
    job = world.job(_name(), [failing, never])
    execution = world.start(job)
    done = world.wait(job, execution.name)
    assert done.lifecycle == "Failed" and done.provisioning_state == "Failed"
    [target] = world.target_executions(job, execution.name)
    assert target.lifecycle == "Failed" and target.current_attempts == 3
    assert "always broken" in target.last_message and "Msg 50001" in target.last_message
    assert [s.name for s in world.step_executions(job, execution.name)] == ["fails"]
    assert "NeverTable" not in world.tables("TargetDb1")


def test_last_attempt_timing_out_is_timed_out(world: World, groups):
    options = fast_options(timeoutSeconds=1, retryAttempts=1, initialRetryIntervalSeconds=1)
    job = world.job(_name(), [("s", groups["db1"], "WAITFOR DELAY '00:00:20'", options)])
    started = time.monotonic()
    execution = world.start(job)
    done = world.wait(job, execution.name)
    assert done.lifecycle == "TimedOut" and time.monotonic() - started < 15
    [target] = world.target_executions(job, execution.name)
    assert target.lifecycle == "TimedOut" and target.current_attempts == 2
    assert target.last_message.startswith("Step 1 timed out on target")


def test_cancel_stops_running_targets_and_is_idempotent(world: World, groups):
    job = world.job(
        _name(), [("s", groups["both"], "WAITFOR DELAY '00:00:30'", fast_options(timeoutSeconds=60))]
    )
    execution = world.start(job)
    world.wait(
        job, execution.name, until=lambda e: len(_targets_in(world, job, execution.name, "InProgress")) == 2
    )
    ops = world.client.job_executions
    started = time.monotonic()
    ops.cancel(world.rg, world.agent_server, world.agent, job, execution.name)
    ops.cancel(world.rg, world.agent_server, world.agent, job, execution.name)
    done = world.wait(job, execution.name, timeout=10)
    assert done.lifecycle == "Canceled" and time.monotonic() - started < 10
    assert {t.lifecycle for t in world.target_executions(job, execution.name)} == {"Canceled"}
    assert [s.lifecycle for s in world.step_executions(job, execution.name)] == ["Canceled"]
    ops.cancel(world.rg, world.agent_server, world.agent, job, execution.name)


def test_overlapping_execution_is_skipped_or_succeeded_with_skipped(world: World, groups):
    switchable = world.target_group(unique_name("g"), [world.database_member("TargetDb1")])
    job = world.job(_name(), [("s", switchable, "WAITFOR DELAY '00:00:03'", fast_options())])
    first = world.start(job)
    world.wait(job, first.name, until=lambda e: bool(_targets_in(world, job, first.name, "InProgress")))
    skipped = world.wait(job, world.start(job).name)
    assert skipped.lifecycle == "Skipped"
    [target] = world.target_executions(job, skipped.name)
    assert target.lifecycle == "Skipped" and "still running on this target" in target.last_message

    world.target_group(switchable.rsplit("/", 1)[-1], [world.server_member()])
    partly = world.wait(job, world.start(job).name)
    assert partly.lifecycle == "SucceededWithSkipped"
    lifecycles = {t.target.database_name: t.lifecycle for t in world.target_executions(job, partly.name)}
    assert lifecycles == {"TargetDb1": "Skipped", "TargetDb2": "Succeeded"}
    assert world.wait(job, first.name).lifecycle == "Succeeded"


def test_another_jobs_execution_id_is_not_found(world: World, groups):
    job_a = world.job(_name(), [("s", groups["db1"], "SELECT 1", fast_options())])
    job_b = world.job(_name(), [("s", groups["db1"], "SELECT 1", fast_options())])
    execution = world.start(job_a)
    with pytest.raises(ResourceNotFoundError) as caught:
        world.get(job_b, execution.name)
    assert caught.value.error.code == "ResourceNotFound"
    ops = world.client.job_executions
    with pytest.raises(ResourceNotFoundError):
        ops.cancel(world.rg, world.agent_server, world.agent, job_b, execution.name)
    with pytest.raises(ResourceNotFoundError):
        world.step_executions(job_b, execution.name)
    with pytest.raises(ResourceNotFoundError) as missing_job:
        world.get("NoSuchJob", execution.name)
    assert "NoSuchJob" in missing_job.value.error.message


def test_recurring_schedule_fires_on_time(world: World, groups):
    start = time.time() + 2
    schedule = {
        "enabled": True,
        "type": "Recurring",
        "interval": "PT1S",
        "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(start) + 1)),
    }
    job = world.job(_name(), [("s", groups["db1"], "SELECT 1", fast_options())], schedule=schedule)
    ops = world.client.job_executions
    try:
        deadline = time.monotonic() + 20
        while len(runs := list(ops.list_by_job(world.rg, world.agent_server, world.agent, job))) < 2:
            assert time.monotonic() < deadline, f"schedule fired {len(runs)} times"
            time.sleep(0.2)
    finally:
        disabled = {"properties": {"schedule": {**schedule, "enabled": False}}}
        world.client.jobs.create_or_update(world.rg, world.agent_server, world.agent, job, disabled)
    first_created = min(r.create_time.timestamp() for r in runs)
    assert first_created >= int(start) + 1 - 0.01


def test_once_schedule_fires_exactly_once_at_its_start_time(world: World, groups):
    start = int(time.time()) + 2
    schedule = {
        "enabled": True,
        "type": "Once",
        "startTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
    }
    job = world.job(_name(), [("s", groups["db1"], "SELECT 1", fast_options())], schedule=schedule)
    ops = world.client.job_executions
    args = (world.rg, world.agent_server, world.agent, job)
    deadline = time.monotonic() + 15
    while not (runs := list(ops.list_by_job(*args))):
        assert time.monotonic() < deadline, "the Once schedule never fired"
        time.sleep(0.2)
    assert runs[0].create_time.timestamp() >= start - 0.01
    time.sleep(2.5)  # a few scheduler ticks later: still one execution
    assert len(list(ops.list_by_job(*args))) == 1
