"""A client secret rotated while triggers wait: the agent's shared poller keeps its hook (and
credential) open across rounds, so when its cached token expires the credential asks Entra ID for a
new one with the old, revoked secret and is refused (AADSTS7000215). The poller must read the
connection again and build a new credential before calling that refusal permanent: the watches go on
and end normally.

Real ``azure.identity.aio`` credential against the emulator's Entra ID token endpoint; the
connection comes from an ``AIRFLOW_CONN_*`` variable, updated as an operator rotating the secret would.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger
from tests.integration.provider.execution_support import sql_job
from tests.support.emulator import FAST_RETRIES, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CONN_ID = "elastic_jobs_rotating"
TOKEN_LIFETIME = 3  # seconds: the first token expires while the jobs still run


def use_secret(world, monkeypatch, client_id: str, secret: str) -> None:
    """Register (or re-register: rotate) the principal's secret and point the connection at it."""
    world.emulator.register_principal(client_id, secret, lifetime_seconds=TOKEN_LIFETIME)
    connection = world.emulator.service_principal_connection_json(
        client_id, secret, world.rg, world.agent_server, world.agent, **FAST_RETRIES
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection)


async def test_watches_survive_a_client_secret_rotation(world, monkeypatch, caplog):
    client_id, old_secret = unique_name("app"), f"old-{uuid.uuid4().hex}"
    use_secret(world, monkeypatch, client_id, old_secret)
    # Two jobs (a second execution of a running job would be Skipped), one shared poller.
    jobs = [sql_job(world, f"RotationJob{i}", "WAITFOR DELAY '00:00:08';", timeoutSeconds=60) for i in (1, 2)]
    triggers = [
        ElasticJobsExecutionTrigger(
            elastic_jobs_conn_id=CONN_ID,
            job_name=job,
            execution_id=world.start(job).name,
            poll_interval=0.5,
            error_budget=30.0,
        )
        for job in jobs
    ]
    caplog.set_level(logging.WARNING, logger="airflow_elasticjobs.triggers.poller")

    waiting = [asyncio.ensure_future(asyncio.wait_for(anext(t.run()), 60)) for t in triggers]
    for _ in range(100):  # bounded: until the first token (old secret) was issued
        if world.emulator.principals()[client_id]["tokens_issued"]:
            break
        await asyncio.sleep(0.1)
    use_secret(world, monkeypatch, client_id, f"new-{uuid.uuid4().hex}")  # the old secret is revoked
    events = [event.payload for event in await asyncio.gather(*waiting)]

    assert [(e["status"], e["lifecycle"]) for e in events] == [("done", "Succeeded")] * 2
    reread = [r for r in caplog.records if "reading the connection again" in r.getMessage()]
    assert reread and "AADSTS7000215" in reread[0].getMessage()  # the old secret was really refused
    assert world.emulator.principals()[client_id]["tokens_issued"] >= 2
    assert not [r for r in caplog.records if old_secret in r.getMessage()]
