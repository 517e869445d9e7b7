"""The live tests' teardown (``tests/live/``, docs/live-tests.md) and ``python -m tests.live.cleanup``
against the emulator: the code that stops Azure billing must delete the run's agents and servers and
nothing else. The real ``azure-mgmt-sql`` client over HTTPS against the shared emulator process."""

from __future__ import annotations

import pytest

from tests.live.azure_fleet import delete_servers_with_prefix
from tests.support.definitions import create_agent_setup, create_server
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_deletes_the_runs_agents_and_servers_and_nothing_else(
    emulator: EmulatorProcess, resource_group: str
) -> None:
    rg = resource_group
    with emulator.management_client() as client:
        with_agent = create_agent_setup(client, rg)  # a server named srv-… with a Ready agent
        prefix = with_agent.server[:-2]  # "srv-3f9a1c" for "srv-3f9a1c2b"
        create_server(client, rg, f"{prefix}zz")  # same run prefix, no agent
        other = create_server(client, rg, unique_name("ejlive-other-run")).name
        emulator.reset_controls()

        assert delete_servers_with_prefix(client, rg, prefix) == []

        left = sorted(s.name for s in client.servers.list_by_resource_group(rg))
    assert left == [other]
    # The agent is deleted explicitly (its billing stops first), then both servers of the prefix.
    deleted = {
        path.rsplit("/", 2)[-2]: n for path, n in emulator.counters().items() if path.startswith("DELETE")
    }
    assert deleted == {"jobAgents": 1, "servers": 2}
