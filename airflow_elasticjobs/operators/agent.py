"""Job agent operators (``New-AzSqlElasticJobAgent`` / ``Remove-AzSqlElasticJobAgent``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.links.elastic_jobs import ElasticJobsAgentLink
from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator
from airflow_elasticjobs.validation import check_name, check_positive_int, check_sku

if TYPE_CHECKING:
    from airflow.sdk import Context


class ElasticJobsAgentOperator(ElasticJobsBaseOperator):
    """Create or update the Elastic Job agent and wait until it is ``Ready``.

    The agent lives on the connection's (or ``server_name``'s) server and keeps its metadata in
    ``database_name`` on that server. Creation is an ARM long-running operation; the operator waits
    for it and then for ``state == Ready``.

    Example::

        ElasticJobsAgentOperator(task_id="agent", agent_name="ElasticJobAgent", database_name="JobDatabase",
                                 sku="JA100")

    :param database_name: the job database on the agent's server.
    :param sku: service tier, JA100 (100 concurrent targets), JA200, JA400 or JA800.
    :param location: defaults to the server's region.
    :param ready_timeout: seconds to wait for ``Ready``.
    :param poll_interval: seconds between polls while waiting.

    XCom: ``{"id", "name", "state", "sku", "capacity", "database_id"}``.
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "database_name",
        "sku",
        "location",
    )
    operator_extra_links = (ElasticJobsAgentLink(),)

    def __init__(
        self,
        *,
        database_name: str,
        sku: str = "JA100",
        location: str | None = None,
        ready_timeout: int = 1800,
        poll_interval: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.database_name = database_name
        self.sku = sku
        self.location = location
        self.ready_timeout = ready_timeout
        self.poll_interval = poll_interval
        self.validate()

    def validate(self) -> None:
        """Job database name, sku and timings."""
        check_name("database_name", self.database_name)
        check_sku("sku", self.sku)
        check_positive_int("ready_timeout", self.ready_timeout)
        check_positive_int("poll_interval", self.poll_interval)

    def run(self, context: Context) -> dict[str, Any]:
        """Create or update the agent, wait for Ready, push the agent link."""
        agent = self.hook.create_or_update_agent(
            self.database_name,
            sku=self.sku,
            location=self.location,
            timeout=self.ready_timeout,
            poll_interval=self.poll_interval,
        )
        ElasticJobsAgentLink.persist(context, self.hook)
        state = getattr(agent.properties.state, "value", agent.properties.state)  # SDK enums → plain str
        self.log.info("Job agent %s is %s (%s)", agent.name, state, self.sku)
        return {
            "id": agent.id,
            "name": agent.name,
            "state": state,
            "sku": agent.sku.name if agent.sku else self.sku,
            "capacity": agent.sku.capacity if agent.sku else None,
            "database_id": agent.properties.database_id,
        }


class ElasticJobsDeleteAgentOperator(ElasticJobsBaseOperator):
    """Delete the job agent (with all its jobs, credentials and history); no error if already gone.

    Example::

        ElasticJobsDeleteAgentOperator(task_id="drop_agent", agent_name="ElasticJobAgent")

    XCom: ``{"name", "deleted"}`` (``deleted`` is false when it did not exist).
    """

    def run(self, context: Context) -> dict[str, Any]:
        """Delete and wait for the LRO."""
        name = self.hook.agent.agent_name
        deleted = self.hook.delete_agent()
        self.log.info("Job agent %s %s", name, "deleted" if deleted else "did not exist")
        return {"name": name, "deleted": deleted}
