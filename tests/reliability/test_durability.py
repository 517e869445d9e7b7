"""Emulator durability (docs/reliability.md): kill -9 of the emulator in the middle of executions.

The rule under test is docs/emulator-engine.md, "Persistence and crash recovery": definitions are
never lost; a target attempt that was running counts as a failed attempt and is retried per the
step's retry policy (or ends Failed when it was the last one); the restarted emulator listens on the
same port, so a task waiting on it reconnects (its polls fail transiently meanwhile) and finishes
without starting a second execution. These tests kill their own emulator, not the session's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.provider.execution_support import (
    executions_of,
    expected_execution_id,
    manual_run_id,
    sql_job,
    unique_logical_date,
)
from tests.reliability.chaos_dag import TASK_ID, ChildDag, wait_until
from tests.reliability.conftest import canary
from tests.support.emulator import EmulatorProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

FAST = {"poll_interval": 0.3, "progress_interval": 1.0, "error_budget": 60.0}
INTERRUPTED = "The attempt was interrupted by a restart of the emulator."


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """This module's own emulator process (it gets killed), with a canary token."""
    with EmulatorProcess(tmp_path_factory.mktemp("durable-emulator"), token=canary("token")) as process:
        yield process


def _definitions(world) -> dict[str, Any]:
    """Every definition under the agent, as the ARM API returns it (executions excluded)."""
    client, args = world.client, (world.rg, world.agent_server, world.agent)
    jobs = {job.name: job.as_dict() for job in client.jobs.list_by_agent(*args)}
    return {
        "agent": client.job_agents.get(*args).as_dict(),
        "credentials": [c.as_dict() for c in client.job_credentials.list_by_agent(*args)],
        "target_groups": [g.as_dict() for g in client.job_target_groups.list_by_agent(*args)],
        "jobs": jobs,
        "steps": {name: [s.as_dict() for s in client.job_steps.list_by_job(*args, name)] for name in jobs},
        "versions": {name: [v.name for v in client.job_versions.list_by_job(*args, name)] for name in jobs},
        "databases": sorted(d.name for d in client.databases.list_by_server(world.rg, world.target_server)),
    }


def _running(world, job: str, execution_id: str) -> bool:
    return world.get(job, execution_id).lifecycle not in ("Created", "Succeeded")


def test_kill_9_mid_execution_loses_no_definition_and_retries_the_interrupted_attempts(world):
    """Two executions in flight at the kill: the one whose step allows a retry re-runs its targets and
    succeeds on attempt 2; the one with no retry left ends Failed saying the restart interrupted it.
    Every definition reads back identical."""
    retried = sql_job(world, "RetriedJob", "WAITFOR DELAY '00:00:03';", timeoutSeconds=60, retryAttempts=1)
    last = sql_job(world, "LastAttemptJob", "WAITFOR DELAY '00:00:03';", timeoutSeconds=60, retryAttempts=0)
    before = _definitions(world)
    first, second = world.start(retried), world.start(last)
    wait_until(
        lambda: _running(world, retried, first.name) and _running(world, last, second.name), 20, "both to run"
    )
    wait_until(
        lambda: all(
            t.lifecycle == "InProgress"
            for t in world.target_executions(retried, first.name)
            if t.target.database_name
        ),
        20,
        "the attempts to run",
    )

    world.emulator.restart(kill=True)

    assert _definitions(world) == before
    done = world.wait(retried, first.name, timeout=30)
    assert done.lifecycle == "Succeeded"
    targets = [t for t in world.target_executions(retried, first.name) if t.target.database_name]
    assert sorted((t.lifecycle, t.current_attempts) for t in targets) == [("Succeeded", 2)] * 2
    failed = world.wait(last, second.name, timeout=30)
    assert failed.lifecycle == "Failed"
    targets = [t for t in world.target_executions(last, second.name) if t.target.database_name]
    assert [t.lifecycle for t in targets] == ["Failed"] * 2
    assert all(INTERRUPTED in t.last_message for t in targets), [t.last_message for t in targets]
    assert [e.name for e in executions_of(world, retried)] == [first.name]


def test_waiting_tasks_reconnect_after_kill_9_without_a_second_start(world, tmp_path):
    """A polling task and a deferred task wait while the emulator is killed and restarted on the same
    port: both reconnect, both succeed, and each job has exactly its one execution."""
    port = world.emulator.port
    jobs = {
        deferrable: sql_job(
            world,
            f"DurableJob{int(deferrable)}",
            "WAITFOR DELAY '00:00:03';",
            timeoutSeconds=60,
            retryAttempts=1,
        )
        for deferrable in (False, True)
    }
    dates = {deferrable: unique_logical_date() for deferrable in jobs}
    # One DAG id per child: two processes registering the same new DAG at once race on its row.
    dag_ids = {deferrable: f"durable_wait_{int(deferrable)}" for deferrable in jobs}
    children = {
        deferrable: ChildDag(
            tmp_path / f"child{int(deferrable)}.log",
            dag_ids[deferrable],
            dates[deferrable],
            job_name=job,
            deferrable=deferrable,
            **FAST,
        )
        for deferrable, job in jobs.items()
    }
    try:

        def both_running() -> bool:
            for deferrable, child in children.items():
                child.assert_alive()
                if not [e for e in executions_of(world, jobs[deferrable]) if e.lifecycle != "Created"]:
                    return False
            return True

        wait_until(both_running, 60, "both tasks' executions to run")
        world.emulator.restart(kill=True)
        assert world.emulator.port == port
        states = {deferrable: child.wait(timeout=60) for deferrable, child in children.items()}
    finally:
        for child in children.values():
            child.close()

    assert states == {False: "success", True: "success"}, {d: c.output()[-2000:] for d, c in children.items()}
    # Whether a poll fails during the restart depends on how fast the emulator comes back (the SDK's
    # own retries may hide it); when the outage surfaces it must be reported for what it is, never
    # as a TLS failure (aiohttp puts "ssl:<SSLContext>" in every connect error; the wording itself
    # is pinned by tests/unit/provider/test_describe_error.py).
    outputs = "".join(child.output() for child in children.values())
    assert "TLS verification failed" not in outputs
    for deferrable, job in jobs.items():
        expected = expected_execution_id(
            world, job, dag_ids[deferrable], manual_run_id(dates[deferrable]), TASK_ID, 0
        )
        assert [(e.name, e.lifecycle) for e in executions_of(world, job)] == [(expected, "Succeeded")]
