"""``ElasticJobsExecutionTrigger``: wait in the triggerer for an execution to reach a state.

The trigger watches one root job execution through the agent's shared poller
(:mod:`airflow_elasticjobs.triggers.poller`), logs progress lines when they change, and fires one
event:

===========  =====================================================================================
``status``   when
===========  =====================================================================================
``done``     the execution reached a terminal lifecycle or one of ``stop_on``
``timeout``  ``end_time`` passed; the execution was cancelled first when ``cancel_on_timeout``
``error``    a permanent error (403, 404, …) or no successful poll for ``error_budget`` seconds;
             the execution is **not** cancelled
===========  =====================================================================================

Every event carries ``execution_id``, ``job_name``, ``lifecycle`` (last seen, may be ``None``) and
``message``. Airflow 3.3's triggerer awaits :meth:`on_kill` for every trigger no longer assigned to
it: after a user action (mark failed / success, clear) but also when the trigger moved to another
triggerer. :meth:`on_kill` therefore reads the task instance's state and cancels (``cancel_on_kill``)
only when it is no longer deferred. Triggerer shutdown or restart does not call it at all, so a
redeploy never cancels a running job. Airflow 3.0 to 3.2 have no ``on_kill``: their triggerer
cancels :meth:`run` in all three cases, and the same state-checked decision runs on that
``CancelledError`` (still ``deferred`` after a move or a shutdown: nothing is cancelled).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_elasticjobs import compat, waiting
from airflow_elasticjobs.execution_progress import ProgressTracker
from airflow_elasticjobs.execution_state import Lifecycle
from airflow_elasticjobs.hooks.connection import DEFAULT_CONN_ID
from airflow_elasticjobs.hooks.connection_args import OVERRIDES, ConnectionArgs
from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook
from airflow_elasticjobs.hooks.errors import describe_error
from airflow_elasticjobs.task_instance_state import (
    StateUnknown,
    TaskInstanceRef,
    aread_state,
    warm_up_state_reads,
)
from airflow_elasticjobs.triggers.registry import AgentKey, shared_poller
from airflow_elasticjobs.triggers.watch import Observation, Watch
from airflow_elasticjobs.waiting import Backoff, FaultBudget, Patience, await_until

CANCEL_TIMEOUT_SECONDS = 30.0
"""How long a cancellation on timeout retries transient faults (on_kill uses :func:`kill_budget`)."""


def kill_budget(on_kill_timeout: float | None = None) -> float:
    """Seconds :meth:`ElasticJobsExecutionTrigger.on_kill` may spend, state read and cancel together.

    Airflow abandons ``on_kill`` after ``[triggerer] on_kill_timeout`` seconds (default 30,
    ``airflow/jobs/triggerer_job_runner.py``); this keeps 10 % (at least 2 s, at most half) of it as a
    margin so the outcome is still logged.
    """
    if on_kill_timeout is None:
        on_kill_timeout = compat.conf.getfloat("triggerer", "on_kill_timeout", fallback=30.0)
    return on_kill_timeout - min(max(2.0, on_kill_timeout * 0.1), on_kill_timeout / 2)


#: Kill decisions still running after their on_kill was cancelled (kept referenced until done).
_KILLS_IN_FLIGHT: set[asyncio.Future[None]] = set()


class ElasticJobsExecutionTrigger(BaseTrigger):
    """Fire when an Elastic Jobs execution ends (or reaches one of ``stop_on``), times out or fails.

    Example (inside an operator)::

        self.defer(
            trigger=ElasticJobsExecutionTrigger(
                elastic_jobs_conn_id="azure_elastic_jobs_default",
                hook_params={"agent_name": "ElasticJobAgent"},
                job_name="Job1",
                execution_id=execution_id,
                end_time=time.time() + 3600,
            ),
            method_name="execute_complete",
        )

    :param elastic_jobs_conn_id: an ``azure_elastic_jobs`` connection id.
    :param hook_params: overrides of the connection's ``resource_group_name``, ``server_name`` and
        ``agent_name`` (keyword arguments of the hook; see
        :class:`~airflow_elasticjobs.hooks.connection_args.ConnectionArgs`).
    :param job_name: the job.
    :param execution_id: the root execution to watch; ``None`` waits for the latest execution of
        the job created at or after ``created_after`` and watches that one.
    :param created_after: ISO 8601 time bounding ``execution_id=None`` resolution.
    :param end_time: absolute deadline (epoch seconds); ``None`` for none.
    :param poll_interval: seconds between polls of the agent.
    :param progress_interval: progress (target executions) is fetched when the root state changes.
        ``None`` (default): only then, so waiting costs one list per agent per poll. A number opts in
        to in-step progress: the agent's shared poller also refreshes one running execution's
        progress per this many seconds (the stalest first), one extra request per agent per
        ``progress_interval`` however many wait.
    :param stop_on: non-terminal lifecycles that also end the wait (e.g. ``["InProgress"]``).
    :param cancel_on_timeout: cancel the execution when ``end_time`` passes.
    :param cancel_on_kill: cancel the execution when the deferred task is killed by a user.
    :param error_budget: seconds without a successful poll before an ``error`` event.
    :param legacy_overrides: ``resource_group_name``, ``server_name`` and ``agent_name`` as separate
        keyword arguments, the form earlier versions serialized; a trigger stored in the metadata
        database before an upgrade is rebuilt from it (merged into ``hook_params``).
    """

    def __init__(
        self,
        *,
        job_name: str,
        execution_id: str | None = None,
        elastic_jobs_conn_id: str = DEFAULT_CONN_ID,
        hook_params: Mapping[str, str | None] | None = None,
        created_after: str | None = None,
        end_time: float | None = None,
        poll_interval: float = 30.0,
        progress_interval: float | None = None,
        stop_on: Iterable[str] = (),
        cancel_on_timeout: bool = True,
        cancel_on_kill: bool = True,
        error_budget: float = 900.0,
        **legacy_overrides: str | None,
    ) -> None:
        super().__init__()
        unexpected = sorted(set(legacy_overrides) - set(OVERRIDES))
        if unexpected:
            raise TypeError(f"ElasticJobsExecutionTrigger got unexpected keyword arguments {unexpected}")
        legacy = {k: v for k, v in legacy_overrides.items() if v is not None}
        self.connection_args = ConnectionArgs.of(elastic_jobs_conn_id, {**legacy, **(hook_params or {})})
        self.elastic_jobs_conn_id = elastic_jobs_conn_id
        self.job_name = job_name
        self.execution_id = execution_id
        self.created_after = created_after
        self.end_time = end_time
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.stop_on = sorted(s.value for s in Lifecycle.parse_many("stop_on", stop_on))
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.error_budget = error_budget
        self._last_lifecycle: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and every constructor argument."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "elastic_jobs_conn_id": self.elastic_jobs_conn_id,
                "hook_params": self.connection_args.hook_params(),
                "job_name": self.job_name,
                "execution_id": self.execution_id,
                "created_after": self.created_after,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "progress_interval": self.progress_interval,
                "stop_on": list(self.stop_on),
                "cancel_on_timeout": self.cancel_on_timeout,
                "cancel_on_kill": self.cancel_on_kill,
                "error_budget": self.error_budget,
            },
        )

    def _hook(self) -> ElasticJobsAsyncHook:
        return ElasticJobsAsyncHook.for_args(self.connection_args)

    def _event(self, status: str, lifecycle: str | None, message: str) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "execution_id": self.execution_id,
                "job_name": self.job_name,
                "lifecycle": lifecycle,
                "message": message,
            }
        )

    def _remaining(self) -> float | None:
        return None if self.end_time is None else self.end_time - time.time()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait through the shared poller and yield exactly one event.

        Before Airflow 3.3 the triggerer has no ``on_kill``: it cancels this coroutine when the
        trigger is no longer assigned to it (a user ended the task, or the trigger moved) and when
        it stops. There the ``CancelledError`` applies the same state-checked decision as
        :meth:`on_kill` before it propagates (:func:`~airflow_elasticjobs.compat.trigger_has_on_kill`).
        """
        if compat.trigger_has_on_kill():
            async for event in self._watch():
                yield event
            return
        try:
            async for event in self._watch():
                yield event
        except asyncio.CancelledError:
            await self._cancel_if_user_ended()
            raise

    async def _agent_key(self) -> AgentKey:
        """The agent this trigger waits on, as the shared poller's registry names it."""
        settings = await self._hook().load_settings()
        agent = self.connection_args.agent(settings)
        return AgentKey(
            self.elastic_jobs_conn_id,
            settings.endpoint,
            settings.subscription_id,
            agent.resource_group_name,
            agent.server_name,
            agent.agent_name,
        )

    async def _watch(self) -> AsyncIterator[TriggerEvent]:
        """The wait itself: one event, from the shared poller.

        While it waits, its frame holds the shared poller and its watch only: the connection
        settings it read (one parsed copy per trigger) are not kept for the whole wait.
        """
        if self.cancel_on_kill and self.task_instance is not None:
            warm_up_state_reads(TaskInstanceRef.of(self.task_instance), timeout=kill_budget())
        key = await self._agent_key()
        if self.execution_id is None:
            event = await self._resolve_latest()
            if event is not None:
                yield event
                return
        poller = shared_poller(key, self._hook)
        del key  # the poller's own key is the one copy the wait keeps
        with poller.watching(
            self.job_name,
            self.execution_id,
            poll_interval=self.poll_interval,
            progress_interval=self.progress_interval,
            error_budget=self.error_budget,
            follow_running=bool(self.stop_on),
        ) as watch:
            event = await self._wait(watch)
        yield event or await self._time_out()

    async def _wait(self, watch: Watch) -> TriggerEvent | None:
        """Consume observations until an end state or error; ``None`` when the deadline passed."""
        tracker = ProgressTracker()
        stop = set(self.stop_on)
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                return None
            try:
                observation = await asyncio.wait_for(watch.next(), timeout=remaining)
            except TimeoutError:
                return None
            event = self._handle(observation, tracker, stop)
            if event is not None:
                return event

    def _handle(
        self, observation: Observation, tracker: ProgressTracker, stop: set[str]
    ) -> TriggerEvent | None:
        if observation.transient:
            self.log.warning(
                "Polling execution %s failed, retrying: %s", self.execution_id, observation.transient
            )
            return None
        if observation.error:
            return self._event("error", self._last_lifecycle, observation.error)
        lifecycle = Lifecycle.observed(observation.lifecycle)
        if lifecycle.value != self._last_lifecycle:
            self.log.info("Execution %s of job %r is %s", self.execution_id, self.job_name, lifecycle.value)
        self._last_lifecycle = lifecycle.value
        for line in tracker.changed_lines(observation.targets or ()):
            self.log.info("%s", line)
        if lifecycle.is_terminal or lifecycle.value in stop:
            detail = f": {observation.last_message}" if observation.last_message else ""
            return self._event(
                "done", lifecycle.value, f"Execution {self.execution_id} is {lifecycle.value}{detail}"
            )
        return None

    async def _time_out(self) -> TriggerEvent:
        message = f"Execution {self.execution_id} of job {self.job_name!r} did not finish before the deadline"
        if self.cancel_on_timeout and self.execution_id is not None:
            outcome = await self._cancel()
            message += f"; {outcome}"
        return self._event("timeout", self._last_lifecycle, message + ".")

    async def _cancel(self, seconds: float = CANCEL_TIMEOUT_SECONDS) -> str:
        """Request cancellation, retrying transient faults for ``seconds``; describe the outcome."""

        async def cancel_once() -> bool:
            async with self._hook() as hook:
                await hook.cancel_execution(self.job_name, self.execution_id)
            return True

        try:
            await await_until(cancel_once, Patience(FaultBudget(seconds), Backoff(initial=1.0, maximum=10.0)))
        except waiting.GaveUp as gave_up:
            return f"cancelling it failed: {describe_error(gave_up.error)}"
        self.log.info("Requested cancellation of execution %s", self.execution_id)
        return "cancellation was requested"

    async def _resolve_latest(self) -> TriggerEvent | None:
        """Find the latest execution of the job created at or after ``created_after``; wait for one."""
        search = waiting.LatestExecution(
            datetime.fromisoformat(self.created_after) if self.created_after else None
        )

        async def list_once() -> Any | None:
            since = search.created_since(datetime.now(UTC))
            async with self._hook() as hook:
                return search.pick(
                    [e async for e in hook.list_executions(self.job_name, create_time_min=since)]
                )

        try:
            patience = Patience(
                FaultBudget(self.error_budget), Backoff(), interval=self.poll_interval, deadline=self.end_time
            )
            latest = await await_until(list_once, patience)
        except waiting.GaveUp as gave_up:
            return self._event("error", None, f"Listing executions failed: {describe_error(gave_up.error)}")
        except waiting.DeadlinePassed:
            return self._event("timeout", None, f"No execution of job {self.job_name!r} appeared in time.")
        self.execution_id = latest.name
        self.log.info("Watching execution %s, the latest of job %r", self.execution_id, self.job_name)
        return None

    async def on_kill(self) -> None:
        """The trigger left this triggerer: cancel (``cancel_on_kill``) only if a user ended the task.

        A task instance that is still deferred means the trigger only moved to another triggerer;
        any other state (failed, success, cleared, …) means a user ended the wait. When the state
        cannot be read, nothing is cancelled. State read and cancel fit in :func:`kill_budget`.
        """
        await self._cancel_if_user_ended()

    async def _cancel_if_user_ended(self) -> None:
        """The kill decision of :meth:`on_kill` (Airflow 3.3+) and of a cancelled :meth:`run` (before)."""
        if not self.cancel_on_kill or self.execution_id is None:
            return
        deadline = time.monotonic() + kill_budget()
        if self.task_instance is None:
            self.log.warning(
                "Trigger stopped; not cancelling execution %s: no task instance to ask whether a "
                "user ended the task",
                self.execution_id,
            )
            return
        # Airflow re-sends the cancel to a trigger whose on_kill is still running (the triggerer's next
        # loop still sees it as running), which would cut the decision or the cancel request short:
        # the work runs as its own task, shielded, and finishes even when on_kill is cancelled again.
        work = asyncio.ensure_future(self._kill(TaskInstanceRef.of(self.task_instance), deadline))
        _KILLS_IN_FLIGHT.add(work)
        work.add_done_callback(_KILLS_IN_FLIGHT.discard)
        await asyncio.shield(work)

    async def _kill(self, ti: TaskInstanceRef, deadline: float) -> None:
        """Read the task instance's state and cancel the execution if a user ended the task."""
        try:
            # Half the budget, the other half for the cancel: the triggerer's supervisor answers the
            # state request from its own loop, measured at 5.8 s on the local deployment while it
            # handled the kill (Airflow 3.3.2; a 5 s limit gave up on every user's mark failed).
            reading = await aread_state(ti, timeout=(deadline - time.monotonic()) / 2)
        except StateUnknown as err:
            self.log.warning(
                "Trigger stopped; not cancelling execution %s because the state of %s is unknown (%s). "
                "If a user ended the task, cancel it with ElasticJobsCancelExecutionOperator.",
                self.execution_id,
                ti,
                err,
            )
            return
        if not reading.user_ended_deferred_task():
            self.log.info(
                "Trigger moved to another triggerer (%s is still deferred); execution %s keeps running",
                ti,
                self.execution_id,
            )
            return
        self.log.info(
            "Task instance %s %s (a user ended it); cancelling execution %s",
            ti,
            reading.describe(),
            self.execution_id,
        )
        remaining = deadline - time.monotonic()
        try:
            outcome = await asyncio.wait_for(self._cancel(remaining), timeout=remaining)
        except TimeoutError:
            outcome = f"cancelling it did not finish within {remaining:.0f} s ([triggerer] on_kill_timeout)"
        self.log.info("%s", outcome)
