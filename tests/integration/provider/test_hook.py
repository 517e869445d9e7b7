"""``ElasticJobsHook`` against the running emulator: ``test_connection`` outcomes, the one retry policy
for transient faults, and the job-execution methods (caller-chosen id, filters, cancel, per-target lists)."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
from tests.integration.provider.resource_support import (
    CONN_ID,
    Names,
    build_agent,
    connection_json,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def hook_with(monkeypatch: pytest.MonkeyPatch, emulator, names: Names, **extras) -> ElasticJobsHook:
    monkeypatch.setenv("AIRFLOW_CONN_EJ_VARIANT", connection_json(emulator, names, **extras))
    return ElasticJobsHook("ej_variant")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_test_connection_reports_success_and_each_failure(
    emulator, names: Names, monkeypatch, tmp_path
) -> None:
    build_agent(names).close()
    ok, message = ElasticJobsHook(CONN_ID).test_connection()
    assert ok, message
    assert f"server {names.agent_server!r} has job agents ['{names.agent}']" in message

    wrong_token = "wrong-token-value"
    ok, message = hook_with(monkeypatch, emulator, names, token=wrong_token).test_connection()
    assert not ok
    assert message.startswith("Authentication failed (401)")
    assert wrong_token not in message

    ok, message = hook_with(monkeypatch, emulator, names, verify="true").test_connection()
    assert not ok
    assert "TLS verification failed" in message and "'verify'" in message

    ok, message = hook_with(monkeypatch, emulator, names, server_name="no-such-server").test_connection()
    assert not ok
    assert message.startswith("Not found:") and "no-such-server" in message

    ok, message = hook_with(
        monkeypatch, emulator, names, endpoint=f"https://127.0.0.1:{free_port()}", retry_total=0
    ).test_connection()
    assert not ok
    assert message.startswith("Endpoint unreachable")


def test_transient_faults_are_retried_by_the_one_policy(emulator, names: Names) -> None:
    hook = build_agent(names)
    emulator.reset_controls()
    emulator.set_faults(
        [
            {"kind": "503", "path": "/jobAgents/[^/]+$", "method": "GET", "max_count": 1},
            {"kind": "429", "path": "/jobAgents/[^/]+$", "method": "GET", "max_count": 1, "retry_after": 1},
        ]
    )
    try:
        agent = hook.get_agent()
        counters = emulator.counters()
    finally:
        emulator.reset_controls()
    assert agent is not None and agent.name == names.agent
    agent_gets = [
        n for path, n in counters.items() if path.startswith("GET ") and path.endswith("/jobAgents/{}")
    ]
    assert agent_gets == [3]  # 503, then 429 (Retry-After honoured), then the answer
    hook.close()


def test_job_executions(emulator, names: Names) -> None:
    hook = build_agent(names)
    hook.create_or_update_credential("jobuser", "jobuser", "Some-Passw0rd!")
    member = {"type": "SqlDatabase", "serverName": names.target_server, "databaseName": "TargetDb1"}
    hook.create_or_update_target_group("g", [member])
    hook.create_or_update_job("JobX")
    hook.create_or_update_step(
        "JobX",
        "s1",
        {
            "properties": {
                "targetGroup": hook.agent.target_group_id("g"),
                "credential": hook.agent.credential_id("jobuser"),
                # No target setup was done, so the login fails and the target waits 30 s for a retry:
                # the execution stays active (WaitingForRetry) until it is cancelled.
                "action": {"value": "SELECT 1"},
                "executionOptions": {
                    "retryAttempts": 3,
                    "initialRetryIntervalSeconds": 30,
                    "maximumRetryIntervalSeconds": 30,
                    "timeoutSeconds": 60,
                },
            }
        },
    )
    assert [v.name for v in hook.list_versions("JobX")] == ["1"]

    execution_id = str(uuid.uuid4())
    started = hook.start_execution("JobX", execution_id)
    again = hook.start_execution("JobX", execution_id)  # same id: re-attaches, starts nothing new
    assert started.name == again.name == execution_id
    assert [e.name for e in hook.list_executions("JobX")] == [execution_id]
    assert [e.name for e in hook.list_executions(is_active=True)] == [execution_id]

    hook.cancel_execution("JobX", execution_id)
    hook.cancel_execution("JobX", execution_id)  # idempotent
    deadline = time.monotonic() + 30
    while (execution := hook.get_execution("JobX", execution_id)).properties.lifecycle != "Canceled":
        assert time.monotonic() < deadline, execution.properties.lifecycle
        time.sleep(0.3)
    assert hook.list_executions("JobX", is_active=True) == []
    assert [s.properties.step_name for s in hook.list_step_executions("JobX", execution_id)] == ["s1"]
    targets = hook.list_target_executions("JobX", execution_id)
    assert [t.properties.target.database_name for t in targets] == ["TargetDb1"]
    assert hook.list_target_executions("JobX", execution_id, "s1")[0].name == targets[0].name
    assert hook.get_execution("JobX", str(uuid.uuid4())) is None
    hook.close()
