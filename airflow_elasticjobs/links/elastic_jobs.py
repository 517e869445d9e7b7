"""Extra links: the job agent and the job execution, in the Azure portal or the emulator's own view.

Operators compute the URL while they run (they know the endpoint and the ids) and push it to XCom
with :meth:`ElasticJobsAgentLink.persist` / :meth:`ElasticJobsExecutionLink.persist`; the links read
it back. URLs are built in :mod:`airflow_elasticjobs.hooks.resource_ids` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.sdk import BaseOperatorLink

from airflow_elasticjobs.hooks.resource_ids import resource_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook


class _XComUrlLink(BaseOperatorLink):
    """A link whose URL the operator pushed to XCom under ``url_key``."""

    url_key: ClassVar[str]

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL pushed by the task, or an empty string when it never got that far."""
        from airflow.sdk.execution_time.xcom import XCom

        return XCom.get_value(ti_key=ti_key, key=self.url_key) or ""


class ElasticJobsAgentLink(_XComUrlLink):
    """Link to the Elastic Job agent (Azure portal; the emulator's view off Azure)."""

    name = "Elastic Job Agent"
    url_key = "elastic_jobs_agent_url"

    @classmethod
    def persist(cls, context: Context, hook: ElasticJobsHook) -> str:
        """Push the agent URL for this task instance; returns it."""
        settings = hook.settings
        url = resource_url(settings.endpoint, hook.agent.agent_id, settings.tenant_id, settings.browser_url)
        context["ti"].xcom_push(key=cls.url_key, value=url)
        return url


class ElasticJobsExecutionLink(_XComUrlLink):
    """Link to a job execution (its job in the Azure portal; the execution in the emulator's view)."""

    name = "Elastic Job Execution"
    url_key = "elastic_jobs_execution_url"
    #: XCom key of where the execution lives (connection id and names, never a secret); the Airflow UI
    #: plugin (:mod:`airflow_elasticjobs.plugins`) reads it to show the execution on the task's page.
    ref_key = "elastic_jobs_execution_ref"

    @classmethod
    def persist(cls, context: Context, hook: ElasticJobsHook, job_name: str, job_execution_id: str) -> str:
        """Push the execution URL and reference for this task instance; returns the URL.

        The portal has no page per execution, so on Azure the link opens the job (whose blade lists its
        executions); the emulator serves a page per execution.
        """
        settings = hook.settings
        agent = hook.agent
        context["ti"].xcom_push(
            key=cls.ref_key,
            value={
                "conn_id": hook.elastic_jobs_conn_id,
                "resource_group_name": agent.resource_group_name,
                "server_name": agent.server_name,
                "agent_name": agent.agent_name,
                "job_name": job_name,
                "execution_id": job_execution_id,
            },
        )
        resource = (
            agent.job_id(job_name) if settings.is_azure else agent.execution_id(job_name, job_execution_id)
        )
        url = resource_url(settings.endpoint, resource, settings.tenant_id, settings.browser_url)
        context["ti"].xcom_push(key=cls.url_key, value=url)
        return url


__all__ = ["ElasticJobsAgentLink", "ElasticJobsExecutionLink"]
