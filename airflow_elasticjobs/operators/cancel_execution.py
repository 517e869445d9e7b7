"""``ElasticJobsCancelExecutionOperator``: cancel a job execution (``Stop-AzSqlElasticJob``).

Also importable from :mod:`airflow_elasticjobs.operators.execution`, beside the start operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.execution_state import Lifecycle
from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator
from airflow_elasticjobs.validation import check_name, invalid

if TYPE_CHECKING:
    from airflow.sdk import Context


class ElasticJobsCancelExecutionOperator(ElasticJobsBaseOperator):
    """Cancel a job execution (``Stop-AzSqlElasticJob``); idempotent.

    Cancelling an execution that already ended is a no-op; a missing execution is an error (it is
    usually a wrong job name or id).

    Example::

        ElasticJobsCancelExecutionOperator(
            task_id="stop_job1",
            job_name="Job1",
            execution_id="{{ ti.xcom_pull(task_ids='run_job1', key='execution_id') }}",
        )

    :param job_name: the job.
    :param execution_id: the root execution to cancel.

    XCom: ``{"execution_id", "job_name", "lifecycle", "cancel_requested"}``.
    """

    template_fields: Sequence[str] = (*ElasticJobsBaseOperator.template_fields, "job_name", "execution_id")

    def __init__(self, *, job_name: str, execution_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.execution_id = execution_id
        self.validate()

    def validate(self) -> None:
        """Job name and execution id."""
        check_name("job_name", self.job_name)
        check_name("execution_id", self.execution_id)

    def run(self, context: Context) -> dict[str, Any]:
        """Cancel unless already finished."""
        execution = self.hook.get_execution(self.job_name, self.execution_id)
        if execution is None:
            raise invalid(
                "execution_id",
                self.execution_id,
                f"no such execution of job {self.job_name!r}; check job_name and execution_id",
            )
        lifecycle = Lifecycle.observed(execution.lifecycle)
        requested = not lifecycle.is_terminal
        if requested:
            self.hook.cancel_execution(self.job_name, self.execution_id)
            self.log.info("Requested cancellation of execution %s (was %s)", self.execution_id, lifecycle)
        else:
            self.log.info("Execution %s already ended %s; nothing to cancel", self.execution_id, lifecycle)
        return {
            "execution_id": self.execution_id,
            "job_name": self.job_name,
            "lifecycle": lifecycle.value,
            "cancel_requested": requested,
        }
