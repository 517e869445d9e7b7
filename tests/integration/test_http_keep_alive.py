"""An idle kept-alive connection stays open long enough for a client's next request, a POST included.

The emulator once closed idle connections after uvicorn's default 5 s. A client that reused a pooled
connection just as the server closed it got "Remote end closed connection without response", and
azure-core sends no POST (start, cancel) again after that. The emulator now keeps an idle connection
``IDLE_CONNECTION_SECONDS`` (its ``cli.py``; docs/emulator.md, "Installing and starting it").
"""

from __future__ import annotations

import http.client
import select
import ssl
import time
from urllib.parse import urlsplit

import pytest

from tests.support.emulator import API_VERSION, EmulatorProcess, unique_name

pytestmark = pytest.mark.integration

#: Longer than uvicorn's default keep-alive (5 s), the value this test failed with.
IDLE_SECONDS = 8.0


def test_a_post_goes_out_on_a_connection_idle_longer_than_uvicorns_default(emulator: EmulatorProcess) -> None:
    url = urlsplit(emulator.url)
    context = ssl.create_default_context(cafile=str(emulator.cert_path))
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context, timeout=30)
    headers = {"Authorization": f"Bearer {emulator.token}"}
    servers = emulator.arm_path(unique_name("rg"), "servers")
    try:
        connection.request("GET", f"{servers}?api-version={API_VERSION}", headers=headers)
        listed = connection.getresponse()
        assert listed.status == 200, listed.read()
        assert listed.getheader("Connection", "").lower() != "close"
        listed.read()
        socket_before = connection.sock

        time.sleep(IDLE_SECONDS)
        closed_by_server = select.select([connection.sock], [], [], 0)[0] != []
        assert not closed_by_server, f"the emulator closed a connection idle for {IDLE_SECONDS} s"

        start = f"{servers}/nowhere/jobAgents/none/jobs/missing/start?api-version={API_VERSION}"
        connection.request("POST", start, headers=headers)
        started = connection.getresponse()  # RemoteDisconnected if the server had closed it
        assert connection.sock is socket_before, "the POST went out on a new connection"
        assert started.status == 404, started.read()
        assert "ServerNotInSubscriptionResourceGroup" in started.read().decode()
    finally:
        connection.close()
