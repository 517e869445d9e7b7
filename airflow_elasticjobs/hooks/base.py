"""What the sync and async Elastic Jobs hooks share: class attributes and the connection arguments."""

from __future__ import annotations

from typing import Self

from airflow_elasticjobs.compat import BaseHook
from airflow_elasticjobs.hooks.connection import CONN_TYPE, DEFAULT_CONN_ID
from airflow_elasticjobs.hooks.connection_args import ConnectionArgs


class ElasticJobsHookBase(BaseHook):
    """Base of both Elastic Jobs hooks: the connection id and the resource group/server/agent overrides.

    :param elastic_jobs_conn_id: an ``azure_elastic_jobs`` connection id.
    :param resource_group_name: overrides the connection's resource group.
    :param server_name: overrides the connection's server (the agent's server).
    :param agent_name: overrides the connection's job agent.
    """

    conn_name_attr = "elastic_jobs_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE

    def __init__(
        self,
        elastic_jobs_conn_id: str = DEFAULT_CONN_ID,
        *,
        resource_group_name: str | None = None,
        server_name: str | None = None,
        agent_name: str | None = None,
    ) -> None:
        super().__init__()
        self.elastic_jobs_conn_id = elastic_jobs_conn_id
        self.connection_args = ConnectionArgs(
            elastic_jobs_conn_id, resource_group_name, server_name, agent_name
        )

    @classmethod
    def for_args(cls, args: ConnectionArgs) -> Self:
        """The hook for ``args``."""
        return cls(args.elastic_jobs_conn_id, **args.hook_params())
