"""The emulator's open-file limit: raised when it starts, and named when a database file cannot be opened.

A running batch holds its database's file open, so a JA800 agent's wave of ``WAITFOR`` batches holds
one file per target. Under the soft limit a login shell or service often starts with, the emulator
raises its own limit (``elasticjobs_emulator/open_files.py``); where the hard limit leaves no room,
the targets that cannot open their file fail with a message naming the limit, and the execution
ends. Before either, the execution over more databases than the limit never ended: the attempts
that could not open their file left their targets InProgress.
"""

from __future__ import annotations

import resource
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from elasticjobs_emulator.open_files import WANTED_OPEN_FILES
from tests.integration.executions_world import ADMIN, ADMIN_PASSWORD, World, fast_options
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads /proc/<pid>/limits"),
]

#: More databases than the low limits below, all running at once on a JA800 agent.
DATABASES = 300
WAVE = "WAITFOR DELAY '00:00:01'"  # every batch of the wave holds its file open at the same time


def _open_files_limit(pid: int) -> tuple[int, int]:
    """``(soft, hard)`` open-file limit of process ``pid``."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc/<pid>/limits")


def _run_wave(emulator: EmulatorProcess) -> tuple[str, dict[str, str]]:
    """A JA800 agent's one-step execution over :data:`DATABASES` databases, as the server admin:
    its lifecycle, and one target's last message per lifecycle the targets ended in."""
    with emulator.management_client() as client:
        world = World(emulator, client, unique_name("rg"), databases=()).build(sku="JA800")
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(lambda i: world.create_database(world.target_server, f"Db{i:03d}"), range(DATABASES))
            )
        admin = {"properties": {"username": ADMIN, "password": ADMIN_PASSWORD}}
        client.job_credentials.create_or_update(world.rg, world.agent_server, world.agent, "admin", admin)
        group = world.target_group("All", [world.server_member()])
        job = world.job("Wave", [("s", group, WAVE, fast_options())], step_credential="admin")
        execution = world.wait(job, world.start(job).name, timeout=120)
        targets = world.target_executions(job, execution.name)
        assert len(targets) == DATABASES
        return execution.lifecycle, {t.lifecycle: t.last_message for t in targets}


def test_a_low_soft_limit_is_raised_so_a_ja800_wave_opens_every_file(tmp_path: Path) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with EmulatorProcess(tmp_path / "state", open_files=(256, hard)) as emulator:
        soft, _hard = _open_files_limit(emulator.pid)
        assert soft == (WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES))
        lifecycle, messages = _run_wave(emulator)
    assert (lifecycle, set(messages)) == ("Succeeded", {"Succeeded"}), messages


def test_targets_that_cannot_open_their_file_fail_naming_the_limit_and_the_execution_ends(
    tmp_path: Path,
) -> None:
    with EmulatorProcess(tmp_path / "state", open_files=(256, 256)) as emulator:
        assert _open_files_limit(emulator.pid) == (256, 256)  # nothing to raise it to
        lifecycle, messages = _run_wave(emulator)
        log = emulator.log_text()
    assert lifecycle == "Failed"
    assert {"Succeeded", "Failed"} <= set(messages), messages
    failed = messages["Failed"]
    assert "The emulator could not use the file of database 'Db" in failed, failed
    assert "The emulator may have 256 files open (ulimit -n)" in failed, failed
    assert "Execution engine step failed" not in log  # every attempt ended through the engine
