"""``ElasticJobsScheduleOperator``: the agent-side schedule of a job (``Set-AzSqlElasticJob``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator
from airflow_elasticjobs.validation import check_name, interval_from_friendly, invalid, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_elasticjobs.definitions import ScheduleSpec

# ``definitions`` and ``reconcile`` are imported where used: a DAG file that does not build this
# operator does not pay for them at parse time (benchmarks/import_cost.py).


class ElasticJobsScheduleOperator(ElasticJobsBaseOperator):
    """Set, enable or disable a job's agent-side schedule (the agent then starts the job itself).

    Give either ``interval`` (ISO 8601, e.g. ``PT1H``) or the PowerShell-style pair
    ``interval_type``/``interval_count`` (``Set-AzSqlElasticJob -IntervalType Hour -IntervalCount 1``).
    ``schedule_type`` defaults to Recurring when an interval is given; with neither, the job keeps its
    current type and interval (so ``enabled=False`` alone pauses it, like ``-Disable``). Choose this when the
    job must run even while Airflow is down; choose Airflow scheduling with
    ``ElasticJobsStartJobOperator`` when runs must line up with the DAG's data intervals and be
    tracked as task instances.

    Example::

        ElasticJobsScheduleOperator(task_id="hourly", job_name="Job1", interval_type="Hour",
                                    interval_count=1, enabled=True)
        ElasticJobsScheduleOperator(task_id="pause", job_name="Job1", enabled=False)

    :param job_name: the job (must exist).
    :param enabled: enable (``True``) or disable the schedule.
    :param schedule_type: Once or Recurring.
    :param interval: ISO 8601 duration.
    :param interval_type: Minute, Hour, Day, Week or Month (with ``interval_count``).
    :param interval_count: whole number ≥ 1.
    :param start_time: ISO 8601 timestamp with time zone; Azure's default is now.
    :param end_time: ISO 8601 timestamp with time zone, after ``start_time``.

    XCom: ``{"job_name", "schedule"}`` (the schedule as ARM returns it).
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "job_name",
        "schedule_type",
        "interval",
        "interval_type",
        "start_time",
        "end_time",
    )

    def __init__(
        self,
        *,
        job_name: str,
        enabled: bool = True,
        schedule_type: str | None = None,
        interval: str | None = None,
        interval_type: str | None = None,
        interval_count: int | None = None,
        start_time: Any = None,
        end_time: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.enabled = enabled
        self.schedule_type = schedule_type
        self.interval = interval
        self.interval_type = interval_type
        self.interval_count = interval_count
        self.start_time = start_time
        self.end_time = end_time
        self.validate()

    def validate(self) -> None:
        """Job name and the schedule."""
        check_name("job_name", self.job_name)
        values = (self.schedule_type, self.interval, self.interval_type, self.start_time, self.end_time)
        if not any(is_templated(v) for v in values):
            self.schedule_spec()

    def schedule_spec(self, current: Mapping[str, Any] | None = None) -> ScheduleSpec:
        """The validated desired schedule; type and interval default to ``current`` (ARM JSON) when
        neither is given, so ``enabled=False`` alone only pauses a schedule, like ``-Disable``."""
        interval = self.interval
        if self.interval_type is not None or self.interval_count is not None:
            if interval is not None:
                raise invalid(
                    "interval_type", self.interval_type, "give either interval or interval_type/_count"
                )
            interval = interval_from_friendly(self.interval_type or "", self.interval_count)
        schedule_type = self.schedule_type
        if schedule_type is None and interval is None and current:
            schedule_type, interval = current.get("type"), current.get("interval")
        from airflow_elasticjobs.definitions import ScheduleSpec

        spec = ScheduleSpec(
            type=schedule_type or ("Recurring" if interval else "Once"),
            enabled=self.enabled,
            interval=interval,
            start_time=self.start_time,
            end_time=self.end_time,
        )
        spec.validate("schedule")
        return spec

    def run(self, context: Context) -> dict[str, Any]:
        """PUT the job with the new schedule (description kept)."""
        from airflow_elasticjobs.reconcile import describe_schedule

        existing = self.hook.get_job(self.job_name)
        current = (
            existing.properties.schedule.as_dict()
            if existing and existing.properties and existing.properties.schedule
            else None
        )
        spec = self.schedule_spec(current)
        job = self.hook.update_schedule(self.job_name, spec.to_arm())
        self.log.info("Job %s schedule set: %s", self.job_name, describe_schedule(spec))
        schedule = job.properties.schedule.as_dict() if job.properties and job.properties.schedule else {}
        return {"job_name": self.job_name, "schedule": schedule}
