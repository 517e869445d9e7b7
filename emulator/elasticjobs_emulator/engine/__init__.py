"""Execution engine of the emulator: fan-out, retries, timeouts, cancel, schedules, recovery.

``Engine`` is the one entry point the HTTP layer uses for executions and job versions (contract in
docs/architecture.md); the names in ``__all__`` are the rest of what it may import from here. The
behaviour lives in the modules beside it and is described in docs/emulator-engine.md.
"""

from __future__ import annotations

import copy
import threading
import uuid
from pathlib import Path
from typing import Any

from elasticjobs_emulator.engine import lifecycle as lc
from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine import versions
from elasticjobs_emulator.engine.clock import Clock, parse_iso
from elasticjobs_emulator.engine.lifecycle import is_terminal
from elasticjobs_emulator.engine.records import (
    ANY,
    ROOT_TYPE,
    STEP_TYPE,
    TARGET_TYPE,
    ExecutionFilter,
)
from elasticjobs_emulator.engine.recovery import resume_all
from elasticjobs_emulator.engine.runner import Runner
from elasticjobs_emulator.engine.runs import Run
from elasticjobs_emulator.engine.scheduler import TICK_SECONDS, Scheduler
from elasticjobs_emulator.engine.sql_access import SqlAccess, TsqlAccess
from elasticjobs_emulator.engine.timers import Timers
from elasticjobs_emulator.engine.versions import StepPositionError
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store

__all__ = [
    "ROOT_TYPE",
    "STEP_TYPE",
    "TARGET_TYPE",
    "Engine",
    "ExecutionFilter",
    "StepPositionError",
    "is_terminal",
    "parse_iso",
]


class Engine:
    """Runs the job executions of one emulator over its store.

    ``clock`` and ``sql`` are injectable for tests (defaults: wall clock, the T-SQL interpreter).
    """

    def __init__(
        self,
        store: Store,
        state_dir: Path,
        hasher: PasswordHasher,
        *,
        clock: Clock | None = None,
        sql: SqlAccess | None = None,
        schedule_tick: float = TICK_SECONDS,
    ) -> None:
        self.store = store
        self.state_dir = Path(state_dir)
        self.clock = clock or Clock()
        self._sql = sql or TsqlAccess(store, self.state_dir, hasher)
        self._schedule_tick = schedule_tick
        self._records = rec.ExecutionRecords(store)
        self._create_lock = threading.Lock()
        self._timers: Timers | None = None
        self._runner: Runner | None = None
        self._scheduler: Scheduler | None = None

    def start(self) -> None:
        """Start timers and scheduler, and resume executions that were in flight."""
        self._timers = Timers(self.clock)
        self._timers.start()
        self._runner = Runner(self.store, self._sql, self.clock, self._timers)
        resume_all(self._runner)
        self._scheduler = Scheduler(self.store, self.clock, self.create_execution, self._schedule_tick)
        self._scheduler.start()

    def stop(self) -> None:
        """Stop scheduling and interrupt running attempts; persisted state is kept for recovery."""
        if self._scheduler is not None:
            self._scheduler.stop()
        if self._runner is not None:
            self._runner.shutdown()
        if self._timers is not None:
            self._timers.stop()
        self._scheduler = self._runner = self._timers = None

    def _require_runner(self) -> Runner:
        if self._runner is None:
            raise RuntimeError("Engine.start() must be called before executions are created or canceled.")
        return self._runner

    def create_execution(self, job_id: str, execution_id: str | None = None) -> tuple[dict[str, Any], bool]:
        """Start an execution of job ``job_id`` (ARM id); return (root document, created?).

        With ``execution_id`` of an existing execution of this job, nothing starts and that
        execution is returned with ``False`` (idempotent PUT). Raises ``LookupError`` when the job
        does not exist.
        """
        runner = self._require_runner()
        job = self.store.get(job_id)
        if job is None:
            raise LookupError(f"job '{job_id}' does not exist")
        execution_id = execution_id or str(uuid.uuid4())
        with self._create_lock:
            existing = self._records.get(f"{job['id']}/executions/{execution_id}")
            if existing is not None:
                return rec.public(existing), False
            root = rec.new_root(job, execution_id, versions.version_steps(self.store, job), self.clock.now())
            self._records.save(root)
        answer = copy.deepcopy(rec.public(root))
        runner.launch(Run(root=root))
        return answer, True

    def cancel(self, job_id: str, execution_id: str) -> None:
        """Request cancellation of an execution (idempotent; finished executions stay as they are).

        Raises ``LookupError`` when the execution does not exist.
        """
        runner = self._require_runner()
        root_id = f"{job_id}/executions/{execution_id}"
        stored = self._records.get(root_id)
        if stored is None:
            raise LookupError(f"execution '{execution_id}' of job '{job_id}' does not exist")
        if rec.lifecycle_of(stored) in lc.TERMINAL:
            return
        run = runner.run_for(stored["id"])
        if run is not None:
            runner.cancel(run)
            return
        # Not running here: either it just finished (its end is saved before it leaves the runner)
        # or it awaits recovery, which honours a persisted request.
        current = self._records.get(stored["id"])
        if current is not None and rec.lifecycle_of(current) not in lc.TERMINAL:
            current[rec.PRIVATE]["cancel_requested"] = True
            self._records.save(current)

    def cancel_active(self, scope_id: str) -> None:
        """Cancel every active execution of the jobs at or below ``scope_id`` (a server, agent or job)."""
        for root in self._records.active_roots(under=scope_id):
            job_id, execution_id = root["id"].rsplit("/executions/", 1)
            self.cancel(job_id, execution_id)

    # -- reading executions (ARM bodies: the engine's private fields removed) -----------------
    def execution(self, resource_id: str) -> dict[str, Any] | None:
        """The job, step or target execution with ARM id ``resource_id``, or None."""
        doc = self._records.get(resource_id)
        return None if doc is None else rec.public(doc)

    def job_executions(self, job_id: str, where: ExecutionFilter = ANY) -> list[dict[str, Any]]:
        """Executions of job ``job_id`` matching ``where``, oldest first."""
        return [rec.public(doc) for doc in self._records.roots_of_job(job_id, where)]

    def agent_executions(self, agent_id: str, where: ExecutionFilter = ANY) -> list[dict[str, Any]]:
        """Executions of every job of agent ``agent_id`` matching ``where``, oldest first."""
        return [rec.public(doc) for doc in self._records.roots_of_agent(agent_id, where)]

    def step_executions(
        self, job_id: str, execution_id: str, where: ExecutionFilter = ANY
    ) -> list[dict[str, Any]]:
        """Step executions of one job execution matching ``where``, oldest first."""
        docs = self._records.children(job_id, execution_id, "step", where=where)
        return [rec.public(doc) for doc in docs]

    def target_executions(
        self, job_id: str, execution_id: str, step_name: str | None = None, where: ExecutionFilter = ANY
    ) -> list[dict[str, Any]]:
        """Target executions of one job execution (of one step when ``step_name``), oldest first."""
        docs = self._records.children(job_id, execution_id, "target", step_name=step_name, where=where)
        return [rec.public(doc) for doc in docs]

    # -- job steps and versions ----------------------------------------------------------------
    def steps(self, parent_id: str) -> list[dict[str, Any]]:
        """Current steps of job ``parent_id``, or the steps of version ``parent_id``, by ``stepId``."""
        return versions.ordered_steps(self.store, parent_id)

    def put_step(
        self, step_id: str, properties: dict[str, Any], position: int | None
    ) -> tuple[dict[str, Any], bool]:
        """Create or update a step (a new job version when anything changed); (document, created?).

        Raises :class:`StepPositionError` when ``position`` would leave a gap.
        """
        return versions.put_step(self.store, step_id, properties, position)

    def delete_step(self, step_id: str) -> bool:
        """Delete a step and renumber the rest in a new job version; False when it does not exist."""
        return versions.delete_step(self.store, step_id)
