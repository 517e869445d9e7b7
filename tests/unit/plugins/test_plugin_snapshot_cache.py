"""The api-server's snapshot cache: ARM is read once per execution version, not once per page."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from airflow_elasticjobs.plugins.execution_view import ExecutionSnapshot
from airflow_elasticjobs.plugins.snapshot_cache import SnapshotCache

SNAP = ExecutionSnapshot(
    execution={}, agent={}, active=True, counts={}, steps=[], targets=[], servers=[], version="v1"
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _reader(*snapshots: ExecutionSnapshot) -> tuple[list[int], object]:
    calls: list[int] = []

    def read() -> ExecutionSnapshot:
        calls.append(1)
        return snapshots[min(len(calls), len(snapshots)) - 1]

    return calls, read


def test_active_execution_is_read_again_only_after_the_refresh_interval() -> None:
    clock = Clock()
    cache = SnapshotCache(refresh_seconds=3.0, clock=clock)
    calls, read = _reader(SNAP, replace(SNAP, version="v2"))
    assert cache.get("x", read).version == "v1"
    clock.now = 2.9
    assert cache.get("x", read).version == "v1"
    assert len(calls) == 1
    clock.now = 3.0
    assert cache.get("x", read).version == "v2"
    assert len(calls) == 2


def test_terminal_execution_is_never_read_again() -> None:
    clock = Clock()
    cache = SnapshotCache(refresh_seconds=1.0, clock=clock)
    calls, read = _reader(replace(SNAP, active=False))
    cache.get("x", read)
    clock.now = 1000.0
    cache.get("x", read)
    assert len(calls) == 1


def test_least_recently_used_snapshot_goes_first() -> None:
    cache = SnapshotCache(max_snapshots=2, clock=Clock())
    calls, read = _reader(replace(SNAP, active=False))
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get(key, read)
    assert len(calls) == 4  # a, b, c, then b again (evicted by c); a stayed


def test_failed_read_leaves_nothing_behind_and_propagates() -> None:
    cache = SnapshotCache(clock=Clock())

    def broken() -> ExecutionSnapshot:
        raise RuntimeError("ARM unreachable")

    with pytest.raises(RuntimeError, match="ARM unreachable"):
        cache.get("x", broken)
    calls, read = _reader(SNAP)
    assert cache.get("x", read) is SNAP and len(calls) == 1


def test_concurrent_requests_share_one_read() -> None:
    cache = SnapshotCache()
    calls: list[int] = []

    def slow() -> ExecutionSnapshot:
        calls.append(1)
        time.sleep(0.2)
        return SNAP

    threads = [threading.Thread(target=cache.get, args=("x", slow)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(calls) == 1


def test_bound_is_checked() -> None:
    with pytest.raises(ValueError, match="max_snapshots=0"):
        SnapshotCache(max_snapshots=0)
