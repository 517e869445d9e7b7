"""Group commit of execution saves: nothing returns before it is written, nothing is lost or reordered."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.group_commit import GroupCommit
from elasticjobs_emulator.store import Store
from tests.unit.engine.fakes import JOB, define_job


def test_every_commit_returns_after_its_item_is_written_and_batches_form_under_load():
    written: list[int] = []
    batches: list[int] = []
    lock = threading.Lock()
    gate = threading.Event()

    def write(items: list[int]) -> None:
        gate.wait(5)  # hold the first batch so later callers pile up behind it
        with lock:
            batches.append(len(items))
            written.extend(items)

    commits = GroupCommit(write)
    seen_at_return: dict[int, bool] = {}

    def commit(item: int) -> None:
        commits.commit(item)
        with lock:
            seen_at_return[item] = item in written

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(commit, i) for i in range(64)]
        threading.Timer(0.2, gate.set).start()
        for future in futures:
            future.result(timeout=30)

    assert sorted(written) == list(range(64))
    assert all(seen_at_return.values()) and len(seen_at_return) == 64
    assert len(batches) < 64  # callers that arrived while a batch was written shared a transaction


def test_a_later_commit_of_one_thread_never_lands_before_an_earlier_one():
    written: list[tuple[int, int]] = []
    commits: GroupCommit[tuple[int, int]] = GroupCommit(written.extend)

    def run(thread: int) -> None:
        for step in range(50):
            commits.commit((thread, step))

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(run, t) for t in range(8)]:
            future.result(timeout=30)

    for thread in range(8):
        assert [s for t, s in written if t == thread] == list(range(50))


def test_a_failed_write_raises_in_every_caller_of_the_batch_and_later_batches_still_commit():
    calls: list[list[str]] = []

    def write(items: list[str]) -> None:
        calls.append(list(items))
        if "bad" in items:
            raise OSError("disk full")

    commits = GroupCommit(write)
    with pytest.raises(OSError, match="disk full"):
        commits.commit("bad")
    commits.commit("good")
    assert calls == [["bad"], ["good"]]


def test_concurrent_saves_of_many_targets_are_all_in_the_store(tmp_path: Path):
    store = Store(tmp_path / "state.db")
    try:
        define_job(store, [{"type": "SqlDatabase", "serverName": "s", "databaseName": "d"}], [{}])
        records = rec.ExecutionRecords(store)
        job = store.get(JOB)
        assert job is not None
        root = rec.new_root(job, "e1", [], 0.0)
        records.save(root)
        docs = [
            {
                **root,
                "id": f"{root['id']}/steps/s/targets/t{i}",
                "name": f"t{i}",
                rec.PRIVATE: {**root[rec.PRIVATE]},
            }
            for i in range(200)
        ]

        def save(doc: dict) -> None:
            records.save(doc)
            assert records.get(doc["id"]) is not None  # committed and visible to other readers

        with ThreadPoolExecutor(32) as pool:
            for future in [pool.submit(save, d) for d in docs]:
                future.result(timeout=30)
        assert len(store.find_executions("job", job_id=JOB)) == 201
    finally:
        store.close()


def test_a_submitted_item_is_followed_up_only_after_it_is_written_and_nobody_waits_for_it():
    written: list[str] = []
    followed: list[tuple[str, bool]] = []
    gate = threading.Event()

    def write(items: list[str]) -> None:
        if "first" in items:
            gate.wait(5)  # hold the first batch so the submitted items pile up behind it
        written.extend(items)

    commits: GroupCommit[str] = GroupCommit(write)
    leader = threading.Thread(target=commits.commit, args=("first",))
    leader.start()
    time.sleep(0.05)
    for name in ("a", "b"):
        commits.submit(name, lambda name=name: followed.append((name, name in written)))
    assert followed == []  # returned at once, nothing written yet
    gate.set()
    leader.join(5)
    # The leader wrote the batch nobody waited for before it returned.
    assert written == ["first", "a", "b"]
    assert followed == [("a", True), ("b", True)]


def test_a_failed_submitted_write_skips_its_follow_up_and_the_next_one_still_commits():
    calls: list[list[str]] = []
    followed: list[str] = []

    def write(items: list[str]) -> None:
        calls.append(list(items))
        if "bad" in items:
            raise OSError("disk full")

    commits: GroupCommit[str] = GroupCommit(write)
    commits.submit("bad", lambda: followed.append("bad"))
    commits.submit("good", lambda: followed.append("good"))
    assert calls == [["bad"], ["good"]]
    assert followed == ["good"]
