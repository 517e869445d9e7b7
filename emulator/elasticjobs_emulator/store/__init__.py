"""Persistence of the emulator's state in one SQLite file under the state directory."""

from elasticjobs_emulator.store.sqlite_store import ExecutionRow, Store, resource_key, utc_now_iso

__all__ = ["ExecutionRow", "Store", "resource_key", "utc_now_iso"]
