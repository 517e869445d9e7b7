"""Runs job executions: steps in order, each step's targets in parallel up to agent capacity.

Event-driven, no thread per execution: a small control pool advances executions (start a step,
finish a step, finish the job); each job agent has a worker pool of ``sku.capacity`` threads that
run target attempts; one timer thread wakes retries and attempt timeouts. Every state change is
written to the store before anything else can observe it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from elasticjobs_emulator.engine import lifecycle as lc
from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.capacity import AgentPools, BusyTargets
from elasticjobs_emulator.engine.clock import Clock
from elasticjobs_emulator.engine.options import ExecutionOptions
from elasticjobs_emulator.engine.sql_access import AttemptError, SqlAccess
from elasticjobs_emulator.engine.targets import MemberError, Target, enumerate_targets
from elasticjobs_emulator.engine.timers import Timers
from elasticjobs_emulator.store import Store, resource_key
from elasticjobs_emulator.tsql.job_variables import substitute_job_variables

log = logging.getLogger(__name__)

CONTROL_THREADS = 4
_STEP_FAILURE_WORDS = {lc.FAILED: "failed", lc.TIMED_OUT: "timed out"}


@dataclass
class Attempt:
    """One running attempt: its cancel event and why it was interrupted."""

    event: threading.Event = field(default_factory=threading.Event)
    timed_out: bool = False


@dataclass
class Run:
    """In-memory state of one active root execution."""

    root: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    canceled: threading.Event = field(default_factory=threading.Event)
    step_index: int = 0
    step: dict[str, Any] | None = None
    remaining: int = 0
    results: list[str] = field(default_factory=list)
    step_results: list[str] = field(default_factory=list)
    attempts: dict[str, Attempt] = field(default_factory=dict)
    retries: dict[str, Callable[[], None]] = field(default_factory=dict)
    #: The current step's accessor for first attempts (:meth:`SqlAccess.for_step`).
    step_sql: SqlAccess | None = None

    @property
    def job_id(self) -> str:
        """ARM id of the job."""
        return str(self.root[rec.PRIVATE]["job_id"])

    @property
    def steps(self) -> list[dict[str, Any]]:
        """Step documents of the job version this execution runs."""
        return list(self.root[rec.PRIVATE]["steps"])


class Runner:
    """Drives executions through their lifecycles."""

    def __init__(self, store: Store, sql: SqlAccess, clock: Clock, timers: Timers) -> None:
        self.store = store
        self.records = rec.ExecutionRecords(store)
        self.sql = sql
        self.clock = clock
        self.timers = timers
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._busy = BusyTargets()
        self._pools = AgentPools(store)
        self._control = ThreadPoolExecutor(CONTROL_THREADS, thread_name_prefix="elasticjobs-control")
        self._stopping = False

    # -- lifecycle of the runner ------------------------------------------------------------
    def shutdown(self) -> None:
        """Interrupt running attempts and stop the pools (state stays as persisted).

        Interrupted attempts are not recorded: they stay InProgress in the store and recovery
        treats them as failed attempts, exactly as after a crash.
        """
        self._stopping = True
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            with run.lock:
                for attempt in run.attempts.values():
                    attempt.event.set()
        self._control.shutdown(wait=False, cancel_futures=True)
        self._pools.shutdown()

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
    def _guard(self, func: Callable[..., None], *args: Any) -> None:
        if self._stopping:
            return
        try:
            func(*args)
        except Exception:
            log.exception("Execution engine step failed")

    def _pool(self, run: Run) -> ThreadPoolExecutor:
        return self._pools.pool(rec.agent_id_of(run.job_id))

    def claim(self, run: Run, step_name: str, target: Target) -> bool:
        """Mark a target busy for this execution; False when another execution holds it."""
        return self._busy.claim(run.job_id, step_name, target, run.root["name"])

    def _release(self, run: Run, step_name: str, target: Target) -> None:
        self._busy.release(run.job_id, step_name, target, run.root["name"])

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
        runnable: list[tuple[dict[str, Any], Target]] = []
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
        self.queue_targets(run, runnable)

    def queue_targets(self, run: Run, runnable: list[tuple[dict[str, Any], Target]]) -> None:
        """Hand target executions to the agent's pool; finish the step if there are none."""
        if not runnable:
            self._control.submit(self._guard, self._finish_step, run)
            return
        run.step_sql = self.sql.for_step()
        pool = self._pool(run)
        for doc, target in runnable:
            pool.submit(self._guard, self._attempt, run, doc, target)

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

    # -- target attempts (agent pool) --------------------------------------------------------
    def _attempt(self, run: Run, doc: dict[str, Any], target: Target) -> None:
        step = run.step
        assert step is not None
        step_doc = step[rec.PRIVATE]["step"]
        step_id = step["properties"]["stepId"]
        if run.canceled.is_set():
            self._target_done(run, doc, target, lc.CANCELED, None)
            return
        options = ExecutionOptions.from_step(step_doc)
        now = self.clock.now()
        rec.begin_attempt(doc, now)
        rec.transition(
            doc,
            lc.IN_PROGRESS,
            now,
            lc.target_message(step_id, lc.IN_PROGRESS, target.server, target.database),
        )
        self.records.save(doc)
        attempt = Attempt()
        with run.lock:
            run.attempts[doc["name"]] = attempt
        if run.canceled.is_set():
            attempt.event.set()
        deadline = self.timers.call_later(options.timeout_seconds, lambda: self._time_out(attempt))
        error: str | None = None
        # A step's first attempts share what does not depend on the target; a retry resolves
        # server, login and credential again (they may have been fixed meanwhile).
        first = doc["properties"]["currentAttempts"] == 1
        sql = run.step_sql if first and run.step_sql is not None else self.sql
        try:
            props = step_doc["properties"]
            agent_id = rec.agent_id_of(run.job_id)
            result = sql.run(
                agent_id,
                target.server,
                str(target.database),
                str(props.get("credential", "")),
                substitute_job_variables(
                    str((props.get("action") or {}).get("value", "")), doc["properties"]["jobExecutionId"]
                ),
                attempt.event,
            )
            if props.get("output") and result is not None:
                internal_id = rec.internal_execution_id(doc)
                sql.write_output(agent_id, props["output"], internal_id, result, attempt.event)
        except AttemptError as exc:
            error = str(exc)
        finally:
            deadline.cancel()
            with run.lock:
                run.attempts.pop(doc["name"], None)
        if self._stopping:
            return
        if error is None:  # a batch that completed succeeded, even if a cancel or timeout raced it
            self._target_done(run, doc, target, lc.SUCCEEDED, None)
        elif run.canceled.is_set():
            self._target_done(run, doc, target, lc.CANCELED, None)
        elif attempt.timed_out:
            timed_out = f"Execution timed out after {options.timeout_seconds:g} seconds."
            self.attempt_failed(run, doc, target, options, lc.TIMED_OUT, timed_out)
        else:
            self.attempt_failed(run, doc, target, options, lc.FAILED, error)

    @staticmethod
    def _time_out(attempt: Attempt) -> None:
        if not attempt.event.is_set():
            attempt.timed_out = True
            attempt.event.set()

    def attempt_failed(
        self,
        run: Run,
        doc: dict[str, Any],
        target: Target,
        options: ExecutionOptions,
        outcome: str,
        error: str,
    ) -> None:
        """Retry after backoff while attempts remain; otherwise end the target ``outcome``."""
        attempts = int(doc["properties"]["currentAttempts"])
        if attempts >= options.max_attempts:
            self._target_done(run, doc, target, outcome, error)
            return
        delay = options.retry_delay(attempts)
        now = self.clock.now()
        step_id = doc["properties"]["stepId"]
        doc[rec.PRIVATE]["retry_at"] = now + delay
        rec.transition(
            doc,
            lc.WAITING_FOR_RETRY,
            now,
            lc.target_message(step_id, lc.WAITING_FOR_RETRY, target.server, target.database, error),
        )
        self.records.save(doc)
        self.schedule_retry(run, doc, target, delay)

    def schedule_retry(self, run: Run, doc: dict[str, Any], target: Target, delay: float) -> None:
        """Run the next attempt of a waiting target after ``delay`` (or at once on cancel)."""
        name = doc["name"]
        pool = self._pool(run)

        def resume() -> None:
            if self._stopping:
                return
            with run.lock:
                if run.retries.pop(name, None) is None:
                    return
            pool.submit(self._guard, self._attempt, run, doc, target)

        with run.lock:
            run.retries[name] = resume
        if run.canceled.is_set():
            resume()
        else:
            self.timers.call_later(delay, resume)

    def _target_done(
        self, run: Run, doc: dict[str, Any], target: Target, outcome: str, error: str | None
    ) -> None:
        """End a target execution. The thread goes on at once; the step learns of the end only
        after it is committed (it may be the step's last target)."""
        step_id = doc["properties"]["stepId"]
        doc[rec.PRIVATE].pop("retry_at", None)
        rec.transition(
            doc,
            outcome,
            self.clock.now(),
            lc.target_message(step_id, outcome, target.server, target.database, error),
        )
        self.records.save_then(doc, lambda: self._guard(self._target_saved, run, doc, target, outcome))

    def _target_saved(self, run: Run, doc: dict[str, Any], target: Target, outcome: str) -> None:
        self._release(run, doc["properties"]["stepName"], target)
        with run.lock:
            run.results.append(outcome)
            run.remaining -= 1
            last = run.remaining == 0
        if last:
            self._control.submit(self._guard, self._finish_step, run)

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
