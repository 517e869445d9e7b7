"""The store's pooled readers: committed state only, the writer's own view inside its transaction."""

from __future__ import annotations

import threading
from pathlib import Path

from elasticjobs_emulator.store import Store

SERVER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv"


def test_reads_outside_a_transaction_see_committed_state_and_the_writer_sees_its_own(tmp_path: Path):
    store = Store(tmp_path / "state.db")
    try:
        seen_by_other: list[bool] = []
        with store.transaction():
            store.put(SERVER, {"name": "srv"})
            assert store.exists(SERVER)  # the writing thread reads its uncommitted write
            other = threading.Thread(target=lambda: seen_by_other.append(store.exists(SERVER)))
            other.start()
            other.join(10)
        assert seen_by_other == [False]  # another thread reads committed state, without waiting
        assert store.get(SERVER) == {"name": "srv"}
    finally:
        store.close()


def test_sequence_orders_resources_by_creation_and_survives_replacement(tmp_path: Path):
    store = Store(tmp_path / "state.db")
    try:
        for name in ("master", "Db1", "Db2"):
            store.put(f"{SERVER}/databases/{name}", {"name": name})
        before = [store.sequence(f"{SERVER}/databases/{n}") for n in ("master", "DB1", "db2")]
        store.put(f"{SERVER}/databases/Db1", {"name": "Db1", "properties": {"x": 1}})
        after = [store.sequence(f"{SERVER}/databases/{n}") for n in ("master", "DB1", "db2")]
        assert before == after and before == sorted(set(before)) and None not in before
        assert store.sequence(f"{SERVER}/databases/missing") is None
    finally:
        store.close()
