"""The plugin's JSON view of an execution, built from real ``azure.mgmt.sql`` models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from azure.mgmt.sql.models import JobExecution

from airflow_elasticjobs.execution_state import execution_values
from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.plugins.execution_view import (
    MAX_PAGE,
    TargetPage,
    page_view,
    snapshot,
    target_values,
)
from airflow_elasticjobs.plugins.task_definition import ExecutionRef

REF = ExecutionRef(
    "azure_elastic_jobs_default", None, None, None, "Job1", "6b1c5e0e-0000-4000-8000-000000000001"
)
AGENT = AgentRef("sub", "rg", "agentserver", "ElasticJobAgent")
EVERYTHING = TargetPage(limit=MAX_PAGE)


def build_view(
    ref: ExecutionRef,
    agent: AgentRef,
    root: Any,
    steps: list[Any],
    targets: list[Any],
    url: Any,
    page: TargetPage,
) -> dict[str, Any]:
    """What the endpoint answers: a page of the snapshot of one read."""
    return page_view(snapshot(ref, agent, root, steps, targets), page, url)


def _execution(lifecycle: str, **properties: Any) -> JobExecution:
    """A JobExecution deserialised from the JSON shape ARM answers with."""
    body = {"lifecycle": lifecycle, "createTime": "2025-01-01T00:00:00Z", "currentAttempts": 1, **properties}
    return JobExecution({"name": "x", "properties": body})


def _target(step_id: int, server: str, database: str | None, lifecycle: str, **extra: Any) -> JobExecution:
    target = {"type": "SqlDatabase" if database else "SqlServer", "serverName": server}
    if database:
        target["databaseName"] = database
    return _execution(lifecycle, stepId=step_id, stepName=f"step{step_id}", target=target, **extra)


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
    view = build_view(REF, AGENT, root, steps, targets, "https://127.0.0.1:8443/_emulator/ui/x", EVERYTHING)

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
    assert (view["total"], view["offset"], view["limit"]) == (4, 0, MAX_PAGE)
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
    view = build_view(REF, AGENT, _execution(lifecycle), [], [], None, EVERYTHING)
    assert view["active"] is active
    assert view["counts"] == {}


def _many_targets(count: int) -> list[JobExecution]:
    """``count`` databases on two steps, every fifth one failed, in ARM's (unsorted) order."""
    return [
        _target(1 + i % 2, "srv", f"Db{i:03d}", "Failed" if i % 5 == 0 else "Succeeded")
        for i in reversed(range(count))
    ]


def _page(targets: list[JobExecution], **page: Any) -> dict[str, Any]:
    return build_view(REF, AGENT, _execution("InProgress"), [], targets, None, TargetPage(**page))


def test_pages_cover_every_row_exactly_once_and_counts_stay_whole() -> None:
    targets = _many_targets(23)
    seen = []
    for offset in range(0, 30, 7):
        view = _page(targets, offset=offset, limit=7)
        assert view["total"] == 23 and view["counts"] == {"Failed": 5, "Succeeded": 18}
        seen += [(t["step_id"], t["database_name"]) for t in view["targets"]]
    assert len(seen) == 23 and len(set(seen)) == 23
    assert seen == sorted(seen)


def test_filters_apply_before_the_page_and_total_counts_what_matched() -> None:
    targets = _many_targets(23)
    failed = _page(targets, lifecycle="Failed", limit=2)
    assert failed["total"] == 5 and len(failed["targets"]) == 2
    assert {t["lifecycle"] for t in failed["targets"]} == {"Failed"}
    step2 = _page(targets, step_id=2, offset=10)
    assert step2["total"] == 11 and len(step2["targets"]) == 1 and step2["targets"][0]["step_id"] == 2
    assert _page(targets, lifecycle="Canceled")["targets"] == []


def test_server_and_name_filters_combine_with_the_others() -> None:
    targets = [*_many_targets(20), _target(1, "other", "Db100", "Failed")]
    other = _page(targets, server="other")
    assert other["total"] == 1 and other["targets"][0]["database_name"] == "Db100"
    assert _page(targets, server="srv", lifecycle="Failed")["total"] == 4
    by_name = _page(targets, name="db01")  # case-insensitive substring: Db010…Db019
    assert by_name["total"] == 10
    assert {t["database_name"] for t in by_name["targets"]} == {f"Db{i:03d}" for i in range(10, 20)}
    combined = _page(targets, name="Db01", step_id=2, lifecycle="Failed")["targets"]
    assert [t["database_name"] for t in combined] == ["Db015"]
    assert _page(targets)["servers"] == ["other", "srv"]


def test_version_changes_with_any_shown_change_only() -> None:
    targets = _many_targets(5)
    first = _page(targets)["version"]
    assert _page(_many_targets(5))["version"] == first
    targets[0] = _target(2, "srv", "Db004", "Succeeded", lastMessage="now done")
    assert _page(targets)["version"] != first


def test_fast_target_values_equal_the_sdk_attribute_reads() -> None:
    """The plugin's JSON read of a target gives what ``execution_values`` gives through the SDK."""
    full = _target(
        2,
        "srv",
        "Db1",
        "Failed",
        lastMessage="boom",
        startTime="2025-01-01T00:00:01.5Z",
        endTime="2025-01-01T00:00:09Z",
    )
    for execution in (full, _target(1, "srv", None, "Created")):
        fast, sdk = target_values(execution), execution_values(execution)
        times = ("create_time", "start_time", "end_time")
        assert {k: v for k, v in fast.items() if k not in times} == {
            k: v for k, v in sdk.items() if k not in times
        }
        for key in times:
            assert (fast[key] is None) == (sdk[key] is None), key
            if fast[key]:
                assert datetime.fromisoformat(fast[key]) == datetime.fromisoformat(sdk[key]), key


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ({"offset": -1}, "offset=-1"),
        ({"limit": 0}, "limit=0"),
        ({"limit": MAX_PAGE + 1}, f"use 1 to {MAX_PAGE}"),
    ],
)
def test_page_bounds_are_checked(page: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TargetPage(**page)
