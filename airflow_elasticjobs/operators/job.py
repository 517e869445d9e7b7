"""Job operators: a job and its ordered steps (``New-AzSqlElasticJob`` + ``Add-AzSqlElasticJobStep``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator, ElasticJobsDeleteOperatorBase
from airflow_elasticjobs.validation import check_name, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_elasticjobs.definitions import JobSpec, TargetGroupSpec
    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
    from airflow_elasticjobs.reconcile import Reconciled

# ``definitions`` and ``reconcile`` are imported where used: a DAG file that does not build this
# operator does not pay for them at parse time (benchmarks/import_cost.py).


def job_result(hook: ElasticJobsHook, spec: JobSpec, reconciled: Reconciled) -> dict[str, Any]:
    """XCom payload of the job and deploy operators: id, name, version, ordered steps, changes."""
    return {
        "id": hook.agent.job_id(spec.name),
        "name": spec.name,
        "version": reconciled.version,
        "steps": [s.name for s in spec.steps],
        "changes": [c.as_dict() for c in reconciled.changes if c.changed],
        "changed": any(c.changed for c in reconciled.changes),
    }


class ElasticJobsJobDefinitionOperatorBase(ElasticJobsBaseOperator):
    """Shared part of the job and deploy operators: a job, its ordered steps, description and schedule.

    Holds the four arguments, validates the job when built (its name always, the whole definition once
    nothing in it is templated, see :meth:`validate_job`) and applies it with
    :meth:`reconcile_job_definition`. A subclass with more arguments validates them at the end of its
    own ``__init__`` and extends :meth:`validate`.

    :param job_name: the job.
    :param steps: ordered list of steps (``StepSpec`` or dicts, at least one).
    :param description: job description. The job is reconciled to the desired state, so ``""`` (the
        default) clears an existing description.
    :param schedule: optional agent-side schedule (``ScheduleSpec`` or dict); ``None`` (the default)
        leaves the job's schedule as it is.
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "job_name",
        "steps",
        "description",
        "schedule",
    )

    def __init__(
        self,
        *,
        job_name: str,
        steps: list[Any],
        description: str = "",
        schedule: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.steps = steps
        self.description = description
        self.schedule = schedule
        self.validate_job()

    def validate(self) -> None:
        """The job definition (see :meth:`validate_job`)."""
        self.validate_job()

    def validate_job(self) -> None:
        """Job name, steps (names, ids, options) and schedule."""
        check_name("job_name", self.job_name)
        if not any(is_templated(v) for v in (self.job_name, self.steps, self.schedule)):
            self.job_spec()

    def job_spec(self) -> JobSpec:
        """The job definition, coerced and validated (``ElasticJobsValidationError`` names the field)."""
        from airflow_elasticjobs.definitions import build_job

        return build_job(self.job_name, self.steps, self.description, self.schedule)

    def reconcile_job_definition(
        self,
        spec: JobSpec,
        *,
        credentials: Mapping[str, tuple[str, str]] | None = None,
        target_groups: Sequence[TargetGroupSpec] = (),
        always_update_credentials: bool = False,
    ) -> Reconciled:
        """Apply the definition in :func:`~airflow_elasticjobs.reconcile.reconcile_definition`'s
        order (references, credentials, target groups, the job), log every change."""
        from airflow_elasticjobs.reconcile import reconcile_definition

        reconciled = reconcile_definition(
            self.hook,
            spec,
            credentials=credentials,
            target_groups=target_groups,
            always_update_credentials=always_update_credentials,
        )
        for change in reconciled.changes:
            self.log.info("%s", change)
        return reconciled


class ElasticJobsJobOperator(ElasticJobsJobDefinitionOperatorBase):
    """Create or update a job and reconcile its ordered steps (add, update, reorder/renumber, remove).

    Steps are :class:`~airflow_elasticjobs.definitions.StepSpec` or dicts with the same keys; they run
    in list order. Only differences are written, and the applied diff is logged. Target groups and
    credentials are referenced by name and must exist (see :class:`ElasticJobsDeployOperator` to
    manage them together).

    Example (the tutorial's Job1)::

        ElasticJobsJobOperator(task_id="job1", job_name="Job1", description="Create tables", steps=[
            {"name": "Step1", "target_group": "ServerGroup", "credential": "jobuser",
             "command": "IF NOT EXISTS (...) CREATE TABLE [dbo].[Step1Table]([TestId] [int] NOT NULL);"},
            {"name": "Step2", "target_group": "ServerGroupExcludingDb2", "credential": "jobuser",
             "command": "...Step2Table..."},
        ])

    :param job_name: the job.
    :param steps: ordered list of steps (at least one).
    :param description: job description. The job is reconciled to the desired state, so ``""`` (the
        default) clears an existing description.
    :param schedule: optional agent-side schedule (``ScheduleSpec`` or dict); ``None`` (the default)
        leaves the job's schedule as it is.

    XCom: ``{"id", "name", "version", "steps", "changes", "changed"}``.
    """

    def run(self, context: Context) -> dict[str, Any]:
        """Reconcile the job, log the diff."""
        spec = self.job_spec()
        return job_result(self.hook, spec, self.reconcile_job_definition(spec))


class ElasticJobsDeleteJobOperator(ElasticJobsDeleteOperatorBase):
    """Delete a job with its steps and history (``Remove-AzSqlElasticJob``); no error if already gone.

    Example::

        ElasticJobsDeleteJobOperator(task_id="drop_job1", job_name="Job1")

    XCom: ``{"name", "deleted"}``.
    """

    template_fields: Sequence[str] = (*ElasticJobsBaseOperator.template_fields, "job_name")
    name_arg = "job_name"
    resource_kind = "Job"
    hook_delete = "delete_job"

    def __init__(self, *, job_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.validate()
