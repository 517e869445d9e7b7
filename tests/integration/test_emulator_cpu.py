"""The emulator confines itself and every thread it starts to one CPU unless run with ``--all-cpus``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorProcess

ALLOWED = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
pytestmark = pytest.mark.skipif(len(ALLOWED) < 2, reason="needs CPU affinity and at least two CPUs")


def _thread_cpus(pid: int) -> dict[int, set[int]]:
    """The CPUs each thread of process ``pid`` may run on."""
    return {int(tid): os.sched_getaffinity(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


def test_the_emulator_and_its_engine_threads_run_on_one_allowed_cpu(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "state") as emulator:
        threads = _thread_cpus(emulator.pid)
    cpus = set().union(*threads.values())
    assert len(threads) > 1  # the server's and the engine's threads, not only the main one
    assert len(cpus) == 1 and cpus <= ALLOWED, threads


def test_all_cpus_leaves_the_affinity_alone(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "state", extra_args=["--all-cpus"]) as emulator:
        threads = _thread_cpus(emulator.pid)
    assert all(cpus == ALLOWED for cpus in threads.values()), threads
