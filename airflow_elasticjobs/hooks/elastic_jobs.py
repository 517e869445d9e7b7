"""``ElasticJobsHook``: the sync hook over ``azure.mgmt.sql.SqlManagementClient`` for Elastic Jobs.

``azure.mgmt.sql`` and ``azure.identity`` are imported inside methods only, so importing this module
(at DAG parse time) stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.hooks.base import ElasticJobsHookBase
from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings, get_connection
from airflow_elasticjobs.hooks.credentials import build_sync_credential
from airflow_elasticjobs.hooks.errors import delete_if_exists, describe_error, get_or_none
from airflow_elasticjobs.hooks.job_executions import JobExecutionsMixin
from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.hooks.sdk_logging import quiet_http_logging
from airflow_elasticjobs.hooks.servers_and_databases import ServersAndDatabasesMixin
from airflow_elasticjobs.validation import AGENT_SKUS

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.sql import SqlManagementClient
    from azure.mgmt.sql.models import (
        Job,
        JobAgent,
        JobCredential,
        JobStep,
        JobTargetGroup,
        JobVersion,
    )


class ElasticJobsHook(ServersAndDatabasesMixin, JobExecutionsMixin, ElasticJobsHookBase):
    """Sync hook for Azure SQL Elastic Jobs over Azure Resource Manager (or the local emulator).

    Resource group, server and agent default to the connection's values; the constructor arguments
    override them. Every helper takes plain names and returns ``azure.mgmt.sql`` models.

    Example::

        hook = ElasticJobsHook("azure_elastic_jobs_default", agent_name="ElasticJobAgent")
        hook.create_or_update_credential("jobuser", "jobuser", password)
        execution = hook.start_execution("Job1", "6a3d…")  # PUT with a caller-chosen id

    :param elastic_jobs_conn_id: an ``azure_elastic_jobs`` connection id.
    :param resource_group_name: overrides the connection's resource group.
    :param server_name: overrides the connection's server (the agent's server).
    :param agent_name: overrides the connection's job agent.
    """

    hook_name = "Azure SQL Elastic Jobs"
    # Per-instance state, assigned when the client is first built (class-level None until then).
    _client: SqlManagementClient | None = None
    _credential: TokenCredential | None = None

    # -- connection form ------------------------------------------------------------------------
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Custom fields of the ``azure_elastic_jobs`` connection form (stored in extras)."""
        from airflow_elasticjobs.hooks.connection_form import connection_form_widgets

        return connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabelled, hidden and placeholder standard fields of the connection form."""
        from airflow_elasticjobs.hooks.connection_form import ui_field_behaviour

        return ui_field_behaviour()

    # -- settings and client --------------------------------------------------------------------
    @cached_property
    def settings(self) -> ElasticJobsConnectionSettings:
        """The connection parsed once (see :mod:`airflow_elasticjobs.hooks.connection`)."""
        conn = get_connection("elastic_jobs_conn_id", self.elastic_jobs_conn_id)
        return ElasticJobsConnectionSettings.from_connection(conn)

    @property
    def resource_group_name(self) -> str:
        """The resource group in use (override, else the connection's)."""
        return self.connection_args.setting(self.settings, "resource_group_name")

    @property
    def server_name(self) -> str:
        """The agent's server in use (override, else the connection's)."""
        return self.connection_args.setting(self.settings, "server_name")

    @property
    def agent(self) -> AgentRef:
        """The job agent in use; builds the ARM ids of everything under it."""
        return self.connection_args.agent(self.settings)

    def get_conn(self) -> SqlManagementClient:
        """Return the cached ``SqlManagementClient`` for this connection."""
        if self._client is None:
            from azure.mgmt.sql import SqlManagementClient

            quiet_http_logging()
            settings = self.settings
            self.log.info(
                "Connecting to %s (subscription %s) with %s",
                settings.endpoint,
                settings.subscription_id,
                settings.auth_method,
            )
            self._credential = build_sync_credential(settings)
            self._client = SqlManagementClient(
                self._credential, settings.subscription_id, **settings.client_kwargs()
            )
        return self._client

    def close(self) -> None:
        """Close the client's HTTP session and the credential's (token requests have their own)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        close_credential = getattr(self._credential, "close", None)
        if close_credential is not None:
            close_credential()
        self._credential = None

    def test_connection(self) -> tuple[bool, str]:
        """Make a real ARM call (list the job agents of the default server) and report the outcome."""
        try:
            settings = self.settings
            agents = [
                a.name
                for a in self.get_conn().job_agents.list_by_server(self.resource_group_name, self.server_name)
            ]
        except Exception as err:
            return False, describe_error(err)
        return True, (
            f"Connected to {settings.endpoint}: server {self.server_name!r} has job agents {agents}."
        )

    # -- job agents -------------------------------------------------------------------------------
    def get_agent(self) -> JobAgent | None:
        """The job agent, or ``None``."""
        a = self.agent
        return get_or_none(
            lambda: self.get_conn().job_agents.get(a.resource_group_name, a.server_name, a.agent_name)
        )

    def create_or_update_agent(
        self,
        database_name: str,
        *,
        sku: str = "JA100",
        location: str | None = None,
        timeout: float = 1800,
        poll_interval: float = 5,
        identity: dict[str, Any] | None = None,
    ) -> JobAgent:
        """Create or update the agent on ``database_name`` (same server), wait for the LRO and ``Ready``.

        :param database_name: the job database on the agent's server.
        :param sku: JA100, JA200, JA400 or JA800.
        :param location: defaults to the server's location.
        :param timeout: seconds to wait for ``state == Ready``.
        :param poll_interval: seconds between GETs while waiting for ``Ready``.
        :param identity: ARM ``JobAgentIdentity`` JSON (from
            :func:`airflow_elasticjobs.managed_identity.parse_identity`); ``None`` leaves it as it is.
        """
        from azure.mgmt.sql.models import (
            JobAgent,
            JobAgentIdentity,
            JobAgentProperties,
            JobAgentUserAssignedIdentity,
            Sku,
        )

        a = self.agent
        body = JobAgent(
            location=location or self._server_location(a.server_name),
            properties=JobAgentProperties(database_id=a.database_id(database_name)),
            sku=Sku(name=sku, capacity=AGENT_SKUS[sku]),
        )
        if identity is not None:
            body.identity = JobAgentIdentity(
                type=identity["type"],
                user_assigned_identities={
                    resource_id: JobAgentUserAssignedIdentity()
                    for resource_id in identity.get("userAssignedIdentities") or {}
                }
                or None,
            )
        poller = self.get_conn().job_agents.begin_create_or_update(
            a.resource_group_name, a.server_name, a.agent_name, body, polling_interval=poll_interval
        )
        agent = poller.result()
        deadline = time.monotonic() + timeout
        while (agent.properties.state if agent.properties else None) != "Ready":
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Job agent {a.agent_name!r} is {agent.properties.state!r}, not Ready, after "
                    f"{timeout} s; raise timeout or check the agent in the portal."
                )
            time.sleep(poll_interval)
            agent = self.get_conn().job_agents.get(a.resource_group_name, a.server_name, a.agent_name)
        return agent

    def delete_agent(self) -> bool:
        """Delete the job agent (waits for the LRO); ``False`` if it did not exist."""
        a = self.agent
        return delete_if_exists(
            self.get_agent(),
            lambda: self.get_conn().job_agents.begin_delete(
                a.resource_group_name, a.server_name, a.agent_name
            ),
        )

    def _agent_args(self) -> tuple[str, str, str]:
        a = self.agent
        return a.resource_group_name, a.server_name, a.agent_name

    # -- credentials ------------------------------------------------------------------------------
    def get_credential(self, credential_name: str) -> JobCredential | None:
        """A job credential (its password is never returned by ARM), or ``None``."""
        return get_or_none(lambda: self.get_conn().job_credentials.get(*self._agent_args(), credential_name))

    def list_credentials(self) -> list[JobCredential]:
        """All job credentials of the agent."""
        return list(self.get_conn().job_credentials.list_by_agent(*self._agent_args()))

    def create_or_update_credential(
        self, credential_name: str, username: str, password: str
    ) -> JobCredential:
        """Create or update a database-scoped job credential."""
        from azure.mgmt.sql.models import JobCredential, JobCredentialProperties

        body = JobCredential(properties=JobCredentialProperties(username=username, password=password))
        return self.get_conn().job_credentials.create_or_update(*self._agent_args(), credential_name, body)

    def delete_credential(self, credential_name: str) -> bool:
        """Delete a job credential; ``False`` if it did not exist."""
        return delete_if_exists(
            self.get_credential(credential_name),
            lambda: self.get_conn().job_credentials.delete(*self._agent_args(), credential_name),
        )

    # -- target groups ----------------------------------------------------------------------------
    def get_target_group(self, target_group_name: str) -> JobTargetGroup | None:
        """A target group, or ``None``."""
        return get_or_none(
            lambda: self.get_conn().job_target_groups.get(*self._agent_args(), target_group_name)
        )

    def list_target_groups(self) -> list[JobTargetGroup]:
        """All target groups of the agent."""
        return list(self.get_conn().job_target_groups.list_by_agent(*self._agent_args()))

    def create_or_update_target_group(
        self, target_group_name: str, members: Iterable[Mapping[str, Any]]
    ) -> JobTargetGroup:
        """Create or replace a target group; ``members`` are ARM ``JobTarget`` JSON objects."""
        body = {"properties": {"members": [dict(m) for m in members]}}
        return self.get_conn().job_target_groups.create_or_update(
            *self._agent_args(), target_group_name, body
        )

    def delete_target_group(self, target_group_name: str) -> bool:
        """Delete a target group; ``False`` if it did not exist."""
        return delete_if_exists(
            self.get_target_group(target_group_name),
            lambda: self.get_conn().job_target_groups.delete(*self._agent_args(), target_group_name),
        )

    # -- jobs, steps, versions --------------------------------------------------------------------
    def get_job(self, job_name: str) -> Job | None:
        """A job, or ``None``."""
        return get_or_none(lambda: self.get_conn().jobs.get(*self._agent_args(), job_name))

    def list_jobs(self) -> list[Job]:
        """All jobs of the agent."""
        return list(self.get_conn().jobs.list_by_agent(*self._agent_args()))

    def create_or_update_job(
        self, job_name: str, *, description: str = "", schedule: Mapping[str, Any] | None = None
    ) -> Job:
        """Create or update a job (description and schedule; steps are separate resources).

        :param schedule: ARM ``JobSchedule`` JSON (``type``, ``enabled``, ``interval``, ``startTime``,
            ``endTime``); ``None`` keeps ARM's default (``Once``, disabled).
        """
        properties: dict[str, Any] = {"description": description}
        if schedule is not None:
            properties["schedule"] = dict(schedule)
        return self.get_conn().jobs.create_or_update(
            *self._agent_args(), job_name, {"properties": properties}
        )

    def update_schedule(self, job_name: str, schedule: Mapping[str, Any]) -> Job:
        """Replace a job's schedule, keeping its description (the job must exist)."""
        job = self.get_job(job_name)
        if job is None:
            raise ValueError(
                f"job_name: job {job_name!r} does not exist on agent {self.agent.agent_name!r}; "
                "create it first (ElasticJobsJobOperator) or fix the name."
            )
        return self.create_or_update_job(
            job_name,
            description=(job.properties.description or "") if job.properties else "",
            schedule=schedule,
        )

    def delete_job(self, job_name: str) -> bool:
        """Delete a job with its steps and history; ``False`` if it did not exist."""
        return delete_if_exists(
            self.get_job(job_name), lambda: self.get_conn().jobs.delete(*self._agent_args(), job_name)
        )

    def list_steps(self, job_name: str) -> list[JobStep]:
        """The job's current steps, ordered by ``stepId``."""
        steps = list(self.get_conn().job_steps.list_by_job(*self._agent_args(), job_name))
        return sorted(steps, key=lambda s: s.properties.step_id or 0)

    def get_step(self, job_name: str, step_name: str) -> JobStep | None:
        """A step of the job's current version, or ``None``."""
        return get_or_none(lambda: self.get_conn().job_steps.get(*self._agent_args(), job_name, step_name))

    def create_or_update_step(self, job_name: str, step_name: str, step: Mapping[str, Any]) -> JobStep:
        """Create or update a step from ARM ``JobStep`` JSON (``{"properties": {...}}``)."""
        return self.get_conn().job_steps.create_or_update(
            *self._agent_args(), job_name, step_name, dict(step)
        )

    def delete_step(self, job_name: str, step_name: str) -> bool:
        """Delete a step (a new job version); ``False`` if it did not exist."""
        return delete_if_exists(
            self.get_step(job_name, step_name),
            lambda: self.get_conn().job_steps.delete(*self._agent_args(), job_name, step_name),
        )

    def list_version_steps(self, job_name: str, job_version: int) -> list[JobStep]:
        """The steps of one job version (what an execution of that version ran), ordered by ``stepId``."""
        ops = self.get_conn().job_steps
        steps = list(ops.list_by_version(*self._agent_args(), job_name, job_version))
        return sorted(steps, key=lambda s: s.properties.step_id or 0)

    def list_versions(self, job_name: str) -> list[JobVersion]:
        """The job's versions (``{id, name, type}`` entries; name is the version number)."""
        return list(self.get_conn().job_versions.list_by_job(*self._agent_args(), job_name))


__all__ = ["ElasticJobsHook", "describe_error"]
