"""Start (``Start-AzSqlElasticJob``) and cancel (``Stop-AzSqlElasticJob``) job executions.

The rules — start exactly once per task instance, what a retry does, cancellation paths, which
terminal states fail the task, the transient-fault policy — are in ``docs/execution-semantics.md``.
This module holds the start operator (wait, report, cancel on a time limit or a user's kill); which
execution a task instance owns is :mod:`~airflow_elasticjobs.operators.execution_start`, whether a
killed worker cancels is :mod:`~airflow_elasticjobs.operators.execution_kill`, and the cancel
operator lives in :mod:`~airflow_elasticjobs.operators.cancel_execution` (imported here too).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import AssetAlias

from airflow_elasticjobs.asset_events import DEFAULT_ASSET_LIFECYCLES, declare_asset_events
from airflow_elasticjobs.compat import AirflowException, AirflowTaskTimeout, TaskDeferralTimeout, conf
from airflow_elasticjobs.execution_common import check_event, lifecycles, seconds
from airflow_elasticjobs.execution_id import EXECUTION_ID_KEY, ExecutionKey
from airflow_elasticjobs.execution_progress import ProgressTracker
from airflow_elasticjobs.execution_state import (
    DEFAULT_FAIL_ON,
    ExecutionSummary,
    Lifecycle,
    read_summary,
)
from airflow_elasticjobs.execution_xcom import xcom_summary
from airflow_elasticjobs.hooks.errors import describe_error
from airflow_elasticjobs.links.elastic_jobs import ElasticJobsAgentLink, ElasticJobsExecutionLink
from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator
from airflow_elasticjobs.operators.cancel_execution import ElasticJobsCancelExecutionOperator
from airflow_elasticjobs.operators.execution_kill import decide_after_kill
from airflow_elasticjobs.operators.execution_slot import wait_in_slot
from airflow_elasticjobs.operators.execution_start import start_or_attach
from airflow_elasticjobs.task_instance_state import TaskInstanceRef
from airflow_elasticjobs.validation import check_name, invalid

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook

__all__ = ["ElasticJobsCancelExecutionOperator", "ElasticJobsStartJobOperator"]


# The deferral's own timeout is only a safety net behind the trigger's deadline (which cancels).
_DEFER_GRACE_SECONDS = 300.0

SKIPPED_HINT = (
    "\nAzure skips an execution when an earlier execution of the same job is still running on the "
    "same targets (another DAG run, another DAG or the agent's own schedule started it). To run one "
    "at a time, set max_active_tis_per_dag=1 on this task (deferred task instances count towards "
    "it) or max_active_runs=1 on the DAG; across DAGs, give the start tasks a pool with one slot and "
    "include_deferred=True."
)
"""Appended to the failure message of a Skipped execution."""


class ElasticJobsStartJobOperator(ElasticJobsBaseOperator):
    """Start a job execution exactly once per task instance and (optionally) wait for it.

    The execution id is derived from the task instance (see :mod:`airflow_elasticjobs.execution_id`):
    a retry or a restarted worker re-attaches to the running execution instead of starting a second
    one; after an execution that ended in one of ``fail_on``, a retry starts a new one.

    Example::

        ElasticJobsStartJobOperator(task_id="run_job1", job_name="Job1", deferrable=True, timeout=3600)

    :param job_name: the job to start.
    :param wait_for_completion: wait until the execution ends (default) or return once it started.
    :param deferrable: wait in the triggerer instead of a worker slot (default: the
        ``[operators] default_deferrable`` setting).
    :param defer_after: deferrable mode: seconds (or ``timedelta``) to first wait in the worker slot,
        checking after 0.5 s, then doubling up to ``poll_interval``; an execution that ends by then
        finishes in the slot without the hand-offs of a deferral (a few seconds), a longer one is
        deferred as usual. 0 (default): defer at once. No effect with ``deferrable=False``.
    :param poll_interval: seconds (or ``timedelta``) between status checks (default 30).
    :param timeout: seconds (or ``timedelta``) to wait before cancelling the execution and failing;
        ``None`` (default): no limit. ``execution_timeout`` also cancels it.
    :param fail_on: terminal lifecycles that fail the task (default Failed, TimedOut, Canceled, Skipped).
    :param progress_interval: deferred mode: progress (target executions) is fetched whenever the
        execution's state changes. ``None`` (default): only then, so a deferred wait costs one list
        per agent per poll however many tasks wait. Seconds opt in to in-step progress lines: the
        agent's shared poller also refreshes one running execution's progress per this many
        seconds (one extra ARM read per agent per interval). In a worker slot progress is read at
        every poll.
    :param error_budget: seconds of failing polls (after the SDK's own retries) before the task fails
        (default 900); the execution is never cancelled because of a transient error.
    :param failure_cap: failing targets listed in the failure message (default 10; all of them are
        in XCom).
    :param asset_alias: an ``AssetAlias`` (or its name): when the task succeeds, one asset event
        ``Asset(database_uri(server, database))`` per target database whose outcome is in
        ``asset_lifecycles`` goes through it (added to ``outlets``; see docs/assets.md).
    :param asset_lifecycles: database outcomes that get an event (default Succeeded).

    XCom: ``{"execution_id", "job_name", "lifecycle", "last_message", "counts", "targets"}`` (also
    pushed when the task fails); the execution id is pushed under ``execution_id`` before waiting.
    """

    template_fields: Sequence[str] = (*ElasticJobsBaseOperator.template_fields, "job_name")
    operator_extra_links = (ElasticJobsAgentLink(), ElasticJobsExecutionLink())

    def __init__(
        self,
        *,
        job_name: str,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        defer_after: float | timedelta = 0,
        poll_interval: float | timedelta = 30.0,
        timeout: float | timedelta | None = None,
        fail_on: Iterable[str | Lifecycle] = DEFAULT_FAIL_ON,
        progress_interval: float | timedelta | None = None,
        error_budget: float | timedelta = 900.0,
        failure_cap: int = 10,
        asset_alias: str | AssetAlias | None = None,
        asset_lifecycles: Iterable[str | Lifecycle] = DEFAULT_ASSET_LIFECYCLES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.asset_events = declare_asset_events(self, asset_alias, asset_lifecycles)
        self._job_version: int | None = None
        self.job_name = job_name
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.defer_after = seconds("defer_after", defer_after, allow_none=False, allow_zero=True)
        self.poll_interval = seconds("poll_interval", poll_interval, allow_none=False)
        self.timeout = seconds("timeout", timeout)
        self.fail_on = lifecycles("fail_on", fail_on, terminal_only=True)
        self.progress_interval = seconds("progress_interval", progress_interval)
        self.error_budget = seconds("error_budget", error_budget, allow_none=False)
        if isinstance(failure_cap, bool) or not isinstance(failure_cap, int) or failure_cap < 1:
            raise invalid("failure_cap", failure_cap, "use a whole number >= 1")
        self.failure_cap = failure_cap
        self.execution_id: str | None = None
        self._task_instance: TaskInstanceRef | None = None
        self._cancelled = False
        self._kill_decision: threading.Thread | None = None
        self._progress = ProgressTracker()
        self.validate()

    def validate(self) -> None:
        """The job name."""
        check_name("job_name", self.job_name)

    # -- start ------------------------------------------------------------------------------------
    def run(self, context: Context) -> dict[str, Any]:
        """Start or re-attach, push the id and links, then wait (poll or defer) unless told not to.

        A time limit that fires anywhere in here (the operator's ``timeout`` or Airflow's
        ``execution_timeout``, whose ``AirflowTaskTimeout`` arrives by signal) cancels the execution
        before the task fails; it does not rely on :meth:`on_kill`.
        """
        self._task_instance = TaskInstanceRef.of(context["ti"])
        try:
            return self._start_and_wait(context, self._end_time(context))
        except AirflowTaskTimeout:
            self._cancel("the time limit passed")
            raise

    def _start_and_wait(self, context: Context, end_time: float | None) -> dict[str, Any]:
        """Start or re-attach; wait; when what we waited for was an earlier clear's execution that
        ended in ``fail_on``, start this clear's own execution (see docs, §1)."""
        while True:
            execution, earlier = start_or_attach(
                self.hook,
                self.job_name,
                ExecutionKey.from_context(context, self.hook.agent.job_id(self.job_name)),
                self.fail_on,
                self.log,
                on_start=self._track,
            )
            self.execution_id = execution.name
            context["ti"].xcom_push(key=EXECUTION_ID_KEY, value=self.execution_id)
            ElasticJobsAgentLink.persist(context, self.hook)
            ElasticJobsExecutionLink.persist(context, self.hook, self.job_name, self.execution_id)
            lifecycle = Lifecycle.observed(execution.lifecycle)
            if not self.wait_for_completion:
                return {
                    "execution_id": self.execution_id,
                    "job_name": self.job_name,
                    "lifecycle": lifecycle.value,
                }
            if lifecycle.is_terminal:
                summary = self._summary(execution)
            elif self.deferrable:
                summary = self._poll(end_time, self.defer_after) if self.defer_after else None
                if summary is None:
                    self._defer(end_time, earlier)
            else:
                summary = self._poll(end_time)
            if not (earlier and summary.lifecycle in self.fail_on):
                return self._report(context, summary)
            self.log.info(
                "Execution %s (started before the DAG run was last cleared) ended %s; "
                "starting this clear's own execution",
                self.execution_id,
                summary.lifecycle,
            )

    def _track(self, execution_id: str) -> None:
        """Remember the execution about to start: a time limit during the start request cancels it."""
        self.execution_id = execution_id

    def _end_time(self, context: Context) -> float | None:
        """The absolute deadline: ``timeout`` from now, or the end of ``execution_timeout``."""
        deadlines = []
        if self.timeout is not None:
            deadlines.append(time.time() + self.timeout)
        if self.execution_timeout is not None:
            started = getattr(context["ti"], "start_date", None)
            start = started.timestamp() if started is not None else time.time()
            deadlines.append(start + self.execution_timeout.total_seconds())
        return min(deadlines, default=None)

    # -- wait: deferred -----------------------------------------------------------------------------
    def _defer(self, end_time: float | None, earlier: bool) -> NoReturn:
        from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger

        self.defer(
            trigger=ElasticJobsExecutionTrigger(
                elastic_jobs_conn_id=self.elastic_jobs_conn_id,
                hook_params=self.connection_args.hook_params(),
                job_name=self.job_name,
                execution_id=self.execution_id,
                end_time=end_time,
                poll_interval=self.poll_interval,
                progress_interval=self.progress_interval,
                error_budget=self.error_budget,
            ),
            method_name="execute_complete",
            kwargs={"end_time": end_time, "earlier": True} if earlier else None,
            timeout=None if end_time is None else end_time - time.time() + _DEFER_GRACE_SECONDS,
        )

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any],
        end_time: float | None = None,
        earlier: bool = False,
    ) -> dict[str, Any]:
        """Resume after the trigger: fail with its message, or finish with the execution's summary.

        ``earlier``: the wait was for an earlier clear's execution; if it ended in ``fail_on``, this
        clear's own execution starts now (same ``end_time``).
        """
        with self.remote_work():
            self._task_instance = TaskInstanceRef.of(context["ti"])
            self.execution_id = event.get("execution_id") if isinstance(event, Mapping) else None
            try:
                check_event(event)
            except AirflowTaskTimeout:
                self._cancel("the deadline passed")
                raise
            summary = self._summary()
            if earlier and summary.lifecycle in self.fail_on:
                self.log.info(
                    "Execution %s (started before the DAG run was last cleared) ended %s; "
                    "starting this clear's own execution",
                    self.execution_id,
                    summary.lifecycle,
                )
                return self._start_and_wait(context, end_time)
            return self._report(context, summary)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Also cancel when the deferral itself timed out (e.g. the triggerer was down past the deadline)."""
        with self.remote_work():
            try:
                return super().resume_execution(next_method, next_kwargs, context)
            except TaskDeferralTimeout:
                ti = context["ti"]
                self.execution_id = ti.xcom_pull(
                    task_ids=ti.task_id, key=EXECUTION_ID_KEY, map_indexes=ti.map_index
                )
                self._cancel("the deferral timed out")
                raise

    # -- wait: polling --------------------------------------------------------------------------------
    def _poll(self, end_time: float | None, defer_after: float | None = None) -> ExecutionSummary | None:
        """Wait in the worker slot until the execution ends, or with ``defer_after`` at most that
        long (``None``: still running); :func:`~airflow_elasticjobs.operators.execution_slot.wait_in_slot`."""
        return wait_in_slot(
            self._poll_once,
            execution_id=str(self.execution_id),
            job_name=self.job_name,
            poll_interval=self.poll_interval,
            error_budget=self.error_budget,
            end_time=end_time,
            log=self.log,
            defer_after=defer_after,
        )

    def _poll_once(self) -> ExecutionSummary | None:
        """One status check: log changed progress lines; the summary once the execution ended."""
        summary = self._summary()
        for line in self._progress.changed_lines(summary.targets):
            self.log.info("%s", line)
        return summary if summary.lifecycle.is_terminal else None

    # -- finish and cancel ------------------------------------------------------------------------------
    def _summary(self, execution: Any = None) -> ExecutionSummary:
        """Summary of ``execution`` (fetched when not given) with all its target executions."""
        if execution is None:
            execution = self.hook.get_execution(self.job_name, self.execution_id)
        if execution is None:
            raise AirflowException(
                f"Execution {self.execution_id} of job {self.job_name!r} no longer exists "
                "(was the job deleted?)."
            )
        self._job_version = getattr(execution, "job_version", None)
        return read_summary(self.hook, self.job_name, execution)

    def _report(self, context: Context, summary: ExecutionSummary) -> dict[str, Any]:
        """Log the final per-step lines; return the summary, or push it (``do_xcom_push``) and fail
        per ``fail_on``."""
        for line in self._progress.changed_lines(summary.targets):
            self.log.info("%s", line)
        self.log.info("Execution %s ended %s", summary.execution_id, summary.lifecycle)
        result = xcom_summary(summary, self.fail_on)
        if summary.lifecycle in self.fail_on:
            if self.do_xcom_push:
                context["ti"].xcom_push(key="return_value", value=result)
            message = summary.failure_message(self.fail_on, cap=self.failure_cap)
            if summary.lifecycle is Lifecycle.SKIPPED:
                message += SKIPPED_HINT
            raise AirflowException(message)
        if self.asset_events is not None:
            self.asset_events.emit(context["outlet_events"], summary, self._job_version)
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage datasets and run facets of the execution (``docs/lineage.md``).

        Called by the OpenLineage provider's listener (the ``openlineage`` extra), also when the
        task failed; :mod:`airflow_elasticjobs.lineage` is imported only here. ``None`` when no
        execution was started.
        """
        if not self.execution_id:
            return None
        from airflow_elasticjobs.lineage import execution_lineage

        try:
            return execution_lineage(self.hook, self.job_name, self.execution_id)
        finally:
            self.hook.close()

    def _cancel(self, reason: str, hook: ElasticJobsHook | None = None) -> None:
        """Request cancellation of the tracked execution; never raises (it runs on failure paths).

        :param hook: the hook to cancel with and close; by default :attr:`hook`, whose ``close()``
            is idempotent and which reopens lazily.
        """
        if not self.execution_id:
            return
        hook = self.hook if hook is None else hook
        try:
            hook.cancel_execution(self.job_name, self.execution_id)
            self._cancelled = True
            self.log.info("Cancelled execution %s because %s", self.execution_id, reason)
        except Exception as err:
            self.log.error("Could not cancel execution %s: %s", self.execution_id, describe_error(err))
        finally:
            hook.close()

    def on_kill(self) -> None:
        """SIGTERM while waiting in a worker: cancel only when a user ended the task, decided on a
        thread of its own after this returns
        (:func:`~airflow_elasticjobs.operators.execution_kill.decide_after_kill`). Time limits cancel
        in :meth:`run`, not here."""
        if not self.execution_id or self._cancelled or self._task_instance is None:
            return
        if self._kill_decision is not None:  # a second SIGTERM: the first one's decision stands
            return
        self._kill_decision = decide_after_kill(
            self._task_instance, self.execution_id, self.log, self._cancel_after_kill
        )

    def _cancel_after_kill(self, reason: str) -> None:
        """The kill decision's cancel, with a hook of its own: the interrupted wait keeps :attr:`hook`."""
        self._cancel(reason, self.new_hook())
