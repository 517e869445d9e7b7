"""The async hook reuses one TLS connection for its requests when ``verify`` is a CA-bundle path.

The hooks of one connection share one client: a burst of requests from many agents' hooks (a
triggerer's first sights) opens at most ``MAX_CONNECTIONS`` sockets.

Regression test for the triggerer memory bug in ``docs/performance.md``: azure-core's aio transport
built a new ``SSLContext`` per request from a CA path, so aiohttp pooled nothing and every request
left its own socket open. Counted from the client side (psutil; Airflow depends on it): the sockets
of this process connected to the emulator's port.
"""

from __future__ import annotations

import asyncio
import contextlib

import psutil
import pytest

from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook
from airflow_elasticjobs.hooks.shared_clients import MAX_CONNECTIONS

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

REQUESTS = 20


def sockets_to(port: int) -> int:
    """Established TCP connections of this process to ``127.0.0.1:port``."""
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


@pytest.mark.parametrize("verify", ["ca_path", "off"])
async def test_requests_of_one_hook_share_one_connection(emulator, monkeypatch, verify: str) -> None:
    connection = emulator.connection_json(
        "rg-connections",
        "no-such-server",
        "no-such-agent",
        verify=str(emulator.cert_path) if verify == "ca_path" else False,
    )
    monkeypatch.setenv("AIRFLOW_CONN_EJ_CONNECTIONS", connection)
    before = sockets_to(emulator.port)

    async with ElasticJobsAsyncHook("ej_connections") as hook:
        for _ in range(REQUESTS):  # each a real HTTPS round trip, answered 404 -> None
            assert await hook.get_execution("Job1", "00000000-0000-0000-0000-000000000001") is None
        during = sockets_to(emulator.port) - before

    assert during == 1, f"{REQUESTS} sequential requests used {during} connections; expected 1 reused"
    assert sockets_to(emulator.port) == before, "closing the hook must close its connections"


async def test_a_burst_from_many_agents_hooks_uses_one_bounded_pool(emulator, monkeypatch) -> None:
    connection = emulator.connection_json(
        "rg-connections", "no-such-server", "no-such-agent", verify=str(emulator.cert_path)
    )
    monkeypatch.setenv("AIRFLOW_CONN_EJ_CONNECTIONS", connection)
    before = sockets_to(emulator.port)
    peak = 0

    async def get(hook: ElasticJobsAsyncHook) -> None:
        nonlocal peak
        assert await hook.get_execution("Job1", "00000000-0000-0000-0000-000000000001") is None
        peak = max(peak, sockets_to(emulator.port) - before)

    async with contextlib.AsyncExitStack() as stack:
        hooks = [
            await stack.enter_async_context(ElasticJobsAsyncHook("ej_connections", agent_name=f"agent{i}"))
            for i in range(10)
        ]
        await asyncio.gather(*(get(hook) for hook in hooks for _ in range(MAX_CONNECTIONS)))

    assert 1 <= peak <= MAX_CONNECTIONS, f"{10 * MAX_CONNECTIONS} requests at once used {peak} connections"
    assert sockets_to(emulator.port) == before, "closing the last hook must close the shared connections"
