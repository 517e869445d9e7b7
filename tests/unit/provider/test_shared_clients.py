"""One open async client per connection and event loop, shared by the hooks of every agent."""

from __future__ import annotations

import dataclasses

from airflow_elasticjobs.hooks import shared_clients
from tests.unit.provider.test_connection_settings import EMULATOR, parse


async def test_hooks_of_one_connection_share_one_client_whatever_agent_they_point_at():
    settings = parse(token="tok", endpoint=EMULATOR, agent_name="a1")
    first = shared_clients.acquire(settings)
    second = shared_clients.acquire(dataclasses.replace(settings, agent_name="a2", server_name="s2"))
    assert second is first and first.users == 2
    await shared_clients.release(settings, second)
    assert shared_clients.acquire(settings) is first  # still open: one user left, now two again
    await shared_clients.release(settings, first)
    await shared_clients.release(settings, first)  # the last user closes it
    reopened = shared_clients.acquire(settings)
    assert reopened is not first
    await shared_clients.release(settings, reopened)


async def test_a_changed_connection_gets_its_own_client():
    """E.g. a rotated secret: hooks reading the new connection do not reuse the old credential."""
    old = shared_clients.acquire(parse(token="old", endpoint=EMULATOR))
    new = shared_clients.acquire(parse(token="new", endpoint=EMULATOR))
    assert new is not old
    await shared_clients.release(parse(token="old", endpoint=EMULATOR), old)
    await shared_clients.release(parse(token="new", endpoint=EMULATOR), new)


async def test_one_client_keeps_few_connections():
    shared = shared_clients.acquire(parse(token="tok", endpoint=EMULATOR))
    session = shared.client._client._pipeline._transport.session
    assert session.connector.limit == shared_clients.MAX_CONNECTIONS
    await shared_clients.release(parse(token="tok", endpoint=EMULATOR), shared)
    assert session.closed
