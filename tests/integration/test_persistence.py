"""Definitions survive a kill -9 and restart; no password is stored as text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.definitions import (
    ADMIN_PASSWORD,
    LOCATION,
    create_agent_setup,
    create_database,
    create_server,
)
from tests.support.emulator import EmulatorProcess

pytestmark = pytest.mark.integration

SECRET = "Persisted-Secret-Pw-7"


@pytest.fixture
def own_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tmp_path / "state") as emulator:
        yield emulator


def _snapshot(emulator: EmulatorProcess, rg: str, server: str, agent: str) -> dict[str, object]:
    with emulator.management_client() as client:
        names = (rg, server, agent)
        return {
            "server": client.servers.get(rg, server).as_dict(),
            "databases": [d.as_dict() for d in client.databases.list_by_server(rg, server)],
            "agent": client.job_agents.get(*names).as_dict(),
            "credentials": [c.as_dict() for c in client.job_credentials.list_by_agent(*names)],
            "groups": [g.as_dict() for g in client.job_target_groups.list_by_agent(*names)],
            "jobs": [j.as_dict() for j in client.jobs.list_by_agent(*names)],
            "steps": [s.as_dict() for s in client.job_steps.list_by_job(*names, "Job1")],
            "versions": [v.as_dict() for v in client.job_versions.list_by_job(*names, "Job1")],
            "v1_steps": [s.as_dict() for s in client.job_steps.list_by_version(*names, "Job1", 1)],
        }


def test_definitions_survive_kill_9(own_emulator: EmulatorProcess) -> None:
    with own_emulator.management_client() as client:
        setup = create_agent_setup(client, "rg")
        names = setup.names()
        credential = client.job_credentials.create_or_update(
            *names, "cred", {"properties": {"username": "jobuser", "password": SECRET}}
        )
        members = [{"type": "SqlServer", "serverName": setup.server, "refreshCredential": credential.id}]
        group = client.job_target_groups.create_or_update(
            *names, "group", {"properties": {"members": members}}
        )
        schedule = {"type": "Recurring", "interval": "P1D", "enabled": False}
        client.jobs.create_or_update(
            *names, "Job1", {"properties": {"description": "d", "schedule": schedule}}
        )
        for step in ("one", "two"):
            body = {
                "properties": {
                    "targetGroup": group.id,
                    "credential": credential.id,
                    "action": {"value": step},
                }
            }
            client.job_steps.create_or_update(*names, "Job1", step, body)
    before = _snapshot(own_emulator, *names)
    first_pid = own_emulator.pid

    own_emulator.restart(kill=True)

    assert own_emulator.pid != first_pid
    assert _snapshot(own_emulator, *names) == before
    with own_emulator.management_client() as client:  # and the restarted emulator keeps working
        assert client.jobs.create_or_update(*names, "Job2", {}).properties.version == 0
    stored = b"".join(path.read_bytes() for path in own_emulator.state_dir.rglob("*") if path.is_file())
    assert SECRET.encode() not in stored
    assert ADMIN_PASSWORD.encode() not in stored


def test_agent_operation_in_flight_completes_after_kill_9(own_emulator: EmulatorProcess) -> None:
    with own_emulator.management_client() as client:
        server = create_server(client, "rg")
        database = create_database(client, "rg", server.name, "JobDatabase")
        body = {"location": LOCATION, "properties": {"databaseId": database.id}}
        client.job_agents.begin_create_or_update("rg", server.name, "agent", body)  # not waited for
        assert client.job_agents.get("rg", server.name, "agent").properties.state == "Creating"

    own_emulator.restart(kill=True)

    with own_emulator.management_client() as client:
        deadline = time.monotonic() + 10
        state = client.job_agents.get("rg", server.name, "agent").properties.state
        while state != "Ready" and time.monotonic() < deadline:
            time.sleep(0.2)
            state = client.job_agents.get("rg", server.name, "agent").properties.state
    assert state == "Ready"


def test_certificate_is_reused_across_restarts(own_emulator: EmulatorProcess) -> None:
    certificate = own_emulator.cert_path.read_bytes()
    own_emulator.restart(kill=False)
    assert own_emulator.cert_path.read_bytes() == certificate
    assert f"certificate: {own_emulator.cert_path}" in own_emulator.log_text()
