"""Runs job executions: steps in order, each step's targets in parallel up to agent capacity.

Event-driven, no thread per execution: a small control pool advances executions (start a step,
finish a step, finish the job); each job agent has a worker pool of ``sku.capacity`` threads that
run target attempts (:mod:`~elasticjobs_emulator.engine.attempts`); one timer thread wakes retries
and attempt timeouts. Every state change is written to the store before anything else can observe it.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from elasticjobs_emulator.engine import lifecycle as lc
from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.attempts import Runnable, TargetAttempts
from elasticjobs_emulator.engine.clock import Clock
from elasticjobs_emulator.engine.runs import Guard, Run
from elasticjobs_emulator.engine.sql_access import SqlAccess
from elasticjobs_emulator.engine.targets import MemberError, Target, enumerate_targets
from elasticjobs_emulator.engine.timers import Timers
from elasticjobs_emulator.store import Store, resource_key

CONTROL_THREADS = 4
_STEP_FAILURE_WORDS = {lc.FAILED: "failed", lc.TIMED_OUT: "timed out"}


class Runner:
    """Drives executions through their lifecycles."""

    def __init__(self, store: Store, sql: SqlAccess, clock: Clock, timers: Timers) -> None:
        self.store = store
        self.records = rec.ExecutionRecords(store)
        self.sql = sql
        self.clock = clock
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._guard = Guard()
        self._control = ThreadPoolExecutor(CONTROL_THREADS, thread_name_prefix="elasticjobs-control")
        self.attempts = TargetAttempts(store, self.records, sql, clock, timers, self._guard, self._step_done)

    # -- lifecycle of the runner ------------------------------------------------------------
    def shutdown(self) -> None:
        """Interrupt running attempts and stop the pools (state stays as persisted).

        Interrupted attempts are not recorded: they stay InProgress in the store and recovery
        treats them as failed attempts, exactly as after a crash.
        """
        self._guard.stopping = True
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            with run.lock:
                for attempt in run.attempts.values():
                    attempt.event.set()
        self._control.shutdown(wait=False, cancel_futures=True)
        self.attempts.shutdown()

    def run_for(self, root_id: str) -> Run | None:
        """The in-memory run of an active execution, if any."""
        with self._lock:
            return self._runs.get(resource_key(root_id))

    def adopt(self, run: Run) -> None:
        """Take charge of a root execution (recovery then re-queues its targets)."""
        with self._lock:
            self._runs[resource_key(run.root["id"])] = run

    def launch(self, run: Run) -> None:
        """Take charge of a (new or recovered) root execution and advance it to its next step."""
        self.adopt(run)
        self._control.submit(self._guard, self._advance, run)

    # -- helpers ----------------------------------------------------------------------------
    def claim(self, run: Run, step_name: str, target: Target) -> bool:
        """Mark a target busy for this execution; False when another execution holds it."""
        return self.attempts.busy.claim(run.job_id, step_name, target, run.root["name"])

    def _step_done(self, run: Run) -> None:
        self._control.submit(self._guard, self._finish_step, run)

    def _save_root(self, run: Run, lifecycle: str | None = None, detail: str | None = None) -> None:
        with run.lock:
            if lifecycle is not None:
                now = self.clock.now()
                if lifecycle == lc.IN_PROGRESS and rec.lifecycle_of(run.root) == lc.CREATED:
                    rec.begin_attempt(run.root, now, counted=False)
                rec.transition(run.root, lifecycle, now, lc.root_message(lifecycle, detail))
            self.records.save(run.root)

    # -- root and step progression (control pool) -------------------------------------------
    def _advance(self, run: Run) -> None:
        """Start the next step, or finish the execution when none is left or it was canceled."""
        if rec.lifecycle_of(run.root) == lc.CREATED:
            self._save_root(run, lc.IN_PROGRESS)
        if run.canceled.is_set():
            self._finish_root(run, lc.CANCELED)
            return
        if run.step_results and run.step_results[-1] not in lc.CONTINUES:
            self._finish_root(run, run.step_results[-1])
            return
        if run.step_index >= len(run.steps):
            self._finish_root(run, lc.aggregate(run.step_results))
            return
        if rec.lifecycle_of(run.root) != lc.WAITING_FOR_CHILDREN:
            self._save_root(run, lc.WAITING_FOR_CHILDREN)
        self._start_step(run, run.steps[run.step_index])

    def _start_step(self, run: Run, step_doc: dict[str, Any]) -> None:
        now = self.clock.now()
        step = rec.new_step(run.root, step_doc, now)
        step_id = step["properties"]["stepId"]
        rec.begin_attempt(step, now)
        rec.transition(step, lc.IN_PROGRESS, now, lc.step_message(step_id, lc.IN_PROGRESS))
        self.records.save(step)
        with run.lock:
            run.step = step
        try:
            targets = self._enumerate(run, step_doc)
        except MemberError as exc:
            rec.transition(step, lc.FAILED, self.clock.now(), f"{lc.step_message(step_id, lc.FAILED)} {exc}")
            self.records.save(step)
            self._step_finished(run, lc.FAILED)
            return
        self.start_targets(run, step, targets)

    def _enumerate(self, run: Run, step_doc: dict[str, Any]) -> list[Target]:
        group_id = str(step_doc["properties"].get("targetGroup", ""))
        group = self.store.get(group_id) if group_id else None
        if group is None:
            raise MemberError(
                f"The target group '{group_id.rsplit('/', 1)[-1]}' does not exist; create it or point "
                "the step at an existing target group."
            )
        members = list(group.get("properties", {}).get("members") or [])
        return enumerate_targets(members, self.sql.server_view(rec.agent_id_of(run.job_id)))

    def start_targets(self, run: Run, step: dict[str, Any], targets: list[Target]) -> None:
        """Create the step's target executions (one transaction) and queue the runnable ones."""
        now = self.clock.now()
        step_id = step["properties"]["stepId"]
        step_name = step["name"]
        docs: list[dict[str, Any]] = []
        runnable: Runnable = []
        results: list[str] = []
        for target in targets:
            doc = rec.new_target(step, target, now)
            if target.error is not None:
                outcome = lc.FAILED
                message = lc.target_message(step_id, outcome, target.server, target.database, target.error)
                rec.transition(doc, outcome, now, message)
                results.append(outcome)
            elif not self.claim(run, step_name, target):
                outcome = lc.SKIPPED
                rec.transition(
                    doc, outcome, now, lc.target_message(step_id, outcome, target.server, target.database)
                )
                results.append(outcome)
            else:
                runnable.append((doc, target))
            docs.append(doc)
        rec.transition(step, lc.WAITING_FOR_CHILDREN, now, lc.step_message(step_id, lc.WAITING_FOR_CHILDREN))
        with run.lock:
            run.results = results
            run.remaining = len(runnable)
        self.records.save_all([*docs, step])
        self.attempts.queue(run, runnable)

    def _step_finished(self, run: Run, outcome: str) -> None:
        with run.lock:
            run.step_results.append(outcome)
            run.step_index += 1
        if outcome in lc.CONTINUES and not run.canceled.is_set():
            self._advance(run)
        else:
            self._finish_root(run, lc.CANCELED if run.canceled.is_set() else outcome)

    def _finish_step(self, run: Run) -> None:
        with run.lock:
            step = run.step
            results = list(run.results)
        assert step is not None
        outcome = lc.aggregate(results)
        if run.canceled.is_set() and outcome in lc.CONTINUES:
            outcome = lc.CANCELED
        step_id = step["properties"]["stepId"]
        rec.transition(step, outcome, self.clock.now(), lc.step_message(step_id, outcome))
        self.records.save(step)
        self._step_finished(run, outcome)

    def _finish_root(self, run: Run, outcome: str) -> None:
        detail = None
        if outcome in _STEP_FAILURE_WORDS and run.step is not None:
            step = run.step
            detail = f"Step {step['properties']['stepId']} ('{step['name']}') {_STEP_FAILURE_WORDS[outcome]}."
        self._save_root(run, outcome, detail)
        with self._lock:
            self._runs.pop(resource_key(run.root["id"]), None)

    # -- cancel -------------------------------------------------------------------------------
    def cancel(self, run: Run) -> None:
        """Stop a running execution: interrupt attempts, wake waiting retries."""
        with run.lock:
            run.root[rec.PRIVATE]["cancel_requested"] = True
            run.canceled.set()
            for attempt in run.attempts.values():
                attempt.event.set()
            waiting = list(run.retries.values())
        # Saved outside the run's lock: a group commit led by this thread runs other targets'
        # after-save steps, which take that lock (holding it here deadlocked the cancel). The live
        # document is saved, as every save of this engine does, so nothing older is written back.
        self.records.save(run.root)
        for resume in waiting:
            resume()
