"""A kill -9 in the middle of a fan-out wave leaves a consistent store, and recovery finishes the job.

Target lifecycle saves from concurrent attempts are group-committed (one transaction per batch,
docs/emulator-engine.md); this checks that nothing the API had shown before the crash is lost and
that no row is half-way (terminal without endTime, active flag out of step with its lifecycle, a
step ended while its targets are not). Own emulator process, capacity forced to 4 so one step
runs in several waves.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest

from elasticjobs_emulator.engine.capacity import CAPACITY_ENV
from tests.integration.executions_world import World, fast_options
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration

DATABASES = tuple(f"WaveDb{i:02d}" for i in range(16))
ACTIVE = {"Created", "InProgress", "WaitingForRetry", "WaitingForChildJobExecutions"}


@pytest.fixture
def world(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv(CAPACITY_ENV, "4")  # kept for the restart too
    process = EmulatorProcess(tmp_path_factory.mktemp("midwave-state"), token="midwave-token")
    with process, process.management_client() as client:
        yield World(process, client, unique_name("rg"), databases=DATABASES).build()


def stored_executions(emulator: EmulatorProcess) -> list[tuple[str, int, dict]]:
    """(kind, active flag, document) of every execution row, read from the store file itself."""
    conn = sqlite3.connect(f"file:{emulator.state_dir / 'emulator.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT kind, active, doc FROM executions ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [(kind, active, json.loads(doc)) for kind, active, doc in rows]


def test_kill_9_mid_wave_keeps_every_shown_lifecycle_and_recovery_finishes(world: World):
    group = world.target_group("Wave", [world.server_member()])
    job = world.job("WaveJob", [("s", group, "WAITFOR DELAY '00:00:00.400'", fast_options(retryAttempts=1))])
    execution = world.start(job)
    shown = world.wait(
        job,
        execution.name,
        timeout=60,
        until=lambda e: sum(t.lifecycle == "Succeeded" for t in world.target_executions(job, e.name)) >= 4,
    )
    succeeded_before = {
        t.name for t in world.target_executions(job, shown.name) if t.lifecycle == "Succeeded"
    }

    world.emulator.stop(kill=True)

    rows = stored_executions(world.emulator)
    targets = [doc for kind, _, doc in rows if kind == "target"]
    assert len(targets) == len(DATABASES)
    for kind, active, doc in rows:
        props = doc["properties"]
        assert bool(active) == (props["lifecycle"] in ACTIVE), (kind, props)
        assert ("endTime" in props) == (props["lifecycle"] not in ACTIVE), (kind, props)
    stored = {doc["name"]: doc["properties"]["lifecycle"] for doc in targets}
    assert all(stored[name] == "Succeeded" for name in succeeded_before), stored
    assert any(lifecycle in ACTIVE for lifecycle in stored.values()), "the kill came after the last wave"
    [step] = [doc for kind, _, doc in rows if kind == "step"]
    assert step["properties"]["lifecycle"] in ACTIVE

    world.emulator.start()
    with world.emulator.management_client() as client:
        again = World(world.emulator, client, world.rg, world.agent_server, world.target_server, world.agent)
        done = again.wait(job, execution.name, timeout=90)
        assert done.lifecycle == "Succeeded", done.last_message
        after = again.target_executions(job, execution.name)
        assert {t.lifecycle for t in after} == {"Succeeded"} and len(after) == len(DATABASES)
        assert all(t.current_attempts == 1 for t in after if t.name in succeeded_before)
