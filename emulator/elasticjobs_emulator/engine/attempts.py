"""Target attempts: each on a worker of its job agent's pool, with timeout, retries and their ends.

An attempt saves its InProgress state before it runs the step's T-SQL; its end is saved through the
group commit without holding the worker, and the step hears of it only once it is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from elasticjobs_emulator.engine import lifecycle as lc
from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.capacity import AgentPools, BusyTargets
from elasticjobs_emulator.engine.clock import Clock
from elasticjobs_emulator.engine.options import ExecutionOptions
from elasticjobs_emulator.engine.runs import Attempt, Guard, Run
from elasticjobs_emulator.engine.sql_access import AttemptError, SqlAccess
from elasticjobs_emulator.engine.targets import Target
from elasticjobs_emulator.engine.timers import Timers
from elasticjobs_emulator.store import Store
from elasticjobs_emulator.tsql.job_variables import substitute_job_variables

Runnable = list[tuple[dict[str, Any], Target]]

log = logging.getLogger(__name__)

#: What a target execution reports when its attempt raised something the database layer did not
#: turn into an attempt failure. The error itself goes to the emulator's log only: its text was not
#: written for the resource's readers.
INTERNAL_ERROR = (
    "The attempt failed with an internal error of the emulator; the emulator's log has the details."
)


class TargetAttempts:
    """Runs the target executions of the runner's steps; ``step_done(run)`` once a step's last ends."""

    def __init__(
        self,
        store: Store,
        records: rec.ExecutionRecords,
        sql: SqlAccess,
        clock: Clock,
        timers: Timers,
        guard: Guard,
        step_done: Callable[[Run], None],
    ) -> None:
        self.records = records
        self.sql = sql
        self.clock = clock
        self.timers = timers
        self.busy = BusyTargets()
        self._pools = AgentPools(store)
        self._guard = guard
        self._step_done = step_done

    def shutdown(self) -> None:
        """Stop the agents' pools; queued attempts are dropped."""
        self._pools.shutdown()

    def _pool(self, run: Run) -> ThreadPoolExecutor:
        return self._pools.pool(rec.agent_id_of(run.job_id))

    def queue(self, run: Run, runnable: Runnable) -> None:
        """Hand target executions to the agent's pool; the step is done at once if there are none."""
        if not runnable:
            self._step_done(run)
            return
        run.step_sql = self.sql.for_step()
        self._pools.run_each(
            rec.agent_id_of(run.job_id), runnable, lambda item: self._guard(self._attempt, run, *item)
        )

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
        except Exception:  # anything else still ends the attempt: its target must not stay InProgress
            log.exception("Attempt on database '%s' of server '%s' failed", target.database, target.server)
            error = INTERNAL_ERROR
        finally:
            deadline.cancel()
            with run.lock:
                run.attempts.pop(doc["name"], None)
        if self._guard.stopping:
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
            if self._guard.stopping:
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
        self.busy.release(run.job_id, doc["properties"]["stepName"], target, run.root["name"])
        with run.lock:
            run.results.append(outcome)
            run.remaining -= 1
            last = run.remaining == 0
        if last:
            self._step_done(run)
