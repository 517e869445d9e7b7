"""Job executions (start with a caller-chosen id, get, list, cancel, per-step and per-target lists),
as a mixin of ``ElasticJobsHook``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from airflow_elasticjobs.hooks.errors import get_or_none

if TYPE_CHECKING:
    from azure.mgmt.sql import SqlManagementClient
    from azure.mgmt.sql.models import JobExecution


class JobExecutionsMixin:
    """Job executions on the hook's job agent."""

    if TYPE_CHECKING:  # provided by ElasticJobsHook

        def get_conn(self) -> SqlManagementClient: ...

        def _agent_args(self) -> tuple[str, str, str]: ...

    def start_execution(self, job_name: str, job_execution_id: str) -> JobExecution:
        """Start the job with a caller-chosen execution id (PUT; idempotent: an existing id is returned)."""
        poller = self.get_conn().job_executions.begin_create_or_update(
            *self._agent_args(), job_name, job_execution_id, polling=False
        )
        return poller.result()

    def get_execution(self, job_name: str, job_execution_id: str) -> JobExecution | None:
        """A root job execution, or ``None``."""
        return get_or_none(
            lambda: self.get_conn().job_executions.get(*self._agent_args(), job_name, job_execution_id)
        )

    def list_executions(
        self,
        job_name: str | None = None,
        *,
        create_time_min: datetime | None = None,
        create_time_max: datetime | None = None,
        end_time_min: datetime | None = None,
        end_time_max: datetime | None = None,
        is_active: bool | None = None,
        top: int | None = None,
    ) -> list[JobExecution]:
        """Root executions of one job (or of every job of the agent when ``job_name`` is ``None``)."""
        filters = {
            "create_time_min": create_time_min,
            "create_time_max": create_time_max,
            "end_time_min": end_time_min,
            "end_time_max": end_time_max,
            "is_active": is_active,
            "top": top,
        }
        ops = self.get_conn().job_executions
        if job_name is None:
            return list(ops.list_by_agent(*self._agent_args(), **filters))
        return list(ops.list_by_job(*self._agent_args(), job_name, **filters))

    def cancel_execution(self, job_name: str, job_execution_id: str) -> None:
        """Request cancellation (idempotent: cancelling a finished execution is a no-op in ARM)."""
        self.get_conn().job_executions.cancel(*self._agent_args(), job_name, job_execution_id)

    def list_step_executions(self, job_name: str, job_execution_id: str) -> list[JobExecution]:
        """Per-step executions of a root execution."""
        return list(
            self.get_conn().job_step_executions.list_by_job_execution(
                *self._agent_args(), job_name, job_execution_id
            )
        )

    def list_target_executions(
        self, job_name: str, job_execution_id: str, step_name: str | None = None
    ) -> list[JobExecution]:
        """Per-target executions of a root execution (of one step when ``step_name`` is given)."""
        ops = self.get_conn().job_target_executions
        if step_name is None:
            return list(ops.list_by_job_execution(*self._agent_args(), job_name, job_execution_id))
        return list(ops.list_by_step(*self._agent_args(), job_name, job_execution_id, step_name))
