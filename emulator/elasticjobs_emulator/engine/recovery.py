"""Crash recovery: resume the executions that were in flight when the emulator died.

Rule (matches Azure's at-least-once guarantee; documented in docs/emulator-engine.md):
- a Created execution starts normally; a cancel requested before the crash is honoured;
- finished steps and targets keep their results; the interrupted step carries on;
- a target attempt that was InProgress counts as a failed attempt and is retried per the step's
  retry policy (or ends Failed when it was the last attempt);
- a target WaitingForRetry keeps its retry time; a Created target is queued;
- a step that had not finished enumerating its targets enumerates them again.
"""

from __future__ import annotations

from typing import Any

from elasticjobs_emulator.engine import lifecycle as lc
from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.options import ExecutionOptions
from elasticjobs_emulator.engine.runner import Runner
from elasticjobs_emulator.engine.runs import Run
from elasticjobs_emulator.engine.targets import Target

INTERRUPTED = "The attempt was interrupted by a restart of the emulator."


def _target_of(doc: dict[str, Any]) -> Target:
    body = doc["properties"]["target"]
    return Target(body["type"], body["serverName"], body.get("databaseName"))


def _resume_step(runner: Runner, run: Run, step: dict[str, Any]) -> None:
    targets = [
        t
        for t in runner.records.children(run.job_id, run.root["name"], "target")
        if t["properties"]["stepName"].lower() == step["name"].lower()
    ]
    active = [t for t in targets if rec.lifecycle_of(t) in lc.ACTIVE]
    run.step = step
    run.results = [rec.lifecycle_of(t) for t in targets if rec.lifecycle_of(t) in lc.TERMINAL]
    run.remaining = len(active)
    runner.adopt(run)
    options = ExecutionOptions.from_step(step[rec.PRIVATE]["step"])
    created: list[tuple[dict[str, Any], Target]] = []
    now = runner.clock.now()
    for doc in active:
        target = _target_of(doc)
        runner.claim(run, step["name"], target)
        state = rec.lifecycle_of(doc)
        if state == lc.IN_PROGRESS:
            runner.attempts.attempt_failed(run, doc, target, options, lc.FAILED, INTERRUPTED)
        elif state == lc.WAITING_FOR_RETRY:
            retry_at = float(doc[rec.PRIVATE].get("retry_at", now))
            runner.attempts.schedule_retry(run, doc, target, retry_at - now)
        else:
            created.append((doc, target))
    if created or not active:
        runner.attempts.queue(run, created)


def resume_all(runner: Runner) -> int:
    """Resume every active root execution found in the store; return how many."""
    roots = runner.records.active_roots()
    for root in roots:
        run = Run(root=root)
        if root[rec.PRIVATE].get("cancel_requested"):
            run.canceled.set()
        steps = runner.records.children(run.job_id, root["name"], "step")
        finished = [s for s in steps if rec.lifecycle_of(s) in lc.TERMINAL]
        run.step_results = [rec.lifecycle_of(s) for s in finished]
        run.step_index = len(finished)
        waiting = [s for s in steps if rec.lifecycle_of(s) == lc.WAITING_FOR_CHILDREN]
        if waiting:
            _resume_step(runner, run, waiting[0])
        else:
            runner.launch(run)
    return len(roots)
