"""Job agent operators (``New-AzSqlElasticJobAgent`` / ``Remove-AzSqlElasticJobAgent``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.links.elastic_jobs import ElasticJobsAgentLink
from airflow_elasticjobs.managed_identity import assigned_ids, parse_identity
from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator
from airflow_elasticjobs.validation import check_name, check_positive_int, check_sku, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context


class ElasticJobsAgentOperator(ElasticJobsBaseOperator):
    """Create or update the Elastic Job agent and wait until it is ``Ready``.

    The agent lives on the connection's (or ``server_name``'s) server and keeps its metadata in
    ``database_name`` on that server. Creation is an ARM long-running operation; the operator waits
    for it and then for ``state == Ready``.

    With ``identity`` the agent gets a user-assigned managed identity (UMI): steps, step outputs and
    server / elastic pool target members without a credential then authenticate as that identity,
    which needs ``CREATE USER [<UMI name>] FROM EXTERNAL PROVIDER`` in every target database (and in
    ``master`` of servers whose databases a member lists): see ``ElasticJobsTargetSetupOperator``
    (``identities``) and :mod:`airflow_elasticjobs.managed_identity` for the sources.

    Example::

        ElasticJobsAgentOperator(task_id="agent", agent_name="ElasticJobAgent", database_name="JobDatabase",
                                 sku="JA100")
        ElasticJobsAgentOperator(task_id="agent_umi", database_name="JobDatabase", identity=(
            "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/ej-umi"))

    :param database_name: the job database on the agent's server.
    :param sku: service tier, JA100 (100 concurrent targets), JA200, JA400 or JA800.
    :param location: defaults to the server's region.
    :param ready_timeout: seconds to wait for ``Ready``.
    :param poll_interval: seconds between polls while waiting.
    :param identity: the agent's user-assigned managed identity: its resource id, a one-item list of
        it, or Azure's ``{"type": "UserAssigned", "userAssignedIdentities": {"<id>": {}}}``;
        ``{"type": "None"}`` removes it; ``None`` (default) leaves the agent's identity as it is.

    XCom: ``{"id", "name", "state", "sku", "capacity", "database_id", "identity"}`` (``identity``: the
    resource ids of the agent's user-assigned identities, ``[]`` without one).
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "database_name",
        "sku",
        "location",
        "identity",
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
        identity: str | list[str] | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.database_name = database_name
        self.identity = identity
        self.sku = sku
        self.location = location
        self.ready_timeout = ready_timeout
        self.poll_interval = poll_interval
        self.validate()

    def validate(self) -> None:
        """Job database name, sku, timings and identity."""
        check_name("database_name", self.database_name)
        check_sku("sku", self.sku)
        check_positive_int("ready_timeout", self.ready_timeout)
        check_positive_int("poll_interval", self.poll_interval)
        if not is_templated(self.identity):
            parse_identity(self.identity)

    def run(self, context: Context) -> dict[str, Any]:
        """Create or update the agent, wait for Ready, push the agent link."""
        agent = self.hook.create_or_update_agent(
            self.database_name,
            sku=self.sku,
            location=self.location,
            timeout=self.ready_timeout,
            poll_interval=self.poll_interval,
            identity=parse_identity(self.identity),
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
            "identity": assigned_ids(agent.identity),
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
