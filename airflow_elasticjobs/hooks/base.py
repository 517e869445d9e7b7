"""What the sync and async Elastic Jobs hooks share: class attributes, overrides and setting lookup."""

from __future__ import annotations

from collections.abc import Mapping

from airflow.sdk import BaseHook

from airflow_elasticjobs.hooks.connection import CONN_TYPE, DEFAULT_CONN_ID, ElasticJobsConnectionSettings


def resolve_setting(
    settings: ElasticJobsConnectionSettings, overrides: Mapping[str, str | None], name: str
) -> str:
    """``name`` (``resource_group_name``, ``server_name`` or ``agent_name``): override, else the connection's.

    :raises ValueError: naming the missing field and where to set it.
    """
    value = overrides.get(name) or getattr(settings, name)
    if not value:
        raise ValueError(
            f"{name} is not set: pass {name}= to the operator/hook/sensor or set {name!r} in the extras of "
            f"connection {settings.conn_id!r}."
        )
    return value


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
        self._overrides: dict[str, str | None] = {
            "resource_group_name": resource_group_name,
            "server_name": server_name,
            "agent_name": agent_name,
        }
