"""Per-agent worker pools (capacity = ``sku.capacity``) and the overlap registry of busy targets."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from elasticjobs_emulator.engine.targets import Target
from elasticjobs_emulator.store import Store, resource_key

#: Hidden test/benchmark knob: force every job agent's capacity (e.g. 1 for serial execution).
CAPACITY_ENV = "AIRFLOW_ELASTICJOBS_EMULATOR_AGENT_CAPACITY"
DEFAULT_CAPACITY = 100


class AgentPools:
    """One thread pool per job agent, sized by the agent's capacity when first used."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._pools: dict[str, ThreadPoolExecutor] = {}

    def capacity(self, agent_id: str) -> int:
        """Targets the agent runs at once: ``sku.capacity`` (JA100 = 100) unless forced."""
        forced = os.environ.get(CAPACITY_ENV)
        if forced:
            return max(1, int(forced))
        agent = self._store.get(agent_id) or {}
        return max(1, int((agent.get("sku") or {}).get("capacity") or DEFAULT_CAPACITY))

    def pool(self, agent_id: str) -> ThreadPoolExecutor:
        """The agent's pool."""
        key = resource_key(agent_id)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = ThreadPoolExecutor(self.capacity(agent_id), thread_name_prefix="elasticjobs-target")
                self._pools[key] = pool
            return pool

    def shutdown(self) -> None:
        """Stop every pool without waiting; queued work is dropped."""
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)


class BusyTargets:
    """Which execution holds each (job, step, server, database) — the overlap → Skipped rule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders: dict[tuple[str, str, str, str], str] = {}

    @staticmethod
    def _key(job_id: str, step_name: str, target: Target) -> tuple[str, str, str, str]:
        return (
            resource_key(job_id),
            step_name.lower(),
            target.server.lower(),
            (target.database or "").lower(),
        )

    def claim(self, job_id: str, step_name: str, target: Target, execution_id: str) -> bool:
        """Mark the target busy for ``execution_id``; False when another execution holds it."""
        owner = execution_id.lower()
        with self._lock:
            return self._holders.setdefault(self._key(job_id, step_name, target), owner) == owner

    def release(self, job_id: str, step_name: str, target: Target, execution_id: str) -> None:
        """Free the target if ``execution_id`` holds it."""
        key = self._key(job_id, step_name, target)
        with self._lock:
            if self._holders.get(key) == execution_id.lower():
                del self._holders[key]
