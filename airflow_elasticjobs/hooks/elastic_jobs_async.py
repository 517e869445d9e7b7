"""``ElasticJobsAsyncHook``: the async hook over ``azure.mgmt.sql.aio`` for triggers.

azure-core's per-request HTTP log lines are kept out of the triggerer's log
(:func:`~airflow_elasticjobs.hooks.sdk_logging.quiet_http_logging`). Everything is awaited on the
triggerer's event loop: the connection is read with
``BaseHook.aget_connection`` (the Airflow 3 task-SDK's async-safe path), credentials come from
:func:`~airflow_elasticjobs.hooks.credentials.build_async_credential`, and the client and credential
are opened and closed together by ``async with``. ``azure.*`` is imported lazily.

One HTTP session per open hook, with **one** SSL context: given ``connection_verify`` as a CA-bundle
path (how the provider trusts the emulator's certificate), azure-core's ``AioHttpTransport`` builds a
new ``ssl.SSLContext`` for every request, and aiohttp pools connections per SSL context, so no
connection would ever be reused (one TLS handshake and one lingering socket per request; +350 MB
for 1,000 deferred waiters in ``benchmarks/triggerer.py``). The hook therefore builds the context
once and hands the transport a session whose connector owns it (see ``docs/performance.md``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.compat import aread_connection
from airflow_elasticjobs.hooks.base import ElasticJobsHookBase
from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.credentials import build_async_credential
from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.hooks.sdk_logging import quiet_http_logging

if TYPE_CHECKING:
    from azure.mgmt.sql.aio import SqlManagementClient
    from azure.mgmt.sql.models import JobExecution


def shared_session_transport(verify: bool | str) -> dict[str, Any]:
    """Client keyword arguments giving every request of a client one connection pool and SSL context.

    :param verify: the connection's ``verify``: ``True`` (system CAs), ``False`` (no verification) or
        the path of a CA bundle file or directory.
    :return: ``transport`` (an ``AioHttpTransport`` owning its aiohttp session, closed with the
        client) and ``connection_verify=True`` so azure-core leaves the connector's context alone.
        Must be called inside a running event loop.
    """
    import ssl

    import aiohttp
    from azure.core.pipeline.transport import AioHttpTransport

    context: ssl.SSLContext | bool
    if isinstance(verify, str):
        where = {"capath": verify} if os.path.isdir(verify) else {"cafile": verify}
        context = ssl.create_default_context(**where)
    else:
        context = ssl.create_default_context() if verify else False
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
    return {"transport": AioHttpTransport(session=session, session_owner=True), "connection_verify": True}


class ElasticJobsAsyncHook(ElasticJobsHookBase):
    """Async hook for Azure SQL Elastic Jobs executions, used by triggers.

    Use it as an async context manager; the client and its credential are closed on exit.

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
    _credential: Any = None

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
        from azure.mgmt.sql.aio import SqlManagementClient

        settings = await self.load_settings()
        self._agent = self.connection_args.agent(settings)
        quiet_http_logging()
        self._credential = build_async_credential(settings)
        self._client = SqlManagementClient(
            self._credential,
            settings.subscription_id,
            **(settings.client_kwargs() | shared_session_transport(settings.verify)),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client's HTTP session and the credential."""
        client, credential = self._client, self._credential
        self._client = self._credential = None
        if client is not None:
            await client.close()
        if credential is not None:
            await credential.close()

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

    async def list_target_executions(self, job_name: str, job_execution_id: str) -> list[JobExecution]:
        """Per-target executions of every step of a root execution (all pages)."""
        client, args = self._open()
        pages = client.job_target_executions.list_by_job_execution(*args, job_name, job_execution_id)
        return [t async for t in pages]

    async def cancel_execution(self, job_name: str, job_execution_id: str) -> None:
        """Request cancellation (idempotent in ARM: repeat cancels also answer 200)."""
        client, args = self._open()
        await client.job_executions.cancel(*args, job_name, job_execution_id)
