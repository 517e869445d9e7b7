"""How the start operator waits for its execution in the worker slot.

Two waits, one policy: polling until the execution ends (``deferrable=False``), and the first
``defer_after`` seconds of a deferrable task (short jobs end in the slot without the hand-offs a
deferral costs; ``docs/execution-semantics.md``, §3). Transient faults follow
:mod:`airflow_elasticjobs.waiting`; the deadline raises ``AirflowTaskTimeout`` in both (the operator
then cancels the execution).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from airflow_elasticjobs.compat import AirflowException, AirflowTaskTimeout
from airflow_elasticjobs.execution_state import ExecutionSummary
from airflow_elasticjobs.hooks.errors import describe_error
from airflow_elasticjobs.waiting import Backoff, DeadlinePassed, FaultBudget, GaveUp, Patience, wait_until

#: The first check of the in-slot phase before deferring; later ones double up to ``poll_interval``.
FIRST_CHECK_SECONDS = 0.5


def wait_in_slot(
    check: Callable[[], ExecutionSummary | None],
    *,
    execution_id: str,
    job_name: str,
    poll_interval: float,
    error_budget: float,
    end_time: float | None,
    log: Any,
    defer_after: float | None = None,
) -> ExecutionSummary | None:
    """Call ``check`` until it returns the summary of the ended execution.

    Without ``defer_after``: every ``poll_interval`` seconds, first at once. With it (the in-slot
    phase of a deferrable task): first after :data:`FIRST_CHECK_SECONDS`, then doubling up to
    ``poll_interval``, for at most ``defer_after`` seconds; ``None`` when the execution is still
    running then (the caller defers). No sleep reaches past that or past ``end_time``.

    :param execution_id: the execution (and ``job_name`` its job), named in messages.
    :param log: the operator's logger.
    :raises AirflowTaskTimeout: ``end_time`` passed, even while checks fail (the caller cancels).
    :raises AirflowException: transient faults outlasted ``error_budget`` (the execution is not
        cancelled); a permanent error is raised as it is.
    """
    started = time.time()
    phase_end = None if defer_after is None else started + defer_after
    ends_phase = phase_end is not None and (end_time is None or phase_end < end_time)
    interval: float | Backoff = (
        poll_interval
        if defer_after is None
        else Backoff(initial=min(FIRST_CHECK_SECONDS, poll_interval), maximum=poll_interval, jitter=0)
    )
    patience = Patience(
        FaultBudget(error_budget, clock=time.monotonic),
        Backoff(initial=poll_interval, maximum=max(poll_interval, 60.0)),
        interval=interval,
        deadline=phase_end if ends_phase else end_time,
        on_retry=lambda err: log.warning("Status check failed, retrying: %s", describe_error(err)),
        wall_clock=time.time,
    )
    try:
        if defer_after is not None:
            time.sleep(patience.delay_after(None, None))  # the start's own answer was the first "not yet"
        return wait_until(check, patience, sleep=time.sleep)
    except GaveUp as gave_up:
        if gave_up.permanent:
            raise gave_up.error from None
        raise AirflowException(
            f"No successful status check of execution {execution_id} for "
            f"{gave_up.failing_for:.0f} s; last error: {describe_error(gave_up.error)} "
            "(the execution was not cancelled)."
        ) from gave_up.error
    except DeadlinePassed:
        if ends_phase:
            elapsed = time.time() - started
            log.info("Execution %s still running after %.0f s in the slot; deferring", execution_id, elapsed)
            return None
        raise AirflowTaskTimeout(
            f"Execution {execution_id} of job {job_name!r} did not finish in time; it is cancelled."
        ) from None
