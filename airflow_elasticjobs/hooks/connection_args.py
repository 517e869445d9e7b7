"""Which connection and which job agent: the four connection arguments, handled in one place.

Every hook, operator, the sensor and the trigger take an ``azure_elastic_jobs`` connection id and
may override three of its defaults (resource group, server, job agent). :class:`ConnectionArgs`
holds the four; operators and the sensor keep them as (templated) attributes through
:class:`ConnectionArgsAttributes`; the trigger carries the overrides as ``hook_params``
(:meth:`ConnectionArgs.hook_params`), like the dbt Cloud provider's trigger
(``airflow.providers.dbt.cloud.triggers.dbt.DbtCloudRunJobTrigger``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_elasticjobs.hooks.connection import DEFAULT_CONN_ID
from airflow_elasticjobs.validation import check_conn_id, check_name, check_resource_group, check_server_name

if TYPE_CHECKING:
    from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
    from airflow_elasticjobs.hooks.resource_ids import AgentRef

#: The overrides of the connection's defaults, in the order :class:`ConnectionArgs` holds them.
OVERRIDES = ("resource_group_name", "server_name", "agent_name")


def resolve_setting(
    settings: ElasticJobsConnectionSettings, overrides: Mapping[str, str | None], name: str
) -> str:
    """``name`` (one of :data:`OVERRIDES`): the override, else the connection's value.

    :raises ValueError: naming the missing field and where to set it.
    """
    value = overrides.get(name) or getattr(settings, name)
    if not value:
        raise ValueError(
            f"{name} is not set: pass {name}= to the operator/hook/sensor or set {name!r} in the extras of "
            f"connection {settings.conn_id!r}."
        )
    return value


class ConnectionArgs(NamedTuple):
    """The connection id and the overrides of its resource group, server and job agent.

    (A ``NamedTuple``: immutable, hashable, and cheap to define at import time, which the trigger
    pays at every triggerer start; benchmarks/import_cost.py.)
    """

    elastic_jobs_conn_id: str = DEFAULT_CONN_ID
    resource_group_name: str | None = None
    server_name: str | None = None
    agent_name: str | None = None

    @classmethod
    def of(cls, elastic_jobs_conn_id: str, hook_params: Mapping[str, Any] | None) -> ConnectionArgs:
        """From a connection id and ``hook_params`` (the overrides by name).

        :raises ValueError: naming an unknown key and the accepted ones.
        """
        params = dict(hook_params or {})
        unknown = sorted(set(params) - set(OVERRIDES))
        if unknown:
            raise ValueError(f"hook_params: unknown keys {unknown}; use any of {list(OVERRIDES)}.")
        return cls(elastic_jobs_conn_id, **params)

    def hook_params(self) -> dict[str, str | None]:
        """The overrides by name (keyword arguments of either hook besides the connection id)."""
        return {name: getattr(self, name) for name in OVERRIDES}

    def validate(self) -> None:
        """Check the four values; raise ``ElasticJobsValidationError`` naming the field."""
        check_conn_id("elastic_jobs_conn_id", self.elastic_jobs_conn_id)
        check_resource_group("resource_group_name", self.resource_group_name, required=False)
        check_server_name("server_name", self.server_name, required=False)
        check_name("agent_name", self.agent_name, required=False)

    def setting(self, settings: ElasticJobsConnectionSettings, name: str) -> str:
        """One of :data:`OVERRIDES`: this override, else the connection's (:func:`resolve_setting`)."""
        return resolve_setting(settings, self.hook_params(), name)

    def agent(self, settings: ElasticJobsConnectionSettings) -> AgentRef:
        """The job agent these arguments name, each name falling back to the connection's default.

        :raises ValueError: naming the missing field and where to set it.
        """
        from airflow_elasticjobs.hooks.resource_ids import AgentRef

        return AgentRef(settings.subscription_id, *(self.setting(settings, name) for name in OVERRIDES))


class ConnectionArgsAttributes:
    """Mixin of the operators and the sensor: the four arguments as (templated) attributes.

    They are attributes, not one :class:`ConnectionArgs`, because Airflow renders templates into
    attributes named by ``template_fields``; :attr:`connection_args` reads them back as rendered.
    """

    #: Names to list in ``template_fields``.
    CONNECTION_FIELDS: tuple[str, ...] = ConnectionArgs._fields

    elastic_jobs_conn_id: str
    resource_group_name: str | None
    server_name: str | None
    agent_name: str | None

    def keep_connection_args(self, args: ConnectionArgs) -> None:
        """Store the four arguments as attributes (call from ``__init__``)."""
        for name, value in args._asdict().items():
            setattr(self, name, value)

    @property
    def connection_args(self) -> ConnectionArgs:
        """The four arguments as they are now (rendered, inside ``execute``)."""
        return ConnectionArgs(*(getattr(self, name) for name in ConnectionArgs._fields))
