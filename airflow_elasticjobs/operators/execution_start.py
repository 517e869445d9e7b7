"""Which execution a start task instance owns: re-attach to it, reuse it, or start it, exactly once.

The execution ids come from the task instance (:mod:`airflow_elasticjobs.execution_id`); the rules
(what a retry or a clear does, when an ended execution is started again) are in
``docs/execution-semantics.md``, §1.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Set
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.execution_id import ExecutionKey, attempt_execution_id
from airflow_elasticjobs.execution_state import Lifecycle

if TYPE_CHECKING:
    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook


def start_or_attach(
    hook: ElasticJobsHook,
    job_name: str,
    key: ExecutionKey,
    fail_on: Set[Lifecycle],
    log: Any,
    on_start: Callable[[str], None],
) -> tuple[Any, bool]:
    """Probe the task instance's execution ids (``key``) in order; re-attach, reuse or start.

    :param fail_on: lifecycles after which the next attempt id starts the job again.
    :param log: the operator's logger (``self.log``).
    :param on_start: told the id just before the start request (so a time limit during the
        request still cancels that execution).
    :returns: the execution, and whether it is an earlier clear's execution still running.
    """
    earlier = active_earlier_execution(hook, job_name, key)
    if earlier is not None:
        log.info(
            "Execution %s, started before the DAG run was last cleared, is still %s; waiting for "
            "it instead of running the job twice at once",
            earlier.name,
            earlier.lifecycle,
        )
        return earlier, True
    for attempt in itertools.count():
        execution_id = attempt_execution_id(key, attempt)
        existing = hook.get_execution(job_name, execution_id)
        if existing is None:
            on_start(execution_id)
            execution = hook.start_execution(job_name, execution_id)
            log.info(
                "Started execution %s of job %r (clear %d, attempt %d)",
                execution_id,
                job_name,
                key.generation,
                attempt,
            )
            return execution, False
        lifecycle = Lifecycle.observed(existing.lifecycle)
        if not lifecycle.is_terminal:
            log.info("Re-attaching to execution %s, still %s (attempt %d)", execution_id, lifecycle, attempt)
            return existing, False
        if lifecycle not in fail_on:
            log.info("Execution %s already ended %s; not starting the job again", execution_id, lifecycle)
            return existing, False
        log.info("Execution %s (attempt %d) ended %s; starting a new one", execution_id, attempt, lifecycle)


def active_earlier_execution(hook: ElasticJobsHook, job_name: str, key: ExecutionKey) -> Any:
    """An execution this task instance started before the DAG run's last clear, still active.

    Another task's clear also bumps the run's ``clear_number``; a retry of this task after a crash
    must then not start the job alongside the execution the crashed try left running. Costs one
    list of the job's active executions, and probing only when that list is not empty.
    """
    if key.generation == 0 or not hook.list_executions(job_name, is_active=True):
        return None
    for generation in reversed(range(key.generation)):
        earlier = dataclasses.replace(key, generation=generation)
        for attempt in itertools.count():
            execution = hook.get_execution(job_name, attempt_execution_id(earlier, attempt))
            if execution is None:
                break
            if not Lifecycle.observed(execution.lifecycle).is_terminal:
                return execution
    return None
