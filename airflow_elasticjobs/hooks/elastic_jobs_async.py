"""``ElasticJobsAsyncHook``: the async hook over ``azure.mgmt.sql.aio`` for triggers.

azure-core's per-request HTTP log lines are kept out of the triggerer's log
(:func:`~airflow_elasticjobs.hooks.sdk_logging.quiet_http_logging`). Everything is awaited on the
triggerer's event loop: the connection is read with
``BaseHook.aget_connection`` (the Airflow 3 task-SDK's async-safe path), credentials come from
:func:`~airflow_elasticjobs.hooks.credentials.build_async_credential`. ``azure.*`` is imported
lazily.

Open hooks of one connection share one client, credential and connection pool in the running
event loop (:mod:`~airflow_elasticjobs.hooks.shared_clients`; ``async with`` takes and gives back
a share, the last one closes them): at most a few connections, however many agents and waiters
the triggerer polls for.

:meth:`ElasticJobsAsyncHook.execution_pages` reads an agent's execution lists through that client's
pipeline (its policies: authentication, retries) as JSON, and parses only the fields the poller
judges states by (:class:`~airflow_elasticjobs.execution_state.RootState`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow_elasticjobs.compat import aread_connection
from airflow_elasticjobs.execution_state import RootState
from airflow_elasticjobs.hooks import shared_clients
from airflow_elasticjobs.hooks.base import ElasticJobsHookBase
from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.hooks.sdk_logging import quiet_http_logging
from airflow_elasticjobs.http_date import parse_http_date

if TYPE_CHECKING:
    from azure.core.rest import AsyncHttpResponse
    from azure.mgmt.sql.aio import SqlManagementClient
    from azure.mgmt.sql.models import JobExecution


class ElasticJobsAsyncHook(ElasticJobsHookBase):
    """Async hook for Azure SQL Elastic Jobs executions, used by triggers.

    Use it as an async context manager; the shared client (see the module docstring) is released on
    exit and closed with its last hook.

    Example::

        async with ElasticJobsAsyncHook("azure_elastic_jobs_default", agent_name="ElasticJobAgent") as hook:
            execution = await hook.get_execution("Job1", execution_id)
            active = [e async for e in hook.list_executions(is_active=True)]

    :param elastic_jobs_conn_id: an ``azure_elastic_jobs`` connection id.
    :param resource_group_name: overrides the connection's resource group.
    :param server_name: overrides the connection's server (the agent's server).
    :param agent_name: overrides the connection's job agent.
    """

    hook_name = "Azure SQL Elastic Jobs (async)"

    # Per-instance state, assigned on first load / open (class-level None until then).
    _settings: ElasticJobsConnectionSettings | None = None
    _client: SqlManagementClient | None = None
    _shared: shared_clients.SharedClient | None = None
    #: ARM's clock as the ``Date`` header of the latest execution-list page gave it (whole seconds:
    #: ARM's clock read at least this then); ``None`` before one answered with the header.
    server_date: datetime | None = None

    async def load_settings(self) -> ElasticJobsConnectionSettings:
        """Read and parse the connection once (async-safe in the triggerer)."""
        if self._settings is None:
            self._settings = await aread_connection(
                self.elastic_jobs_conn_id, ElasticJobsConnectionSettings.from_connection
            )
        return self._settings

    async def agent(self) -> AgentRef:
        """The job agent in use (overrides, else the connection's defaults)."""
        return self.connection_args.agent(await self.load_settings())

    async def __aenter__(self) -> ElasticJobsAsyncHook:
        settings = await self.load_settings()
        self._agent = self.connection_args.agent(settings)
        quiet_http_logging()
        self._shared = shared_clients.acquire(settings)
        self._client = self._shared.client
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the shared client (its last hook closes its HTTP session and credential)."""
        shared, self._shared, self._client = self._shared, None, None
        if shared is not None and self._settings is not None:
            await shared_clients.release(self._settings, shared)

    def _open(self) -> tuple[SqlManagementClient, tuple[str, str, str]]:
        """The open client and the agent's (resource group, server, agent) path arguments."""
        if self._client is None:
            raise RuntimeError("ElasticJobsAsyncHook is not open; use it as 'async with hook:'.")
        a = self._agent
        return self._client, (a.resource_group_name, a.server_name, a.agent_name)

    async def get_execution(self, job_name: str, job_execution_id: str) -> JobExecution | None:
        """A root job execution, or ``None`` when ARM answers 404."""
        from azure.core.exceptions import ResourceNotFoundError

        client, args = self._open()
        try:
            return await client.job_executions.get(*args, job_name, job_execution_id)
        except ResourceNotFoundError:
            return None

    def list_executions(
        self,
        job_name: str | None = None,
        *,
        create_time_min: datetime | None = None,
        is_active: bool | None = None,
        end_time_min: datetime | None = None,
    ) -> AsyncIterator[JobExecution]:
        """Root executions of one job, or of the whole agent when ``job_name`` is ``None`` (all pages).

        Filters are ARM's (``createTimeMin``, ``isActive``, ``endTimeMin``); ``None`` means no filter.
        """
        client, args = self._open()
        filters = {"create_time_min": create_time_min, "is_active": is_active, "end_time_min": end_time_min}
        if job_name is None:
            return client.job_executions.list_by_agent(*args, **filters)
        return client.job_executions.list_by_job(*args, job_name, **filters)

    async def execution_pages(
        self,
        *,
        is_active: bool | None = None,
        end_time_min: datetime | None = None,
        end_time_max: datetime | None = None,
    ) -> AsyncIterator[list[RootState]]:
        """Root executions of the whole agent (``isActive``, ``endTimeMin``, ``endTimeMax`` filters), a
        page at a time.

        The same request as ``job_executions.list_by_agent`` (its URL, the client's api-version,
        ``nextLink`` paging), sent through the client's pipeline; the pages are read as JSON and
        each execution parsed into a :class:`RootState` instead of a ``JobExecution`` model.
        Errors are mapped as the SDK maps them (401, 404, else ``HttpResponseError``).
        """
        from azure.core.rest import HttpRequest

        client, (group, server, agent) = self._open()
        settings = await self.load_settings()
        version = {"api-version": quote(client._config.api_version, safe="")}
        params = dict(version)  # already quoted, as azure-core expects
        if is_active is not None:
            params["isActive"] = "true" if is_active else "false"
        for name, bound in (("endTimeMin", end_time_min), ("endTimeMax", end_time_max)):
            if bound is not None:
                params[name] = quote(bound.isoformat(), safe="")
        url: str | None = (
            f"{{endpoint}}/subscriptions/{quote(settings.subscription_id)}/resourceGroups/{quote(group)}"
            f"/providers/Microsoft.Sql/servers/{quote(server)}/jobAgents/{quote(agent)}/executions"
        )
        while url is not None:
            request = HttpRequest("GET", url, params=params, headers={"Accept": "application/json"})
            response = _checked(await client.send_request(request))
            self.server_date = parse_http_date(response.headers.get("Date")) or self.server_date
            page = response.json()
            yield [RootState.from_json(item) for item in page.get("value", [])]
            # The next link carries the filters; the client's api-version where it has none.
            url, params = page.get("nextLink") or None, dict(version)

    async def list_target_executions(self, job_name: str, job_execution_id: str) -> list[JobExecution]:
        """Per-target executions of every step of a root execution (all pages)."""
        client, args = self._open()
        pages = client.job_target_executions.list_by_job_execution(*args, job_name, job_execution_id)
        return [t async for t in pages]

    async def cancel_execution(self, job_name: str, job_execution_id: str) -> None:
        """Request cancellation (idempotent in ARM: repeat cancels also answer 200)."""
        client, args = self._open()
        await client.job_executions.cancel(*args, job_name, job_execution_id)


def _checked(response: AsyncHttpResponse) -> AsyncHttpResponse:
    """``response`` when it is a 200; else the exception the SDK's operations raise for it."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        map_error,
    )
    from azure.mgmt.core.exceptions import ARMErrorFormat

    if response.status_code != 200:
        errors = {401: ClientAuthenticationError, 404: ResourceNotFoundError}
        map_error(status_code=response.status_code, response=response, error_map=errors)
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    return response
