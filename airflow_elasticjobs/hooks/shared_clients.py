"""One open async ``SqlManagementClient`` per connection and event loop, shared by every open async hook.

A triggerer waiting on 100 agents through one connection opens one client, one credential and one
aiohttp session (one connection pool) for all of them, not one per agent poller: the pool holds at
most :data:`MAX_CONNECTIONS` connections, so a burst of requests (100 pollers' first sights) waits
for a free connection instead of opening hundreds of TLS sockets, each with asyncio's 256 KB read
buffer (docs/performance.md). The client is closed when the last hook using it closes.

The key is the whole parsed connection (secrets included) without the agent it points at: a
connection whose secret was rotated gets a new client and credential; hooks still open on the old
one keep it until they close.

One SSL context per client: given ``connection_verify`` as a CA-bundle path (how the provider trusts
the emulator's certificate), azure-core's ``AioHttpTransport`` builds a new ``ssl.SSLContext`` for
every request, and aiohttp pools connections per SSL context, so no connection would ever be reused
(one TLS handshake and one lingering socket per request). The client's session therefore has a
connector that owns one context (:func:`shared_session_transport`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import weakref
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.credentials import build_async_credential

if TYPE_CHECKING:
    from azure.mgmt.sql.aio import SqlManagementClient

#: Connections one shared client keeps open at most (requests beyond wait for one to be free).
MAX_CONNECTIONS = 16


def shared_session_transport(verify: bool | str) -> dict[str, Any]:
    """Client keyword arguments giving every request of a client one connection pool and SSL context.

    :param verify: the connection's ``verify``: ``True`` (system CAs), ``False`` (no verification) or
        the path of a CA bundle file or directory.
    :return: ``transport`` (an ``AioHttpTransport`` owning its aiohttp session, at most
        :data:`MAX_CONNECTIONS` connections, closed with the client) and ``connection_verify=True``
        so azure-core leaves the connector's context alone. Must be called inside a running event
        loop.
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
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context, limit=MAX_CONNECTIONS))
    return {"transport": AioHttpTransport(session=session, session_owner=True), "connection_verify": True}


class SharedClient:
    """An open client and its credential, and how many open hooks use it."""

    def __init__(self, settings: ElasticJobsConnectionSettings) -> None:
        from azure.mgmt.sql.aio import SqlManagementClient

        self.credential = build_async_credential(settings)
        self.client: SqlManagementClient = SqlManagementClient(
            self.credential,
            settings.subscription_id,
            **(settings.client_kwargs() | shared_session_transport(settings.verify)),
        )
        self.users = 0

    async def close(self) -> None:
        """Close the client's HTTP session and the credential."""
        await self.client.close()
        await self.credential.close()


_OPEN: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[ElasticJobsConnectionSettings, SharedClient]
] = weakref.WeakKeyDictionary()


def _key(settings: ElasticJobsConnectionSettings) -> ElasticJobsConnectionSettings:
    """What a client depends on: the connection without the agent it points at."""
    return dataclasses.replace(settings, resource_group_name=None, server_name=None, agent_name=None)


def acquire(settings: ElasticJobsConnectionSettings) -> SharedClient:
    """The running loop's open client for ``settings``, opened on first use; :func:`release` it."""
    clients = _OPEN.setdefault(asyncio.get_running_loop(), {})
    key = _key(settings)
    shared = clients.get(key)
    if shared is None:
        shared = clients[key] = SharedClient(settings)
    shared.users += 1
    return shared


async def release(settings: ElasticJobsConnectionSettings, shared: SharedClient) -> None:
    """One user fewer; the last one closes the client (a later :func:`acquire` opens a new one)."""
    shared.users -= 1
    if shared.users:
        return
    clients = _OPEN.get(asyncio.get_running_loop(), {})
    if clients.get(_key(settings)) is shared:
        del clients[_key(settings)]
    await shared.close()
