"""Did a user end the task? The task instance's current state, read while a kill is handled.

Airflow calls a kill hook in situations a user did not cause:

- the triggerer awaits a trigger's ``on_kill()`` for every trigger that is no longer assigned to it
  (``airflow/jobs/triggerer_job_runner.py``, ``update_triggers`` → ``cancel_triggers``), which also
  happens when the trigger only *moved* to another triggerer (this one missed its health check);
- the worker's supervisor sends SIGTERM (→ the operator's ``on_kill()``) when heartbeats fail too
  often, and Kubernetes sends it to an evicted pod (``airflow/sdk/execution_time/supervisor.py``).

Only the task instance's current state tells those apart from a user's mark failed / mark success /
clear. It is read through the task SDK's supervisor channel
(``RuntimeTaskInstance.get_task_states``, the ``GetTaskStates`` request), which both the worker's
supervisor and the triggerer's supervisor serve. When it cannot be read in time, callers must not
cancel: a retry re-attaches to a job that kept running, but a job cancelled by mistake is lost work.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Any

from airflow_elasticjobs import compat

DEFERRED = "deferred"

USER_ENDED_WHILE_RUNNING = frozenset(
    {"failed", "success", "skipped", "upstream_failed", "removed", "restarting", None}
)
"""States of a task instance whose worker was killed because a user ended it: marked failed,
success or skipped, cleared while running (``restarting``, or no state once the clear went through).
Not in the set, so no cancel: ``running`` (lost heartbeat, evicted pod, or a newer try already
running), ``up_for_retry`` (the scheduler's handling of a task whose heartbeat stopped), ``queued``,
``scheduled``, ``deferred``, ``up_for_reschedule``."""


class StateUnknown(Exception):
    """The task instance's state could not be read (no supervisor channel, an error, or too slow)."""


@dataclass(frozen=True)
class TaskInstanceRef:
    """Which task instance to ask about (its try is not part of it: states are per task instance)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @classmethod
    def of(cls, ti: Any) -> TaskInstanceRef:
        """From a task instance (worker ``context["ti"]`` or a trigger's ``task_instance``)."""
        map_index = getattr(ti, "map_index", -1)
        return cls(ti.dag_id, ti.run_id, ti.task_id, -1 if map_index is None else int(map_index))

    def __str__(self) -> str:
        mapped = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}/{self.run_id}/{self.task_id}{mapped}"


@dataclass(frozen=True)
class StateReading:
    """What Airflow answered: the state (``None``: no state, e.g. just cleared) or no such task instance."""

    state: str | None
    exists: bool = True

    def describe(self) -> str:
        """``is failed`` / ``has no state (cleared)`` / ``no longer exists``."""
        if not self.exists:
            return "no longer exists (its DAG run was deleted)"
        return "has no state (cleared)" if self.state is None else f"is {self.state}"

    def user_ended_deferred_task(self) -> bool:
        """A trigger's kill: anything but ``deferred`` means a user ended the wait (the trigger moved
        to another triggerer when the task instance is still deferred)."""
        return not self.exists or self.state != DEFERRED

    def user_ended_running_task(self) -> bool:
        """A worker's kill: see :data:`USER_ENDED_WHILE_RUNNING`."""
        return not self.exists or self.state in USER_ENDED_WHILE_RUNNING


def read_state(ref: TaskInstanceRef) -> StateReading:
    """Ask Airflow for the task instance's current state (blocking).

    ``get_task_states`` answers ``{run_id: {task_id: state}}``, with ``f"{task_id}_{map_index}"`` as
    the key for a mapped task instance (``airflow/api_fastapi/execution_api/routes/task_instances.py``,
    ``get_task_instance_states``); the query is narrowed to this one task instance, so the key is
    unambiguous.

    :raises StateUnknown: when there is no supervisor channel or the request failed.
    """
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        states = RuntimeTaskInstance.get_task_states(
            dag_id=ref.dag_id, map_index=ref.map_index, task_ids=[ref.task_id], run_ids=[ref.run_id]
        )
    except Exception as err:
        raise StateUnknown(f"asking Airflow for the state of {ref} failed: {err!r}") from err
    key = ref.task_id if ref.map_index < 0 else f"{ref.task_id}_{ref.map_index}"
    in_run = (states or {}).get(ref.run_id) or {}
    if key not in in_run:
        return StateReading(state=None, exists=False)
    state = in_run[key]
    return StateReading(state=None if state is None else str(getattr(state, "value", state)))


def read_state_within(ref: TaskInstanceRef, timeout: float) -> StateReading:
    """:func:`read_state` in a helper thread, given up after ``timeout`` seconds.

    Safe from a signal handler: if the interrupted main thread holds the supervisor channel's lock,
    the helper thread waits for it, and this gives up instead of deadlocking.

    :raises StateUnknown: on error or timeout.
    """
    outcome: list[StateReading | StateUnknown] = []

    def ask() -> None:
        try:
            outcome.append(read_state(ref))
        except StateUnknown as err:
            outcome.append(err)

    thread = threading.Thread(target=ask, name="elasticjobs-ti-state", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise StateUnknown(f"Airflow did not answer the state of {ref} within {timeout:g} s")
    if isinstance(outcome[0], StateUnknown):
        raise outcome[0]
    return outcome[0]


async def aread_state(ref: TaskInstanceRef, timeout: float) -> StateReading:
    """:func:`read_state` from a coroutine (in a thread, as Airflow's own async providers do).

    :raises StateUnknown: on error or timeout.
    """
    from asgiref.sync import sync_to_async

    try:
        return await asyncio.wait_for(sync_to_async(read_state, thread_sensitive=False)(ref), timeout)
    except TimeoutError:
        raise StateUnknown(f"Airflow did not answer the state of {ref} within {timeout:g} s") from None


#: The warm-up read of this process (see :func:`warm_up_state_reads`), kept referenced until done.
_WARM_UPS: list[asyncio.Future[None]] = []


def warm_up_state_reads(ref: TaskInstanceRef, timeout: float) -> None:
    """Start one state read in the background, the first time a trigger of this process asks.

    A triggerer's supervisor builds its in-process Execution API on the first request it serves
    (``TriggerRunnerSupervisor.client`` in ``airflow/jobs/triggerer_job_runner.py``): seconds of work
    on its one thread, during which no request is answered. Measured on the local deployment at load
    average 10-25, that first request stalled the supervisor 21-44 s; when it was a kill's state
    read, the read ran out of time and a user's mark failed cancelled nothing. A read when the first
    trigger starts takes that cost before any kill needs an answer. Its outcome is not used.

    Only where the triggerer's channel takes a second request in flight safely
    (:func:`~airflow_elasticjobs.compat.triggerer_matches_replies_by_id`, Airflow 3.2+): on 3.0 and
    3.1 an overlapping read can take another request's reply and end the trigger runner.
    """
    if _WARM_UPS or not compat.triggerer_matches_replies_by_id():
        return

    async def read() -> None:
        with contextlib.suppress(StateUnknown):  # a kill's own read reports what it meets
            await aread_state(ref, timeout)

    _WARM_UPS.append(asyncio.ensure_future(read()))
