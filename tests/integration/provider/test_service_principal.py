"""Service-principal connections end to end: the real ``azure.identity`` credentials (MSAL for the sync
hook, azure-identity's own client for the async hook) get tokens from the emulator's Entra ID token
endpoint (extra ``authority``), and the hooks and operators make real ARM calls with them.

Also the failures a real identity brings: a wrong client secret (Entra ID answers ``invalid_client``
AADSTS7000215) and a ``reader`` role (ARM answers 403 ``AuthorizationFailed`` to every write).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from airflow_elasticjobs.compat import AirflowException
from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook
from airflow_elasticjobs.operators.credential import ElasticJobsCredentialOperator
from tests.integration.executions_world import World
from tests.integration.provider.execution_support import run_dag, sql_job, task_instance
from tests.support.emulator import FAST_RETRIES, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SP_CONN_ID = "elastic_jobs_sp"
CREDENTIAL_CONN_ID = "elastic_jobs_sp_cred"


def _secret() -> str:
    return f"Sp-Secret-{uuid.uuid4().hex}"


def _principal(
    world: World, monkeypatch: pytest.MonkeyPatch, role: str = "contributor", **extras: Any
) -> str:
    """Register a principal and point ``SP_CONN_ID`` at it; returns its client id (its secret is
    ``monkeypatch``-ed into the connection only, unless ``secret`` is given in ``extras``)."""
    client_id = unique_name("app")
    secret = extras.pop("secret", None) or _secret()
    world.emulator.register_principal(client_id, secret, role=role)
    connection = world.emulator.service_principal_connection_json(
        client_id,
        extras.pop("login_secret", secret),
        world.rg,
        world.agent_server,
        world.agent,
        **FAST_RETRIES,
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{SP_CONN_ID.upper()}", connection)
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CREDENTIAL_CONN_ID.upper()}",
        '{"conn_type": "generic", "login": "spuser", "password": "Sp-Cred-Passw0rd!"}',
    )
    return client_id


def _credential_operator(task_id: str = "sp_credential") -> ElasticJobsCredentialOperator:
    return ElasticJobsCredentialOperator(
        task_id=task_id,
        elastic_jobs_conn_id=SP_CONN_ID,
        credential_name="spcred",
        credential_conn_id=CREDENTIAL_CONN_ID,
    )


def test_sync_hook_authenticates_as_a_service_principal(world: World, monkeypatch) -> None:
    client_id = _principal(world, monkeypatch)
    hook = ElasticJobsHook(SP_CONN_ID)
    try:
        assert hook.settings.auth_method == f"service principal (client secret) via {world.emulator.url}"
        assert hook.test_connection()[0]
        assert hook.get_agent().name == world.agent
        hook.create_or_update_credential("spsync", "spuser", "Sp-Cred-Passw0rd!")
        assert "spsync" in {c.name for c in hook.list_credentials()}
    finally:
        hook.close()
    assert world.emulator.principals()[client_id]["tokens_issued"] >= 1


async def test_async_hook_authenticates_as_a_service_principal(world: World, monkeypatch) -> None:
    client_id = _principal(world, monkeypatch)
    job = sql_job(world, "SpAsyncJob", "PRINT 'hello';")
    execution = world.start(job)
    async with ElasticJobsAsyncHook(SP_CONN_ID) as hook:
        found = await hook.get_execution(job, execution.name)
        assert found is not None and found.name == execution.name
        assert [e.name async for e in hook.list_executions(job)] == [execution.name]
    assert world.emulator.principals()[client_id]["tokens_issued"] >= 1


async def test_a_wrong_secret_through_the_async_credential_is_not_worth_waiting_for(
    world: World, monkeypatch
) -> None:
    """A deferred wait must fail at once, not after its error budget: Entra ID's answer is final."""
    from azure.core.exceptions import ClientAuthenticationError

    from airflow_elasticjobs.waiting import is_transient

    _principal(world, monkeypatch, secret=_secret(), login_secret=_secret())
    async with ElasticJobsAsyncHook(SP_CONN_ID) as hook:
        with pytest.raises(ClientAuthenticationError) as refused:
            await hook.get_execution("Job1", str(uuid.uuid4()))
    assert "AADSTS7000215" in str(refused.value)
    assert not is_transient(refused.value)


def test_a_wrong_client_secret_fails_with_the_providers_message(world: World, monkeypatch) -> None:
    right, wrong = _secret(), _secret()
    _principal(world, monkeypatch, secret=right, login_secret=wrong)
    with pytest.raises(AirflowException) as failed:
        _credential_operator().execute({})
    message = str(failed.value)
    assert "Authentication failed" in message
    assert "check the connection's client id, secret and tenant" in message
    assert repr(SP_CONN_ID) in message
    assert right not in message and wrong not in message
    assert "Entra ID AADSTS7000215: invalid client secret" in message  # the emulator's Entra answer
    log = world.emulator.log_text()
    assert right not in log and wrong not in log


def test_a_reader_may_read_but_a_write_fails_with_403(world: World, monkeypatch) -> None:
    client_id = _principal(world, monkeypatch, role="reader")
    object_id = world.emulator.principals()[client_id]["object_id"]
    hook = ElasticJobsHook(SP_CONN_ID)
    try:
        assert hook.get_agent().name == world.agent  # reading is allowed
    finally:
        hook.close()

    with pytest.raises(AirflowException) as failed:
        _credential_operator().execute({})
    message = str(failed.value)
    assert "ARM answered 403: AuthorizationFailed" in message
    assert f"The client '{object_id}' with object id '{object_id}'" in message
    assert "'Microsoft.Sql/servers/jobAgents/credentials/write'" in message
    assert world.agent_path("credentials", "spcred") in message
    assert "Give the connection's identity a role" in message
    assert repr(SP_CONN_ID) in message


def test_a_reader_task_fails_in_a_dag_run_and_creates_nothing(world: World, monkeypatch) -> None:
    from airflow.sdk import DAG

    _principal(world, monkeypatch, role="reader")
    with DAG(f"sp_reader_{uuid.uuid4().hex[:8]}", schedule=None, catchup=False) as dag:
        _credential_operator("reader_credential")
    dag_run = run_dag(dag)
    assert task_instance(dag_run, "reader_credential").state == "failed"
    with pytest.raises(ResourceNotFoundError):
        world.client.job_credentials.get(world.rg, world.agent_server, world.agent, "spcred")
