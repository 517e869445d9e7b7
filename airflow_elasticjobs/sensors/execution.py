"""``ElasticJobsExecutionSensor``: wait for an execution to reach a state (poke, reschedule or deferred).

The sensor watches a given execution, or the latest execution of a job (optionally created at or
after a time, e.g. ``{{ data_interval_start }}``) so executions started by the agent's own schedule
can be monitored. The latest execution is resolved once, by the first poke that finds one; later
pokes poll that execution directly. It never cancels anything: it did not start the execution.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import AssetAlias, BaseSensorOperator, PokeReturnValue

from airflow_elasticjobs.asset_events import DEFAULT_ASSET_LIFECYCLES, declare_asset_events
from airflow_elasticjobs.compat import AirflowException, AirflowSensorTimeout, conf
from airflow_elasticjobs.execution_common import check_event, lifecycles, seconds
from airflow_elasticjobs.execution_id import EXECUTION_ID_KEY
from airflow_elasticjobs.execution_progress import ProgressTracker
from airflow_elasticjobs.execution_state import (
    ACTIVE,
    DEFAULT_FAIL_ON,
    SUCCESSFUL,
    Lifecycle,
    read_summary,
)
from airflow_elasticjobs.execution_xcom import xcom_summary
from airflow_elasticjobs.hooks.connection import DEFAULT_CONN_ID
from airflow_elasticjobs.hooks.connection_args import ConnectionArgs, ConnectionArgsAttributes
from airflow_elasticjobs.hooks.errors import describe_error
from airflow_elasticjobs.links.elastic_jobs import ElasticJobsExecutionLink
from airflow_elasticjobs.validation import check_name, invalid, parse_time
from airflow_elasticjobs.waiting import FaultBudget, GaveUp, LatestExecution

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook


class ElasticJobsExecutionSensor(ConnectionArgsAttributes, BaseSensorOperator):
    """Wait until a job execution reaches one of ``target_states``; fail on ``fail_states``.

    Example (monitor the run the agent's hourly schedule makes in this DAG run's interval)::

        ElasticJobsExecutionSensor(
            task_id="wait_for_job1",
            job_name="Job1",
            created_after="{{ data_interval_start }}",
            deferrable=True,
            timeout=3600,
        )

    :param job_name: the job.
    :param execution_id: the root execution to watch; ``None`` watches the latest execution of the job
        (created at or after ``created_after``), waiting for one to appear.
    :param created_after: ISO 8601 time (templated) bounding the latest-execution lookup.
    :param target_states: lifecycles that end the wait successfully (default Succeeded,
        SucceededWithSkipped); active ones such as InProgress are allowed ("wait until it started").
    :param fail_states: lifecycles that fail the task (default Failed, TimedOut, Canceled, Skipped).
    :param elastic_jobs_conn_id: an ``azure_elastic_jobs`` connection id.
    :param resource_group_name: overrides the connection's resource group.
    :param server_name: overrides the connection's server.
    :param agent_name: overrides the connection's job agent.
    :param deferrable: wait in the triggerer (the same trigger the start operator uses), which polls
        every ``poke_interval`` seconds and reads target details only when the execution's state
        changes (default: the ``[operators] default_deferrable`` setting).
    :param error_budget: seconds of failing checks (transient faults only: a permanent error fails
        at once) before the task fails (default 900), like the start operator's: between the pokes
        of one run, and in the triggerer when deferred. In reschedule mode every poke is a run of
        its own, so there only ``timeout`` bounds an outage.
    :param timeout: Airflow's sensor timeout, seconds since the sensor first started; in deferred mode
        the deferral gets what is left of it after the first poke (``defer(timeout=…)``).
    :param asset_alias: an ``AssetAlias`` (or its name): when the sensor succeeds on an execution
        that ended, one asset event per target database whose outcome is in ``asset_lifecycles``
        goes through it (added to ``outlets``; see docs/assets.md).
    :param asset_lifecycles: database outcomes that get an event (default Succeeded).

    XCom (unless ``do_xcom_push=False``, which pushes nothing, the link and the Elastic Jobs tab's
    reference included): the capped execution summary (``execution_id``, ``lifecycle``, ``counts``,
    ``step_counts``, failing ``targets`` first, ``targets_total``, ``targets_truncated``; see
    :func:`~airflow_elasticjobs.execution_xcom.xcom_summary`), also when the sensor
    fails, and the watched execution id under ``execution_id``.

    Latest execution (``execution_id=None``): the first poke that finds one fixes it, and later
    pokes of the same run ``GET`` it directly; until then the listing is narrowed with
    ``createTimeMin`` to what may have appeared since the previous empty listing. In reschedule mode
    each run starts afresh (Airflow clears a task's XComs when a rescheduled run starts), so the
    latest execution is looked up again once per run.
    """

    template_fields: Sequence[str] = (
        *ConnectionArgsAttributes.CONNECTION_FIELDS,
        "job_name",
        "execution_id",
        "created_after",
    )
    operator_extra_links = (ElasticJobsExecutionLink(),)

    def __init__(
        self,
        *,
        job_name: str,
        execution_id: str | None = None,
        created_after: str | datetime | None = None,
        target_states: Iterable[str | Lifecycle] = SUCCESSFUL,
        fail_states: Iterable[str | Lifecycle] = DEFAULT_FAIL_ON,
        elastic_jobs_conn_id: str = DEFAULT_CONN_ID,
        resource_group_name: str | None = None,
        server_name: str | None = None,
        agent_name: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        error_budget: float = 900.0,
        asset_alias: str | AssetAlias | None = None,
        asset_lifecycles: Iterable[str | Lifecycle] = DEFAULT_ASSET_LIFECYCLES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.asset_events = declare_asset_events(self, asset_alias, asset_lifecycles)
        self.job_name = job_name
        self.execution_id = execution_id
        self.created_after = (
            created_after.isoformat() if isinstance(created_after, datetime) else created_after
        )
        self.keep_connection_args(
            ConnectionArgs(elastic_jobs_conn_id, resource_group_name, server_name, agent_name)
        )
        self.deferrable = deferrable
        self.error_budget = seconds("error_budget", error_budget, allow_none=False)
        self.target_states = lifecycles("target_states", target_states)
        self.fail_states = lifecycles("fail_states", fail_states)
        both = self.target_states & self.fail_states
        if both:
            raise invalid(
                "fail_states", sorted(s.value for s in both), "a state cannot be a target and a failure"
            )
        self._progress = ProgressTracker()
        self._last_lifecycle: Lifecycle | None = None
        self._watched_id: str | None = None
        #: The latest-execution search of this run (``execution_id=None``), made by the first poke.
        self._latest: LatestExecution | None = None
        #: Time since the last successful check of this run, charged by failing pokes.
        self._faults: FaultBudget | None = None
        self.validate()

    def validate(self) -> None:
        """Names, connection arguments and ``created_after`` (skipped while still templated)."""
        self.connection_args.validate()
        check_name("job_name", self.job_name)
        check_name("execution_id", self.execution_id, required=False)
        parse_time("created_after", self.created_after)

    def _hook(self) -> ElasticJobsHook:
        from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook

        return ElasticJobsHook.for_args(self.connection_args)

    # -- poke ---------------------------------------------------------------------------------------
    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check: find the execution, log progress, decide done / not yet / failed."""
        self.validate()
        hook = self._hook()
        try:
            execution = self._find(hook)
            if execution is None:
                return False
            summary = read_summary(hook, self.job_name, execution)
            if summary.execution_id != self._watched_id and self.do_xcom_push:
                # The link and the Airflow UI's "Elastic Jobs" tab follow the watched execution.
                ElasticJobsExecutionLink.persist(context, hook, self.job_name, summary.execution_id)
        except Exception as err:
            # One poke is one attempt; Airflow's poke schedule is the retry, within the error budget
            # (airflow_elasticjobs.waiting).
            self._charge(err)
            self.log.warning("Checking the execution failed, will check again: %s", describe_error(err))
            return False
        finally:
            hook.close()
        self._fault_budget().record_success()
        for line in self._progress.changed_lines(summary.targets):
            self.log.info("%s", line)
        return self._decide(context, summary, getattr(execution, "job_version", None))

    def _fault_budget(self) -> FaultBudget:
        if self._faults is None:
            self._faults = FaultBudget(self.error_budget, clock=time.monotonic)
        return self._faults

    def _charge(self, err: Exception) -> None:
        """Raise ``err`` when permanent, or fail when transient faults outlasted ``error_budget``."""
        try:
            self._fault_budget().charge(err)
        except GaveUp as gave_up:
            if gave_up.permanent:
                raise err from None
            watched = self.execution_id or self._watched_id
            what = f"execution {watched}" if watched else "the latest execution"
            raise AirflowException(
                f"No successful check of {what} of job {self.job_name!r} for {gave_up.failing_for:.0f} s "
                f"(error_budget {gave_up.budget_seconds:.0f} s); last error: {describe_error(err)}. "
                "The sensor gives up; the execution itself is not affected."
            ) from err

    def _find(self, hook: ElasticJobsHook) -> Any | None:
        """The watched execution: the given one, the latest one resolved earlier, or the latest now."""
        known = self.execution_id or self._watched_id
        if known:
            execution = hook.get_execution(self.job_name, known)
            if execution is None:
                raise invalid(
                    "execution_id",
                    known,
                    f"no such execution of job {self.job_name!r}; check job_name and execution_id",
                )
            return execution
        if self._latest is None:
            self._latest = LatestExecution(parse_time("created_after", self.created_after))
        since = self._latest.created_since(datetime.now(UTC))
        latest = self._latest.pick(hook.list_executions(self.job_name, create_time_min=since))
        if latest is None:
            after = f" created at or after {self.created_after}" if self.created_after else ""
            self.log.info("No execution of job %r%s yet", self.job_name, after)
        return latest

    def _decide(self, context: Context, summary: Any, job_version: int | None) -> bool | PokeReturnValue:
        lifecycle = summary.lifecycle
        if lifecycle != self._last_lifecycle:
            self.log.info("Execution %s of job %r is %s", summary.execution_id, self.job_name, lifecycle)
            self._last_lifecycle = lifecycle
        ti = context["ti"]
        if summary.execution_id != self._watched_id:
            self._watched_id = summary.execution_id
            if self.do_xcom_push:
                ti.xcom_push(key=EXECUTION_ID_KEY, value=summary.execution_id)
        if lifecycle in self.fail_states:
            if self.do_xcom_push:
                ti.xcom_push(key="return_value", value=xcom_summary(summary, self.fail_states))
            raise AirflowException(summary.failure_message(self.fail_states))
        if lifecycle in self.target_states:
            if self.asset_events is not None:
                self.asset_events.emit(context["outlet_events"], summary, job_version)
            return PokeReturnValue(is_done=True, xcom_value=xcom_summary(summary, self.fail_states))
        if lifecycle.is_terminal:
            wanted = sorted(s.value for s in self.target_states)
            raise AirflowException(
                f"Execution {summary.execution_id} of job {self.job_name!r} ended {lifecycle.value}, "
                f"which is not one of target_states {wanted}; it will not change any more."
            )
        return False

    # -- deferred -----------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        """Poke once; if not done and ``deferrable``, wait in the triggerer for the rest of ``timeout``."""
        if not self.deferrable:
            return super().execute(context)
        started = time.monotonic()
        result = self.poke(context)
        if isinstance(result, PokeReturnValue) and result.is_done:
            return result.xcom_value
        from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger

        remaining = max(0.0, self.timeout - (time.monotonic() - started))
        stop_on = sorted(s.value for s in (self.target_states | self.fail_states) & ACTIVE)
        self.defer(
            trigger=ElasticJobsExecutionTrigger(
                elastic_jobs_conn_id=self.elastic_jobs_conn_id,
                hook_params=self.connection_args.hook_params(),
                job_name=self.job_name,
                execution_id=self.execution_id or self._watched_id,
                created_after=self.created_after,
                end_time=time.time() + remaining,
                poll_interval=self.poke_interval,
                stop_on=stop_on,
                cancel_on_timeout=False,
                cancel_on_kill=False,
                error_budget=self.error_budget,
            ),
            method_name="execute_complete",
            # Bounds the deferral itself (e.g. a triggerer that is down); Airflow reports it as a
            # sensor timeout, like the trigger's own timeout event at the same deadline.
            timeout=timedelta(seconds=remaining),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger: re-check the execution it reports and decide."""
        check_event(event, timeout_error=AirflowSensorTimeout)
        self.execution_id = event["execution_id"]
        result = self.poke(context)
        if isinstance(result, PokeReturnValue):
            return result.xcom_value
        raise AirflowException(
            f"Execution {self.execution_id} is {event.get('lifecycle')} according to the trigger but not "
            "in a target state when checked again; retry the task."
        )
