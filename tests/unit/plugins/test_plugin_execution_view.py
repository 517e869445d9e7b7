"""The plugin's JSON view of an execution, built from real ``azure.mgmt.sql`` models."""

from __future__ import annotations

from typing import Any

import pytest
from azure.mgmt.sql.models import JobExecution

from airflow_elasticjobs.plugins.execution_view import ExecutionRef, build_view

REF = {
    "conn_id": "azure_elastic_jobs_default",
    "resource_group_name": "rg",
    "server_name": "agentserver",
    "agent_name": "ElasticJobAgent",
    "job_name": "Job1",
    "execution_id": "6b1c5e0e-0000-4000-8000-000000000001",
}


def _execution(lifecycle: str, **properties: Any) -> JobExecution:
    """A JobExecution deserialised from the JSON shape ARM answers with."""
    body = {"lifecycle": lifecycle, "createTime": "2025-01-01T00:00:00Z", "currentAttempts": 1, **properties}
    return JobExecution({"name": "x", "properties": body})


def _target(step_id: int, server: str, database: str | None, lifecycle: str, **extra: Any) -> JobExecution:
    target = {"type": "SqlDatabase" if database else "SqlServer", "serverName": server}
    if database:
        target["databaseName"] = database
    return _execution(lifecycle, stepId=step_id, stepName=f"step{step_id}", target=target, **extra)


def test_ref_round_trips_the_xcom_value() -> None:
    assert ExecutionRef.from_xcom(dict(REF)).agent_name == "ElasticJobAgent"


@pytest.mark.parametrize("field", sorted(REF))
def test_ref_names_the_missing_field(field: str) -> None:
    value = {k: v for k, v in REF.items() if k != field}
    with pytest.raises(ValueError, match=repr(field)):
        ExecutionRef.from_xcom(value)


def test_ref_rejects_a_non_object() -> None:
    with pytest.raises(ValueError, match="JSON object, got str"):
        ExecutionRef.from_xcom("6b1c5e0e")


def test_view_lists_steps_and_targets_sorted_and_counts_databases_only() -> None:
    root = _execution(
        "Failed", startTime="2025-01-01T00:00:01Z", endTime="2025-01-01T00:01:00Z", jobVersion=2
    )
    steps = [
        _execution("Failed", stepId=2, stepName="step2", lastMessage="Step 2 failed"),
        _execution("Succeeded", stepId=1, stepName="step1"),
    ]
    targets = [
        _target(2, "targetserver", "TargetDb1", "Failed", lastMessage="Login failed for user 'jobuser'."),
        _target(1, "targetserver", "TargetDb2", "Succeeded"),
        _target(1, "targetserver", None, "Succeeded"),  # the server member's own expansion row
        _target(1, "targetserver", "TargetDb1", "Succeeded"),
    ]
    view = build_view(
        ExecutionRef.from_xcom(REF), root, steps, targets, "https://127.0.0.1:8443/_emulator/ui/x"
    )

    assert view["execution"]["lifecycle"] == "Failed"
    assert view["execution"]["job_version"] == 2
    assert view["execution"]["end_time"].startswith("2025-01-01T00:01:00")
    assert view["active"] is False
    assert [s["step_id"] for s in view["steps"]] == [1, 2]
    assert [(t["step_id"], t["database_name"]) for t in view["targets"]] == [
        (1, None),
        (1, "TargetDb1"),
        (1, "TargetDb2"),
        (2, "TargetDb1"),
    ]
    assert view["targets"][-1]["last_message"] == "Login failed for user 'jobuser'."
    assert view["counts"] == {"Failed": 1, "Succeeded": 2}
    assert view["agent"] == {
        "resource_group_name": "rg",
        "server_name": "agentserver",
        "agent_name": "ElasticJobAgent",
    }
    assert view["url"] == "https://127.0.0.1:8443/_emulator/ui/x"


@pytest.mark.parametrize(
    ("lifecycle", "active"),
    [
        ("Created", True),
        ("InProgress", True),
        ("WaitingForRetry", True),
        ("Succeeded", False),
        ("Canceled", False),
    ],
)
def test_view_is_active_exactly_while_the_execution_runs(lifecycle: str, active: bool) -> None:
    view = build_view(ExecutionRef.from_xcom(REF), _execution(lifecycle), [], [], None)
    assert view["active"] is active
    assert view["counts"] == {}
