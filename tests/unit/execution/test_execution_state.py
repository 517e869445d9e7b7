"""Lifecycle sets, summaries, the capped failure message and progress lines."""

from __future__ import annotations

import pytest

from airflow_elasticjobs.execution_progress import ProgressTracker
from airflow_elasticjobs.execution_state import (
    ACTIVE,
    DEFAULT_FAIL_ON,
    TERMINAL,
    ExecutionSummary,
    Lifecycle,
    RootState,
    TargetResult,
    is_terminal,
    state_signature,
)
from airflow_elasticjobs.execution_xcom import xcom_summary


def progress_lines(targets: list[TargetResult]) -> list[str]:
    """Every step's line: a fresh tracker reports them all."""
    return ProgressTracker().changed_lines(targets)


def target(db: str, lifecycle: str, step: int = 1, message: str | None = None) -> TargetResult:
    return TargetResult(
        step_id=step,
        step_name=f"Step{step}",
        server_name="target-server",
        database_name=db,
        lifecycle=lifecycle,
        last_message=message,
        attempts=1,
    )


def test_active_and_terminal_partition_every_lifecycle():
    assert frozenset(Lifecycle) == ACTIVE | TERMINAL
    assert not ACTIVE & TERMINAL
    assert {s.value for s in ACTIVE} == {
        "Created",
        "InProgress",
        "WaitingForChildJobExecutions",
        "WaitingForRetry",
    }


def test_default_fail_on_is_every_unsuccessful_terminal_state():
    assert {s.value for s in DEFAULT_FAIL_ON} == {"Failed", "TimedOut", "Canceled", "Skipped"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Succeeded", True),
        ("succeededwithskipped", True),
        ("CANCELED", True),
        ("InProgress", False),
        ("WaitingForRetry", False),
        ("created", False),
    ],
)
def test_is_terminal_is_case_insensitive(value, expected):
    assert is_terminal(value) is expected


def test_parse_accepts_sdk_enums():
    from azure.mgmt.sql.models import JobExecutionLifecycle

    assert Lifecycle.parse(JobExecutionLifecycle.TIMED_OUT) is Lifecycle.TIMED_OUT


def test_parse_many_names_the_field_and_the_choices():
    with pytest.raises(ValueError, match=r"'fail_on'.*'Done'.*Succeeded"):
        Lifecycle.parse_many("fail_on", ["Failed", "Done"])


def test_parse_many_accepts_a_single_string():
    assert Lifecycle.parse_many("fail_on", "Failed") == {Lifecycle.FAILED}


def test_target_result_from_sdk_model():
    from azure.mgmt.sql.models import JobExecution

    model = JobExecution(
        {
            "properties": {
                "stepId": 2,
                "stepName": "Step2",
                "lifecycle": "Failed",
                "lastMessage": "Login failed for user 'jobuser'.",
                "currentAttempts": 3,
                "target": {"type": "SqlDatabase", "serverName": "s1", "databaseName": "TargetDb1"},
            }
        }
    )
    result = TargetResult.from_model(model)
    assert result == TargetResult(
        2, "Step2", "s1", "TargetDb1", "Failed", "Login failed for user 'jobuser'.", 3
    )
    assert TargetResult.from_dict(result.to_dict()) == result


def test_counts_ignore_server_level_parent_executions():
    parent = TargetResult(1, "Step1", "target-server", None, "WaitingForChildJobExecutions")
    summary = ExecutionSummary(
        "id-1", "Job1", Lifecycle.IN_PROGRESS, (parent, target("a", "Succeeded"), target("b", "InProgress"))
    )
    assert summary.counts() == {"Succeeded": 1, "InProgress": 1}


def test_failure_message_lists_failing_targets_sorted_and_capped():
    targets = tuple(target(f"db{i:02d}", "Failed", message=f"error {i}") for i in range(13))
    targets += (target("ok", "Succeeded"), target("late", "TimedOut", step=2, message="timeout"))
    summary = ExecutionSummary("exec-9", "Job1", Lifecycle.FAILED, targets, last_message="Step 1 failed")
    message = summary.failure_message(cap=10)
    lines = message.splitlines()
    assert (
        lines[0]
        == "Elastic Jobs execution exec-9 of job 'Job1' ended Failed: Step 1 failed. Failing targets (14):"
    )
    assert lines[1] == "  - target-server/db00 (step 1 'Step1'): Failed - error 0"
    assert len(lines) == 1 + 10 + 1
    assert lines[-1].startswith("  … and 4 more")
    assert "ok" not in message


def test_failure_message_respects_fail_on():
    summary = ExecutionSummary("e", "J", Lifecycle.FAILED, (target("a", "Failed"), target("b", "Skipped")))
    message = summary.failure_message(fail_on={Lifecycle.SKIPPED})
    assert "target-server/b" in message
    assert "target-server/a" not in message


def test_failure_message_without_failing_targets():
    summary = ExecutionSummary("e", "J", Lifecycle.CANCELED)
    assert summary.failure_message() == "Elastic Jobs execution e of job 'J' ended Canceled."


def test_xcom_summary_is_plain_json():
    import json

    summary = ExecutionSummary("e", "J", Lifecycle.SUCCEEDED, (target("a", "Succeeded"),))
    xcom = xcom_summary(summary)
    assert json.loads(json.dumps(xcom)) == xcom
    assert xcom["lifecycle"] == "Succeeded"
    assert xcom["counts"] == {"Succeeded": 1}
    assert xcom["targets"][0]["database_name"] == "a"


def test_xcom_summary_is_capped_whatever_the_number_of_targets_with_failures_first():
    """1,000 targets x 3 steps with long error messages: exact counts, failing rows first, <= 64 KB."""
    import json

    long_error = "Msg 50000, Level 16: " + "the job step failed on this database; " * 200
    targets = tuple(
        target(
            f"db{i:04d}",
            "Failed" if i % 10 == 3 else "Succeeded",
            step=step,
            message=long_error if i % 10 == 3 else "Step succeeded. " * 50,
        )
        for step in (1, 2, 3)
        for i in range(1000)
    )
    summary = ExecutionSummary("e", "J", Lifecycle.FAILED, targets, last_message=long_error)

    xcom = xcom_summary(summary)

    assert len(json.dumps(xcom)) <= 64 * 1024
    assert xcom["counts"] == {"Failed": 300, "Succeeded": 2700}
    per_step = {"Succeeded": 900, "Failed": 100}
    assert xcom["step_counts"] == [
        {"step_id": s, "step_name": f"Step{s}", "counts": per_step} for s in (1, 2, 3)
    ]
    assert (xcom["targets_total"], xcom["failing_total"], xcom["targets_truncated"]) == (3000, 300, True)
    rows = xcom["targets"]
    assert 10 <= len(rows) <= 200
    assert {r["lifecycle"] for r in rows} == {"Failed"}  # failing targets come first
    assert [r["database_name"] for r in rows[:2]] == ["db0003", "db0013"]  # sorted by step, server, db
    assert all(len(r["last_message"]) <= 1000 for r in rows) and rows[0]["last_message"].endswith("…")


def test_xcom_summary_lists_failing_targets_of_fail_on_first_then_the_rest():
    targets = (target("a", "Succeeded"), target("b", "Skipped"), target("c", "Failed"))
    summary = ExecutionSummary("e", "J", Lifecycle.SUCCEEDED_WITH_SKIPPED, targets)
    xcom = xcom_summary(summary, fail_on={Lifecycle.SKIPPED})
    assert [r["database_name"] for r in xcom["targets"]] == ["b", "a", "c"]
    assert (xcom["targets_total"], xcom["failing_total"], xcom["targets_truncated"]) == (3, 1, False)


def test_xcom_summary_caps_rows_at_200_even_when_they_are_small():
    targets = tuple(target(f"d{i}", "Succeeded") for i in range(250))
    xcom = xcom_summary(ExecutionSummary("e", "J", Lifecycle.SUCCEEDED, targets))
    assert len(xcom["targets"]) == 200 and xcom["targets_truncated"] and xcom["counts"] == {"Succeeded": 250}


def test_unknown_lifecycle_reported_by_azure_counts_as_active():
    assert Lifecycle.observed("SomethingNew") is Lifecycle.IN_PROGRESS
    assert Lifecycle.observed("failed") is Lifecycle.FAILED
    assert not is_terminal("SomethingNew")
    with pytest.raises(ValueError, match="SomethingNew"):
        Lifecycle.parse("SomethingNew")  # user arguments are still validated


def test_progress_lines_per_step():
    targets = [target(f"s{i}", "Succeeded") for i in range(37)]
    targets += [target("f1", "Failed"), target("f2", "Failed")]
    targets += [target(f"p{i}", "InProgress") for i in range(41)]
    targets += [target(f"r{i}", "WaitingForRetry") for i in range(40)]
    targets += [target("x", "Succeeded", step=2)]
    assert progress_lines(targets) == [
        "step 1 'Step1': 37/120 targets succeeded, 2 failed, 81 in progress",
        "step 2 'Step2': 1/1 targets succeeded",
    ]


def test_progress_tracker_reports_only_changes():
    tracker = ProgressTracker()
    first = [target("a", "InProgress"), target("b", "InProgress", step=2)]
    assert len(tracker.changed_lines(first)) == 2
    assert tracker.changed_lines(first) == []
    second = [target("a", "Succeeded"), target("b", "InProgress", step=2)]
    assert tracker.changed_lines(second) == ["step 1 'Step1': 1/1 targets succeeded"]


def test_progress_counts_unknown_lifecycle_as_in_progress():
    assert progress_lines([target("a", "SomethingNew")]) == [
        "step 1 'Step1': 0/1 targets succeeded, 1 in progress"
    ]


def _sdk_target(database: str | None, lifecycle: str, step: int = 1):
    from azure.mgmt.sql.models import JobExecution

    target = {"type": "SqlDatabase" if database else "SqlServer", "serverName": "srv"}
    if database:
        target["databaseName"] = database
    body = {
        "lifecycle": lifecycle,
        "stepId": step,
        "stepName": f"Step{step}",
        "currentAttempts": 2,
        "createTime": "2025-01-01T00:00:00Z",
        "lastMessage": "m",
        "target": target,
    }
    return JobExecution({"name": "x", "properties": body})


def test_execution_values_is_the_one_conversion_of_sdk_models():
    from airflow_elasticjobs.execution_state import execution_values

    values = execution_values(_sdk_target("db1", "Succeeded"))
    assert values["lifecycle"] == "Succeeded" and values["target_type"] == "SqlDatabase"
    assert (values["step_id"], values["server_name"], values["database_name"]) == (1, "srv", "db1")
    assert values["create_time"].startswith("2025-01-01T00:00:00") and values["end_time"] is None
    result = TargetResult.from_model(_sdk_target("db1", "Succeeded"))
    assert (result.lifecycle, result.attempts, result.last_message) == ("Succeeded", 2, "m")


def test_count_targets_counts_databases_only_and_summaries_use_it():
    from types import SimpleNamespace

    from airflow_elasticjobs.execution_state import count_targets

    targets = [_sdk_target("db1", "Failed"), _sdk_target("db2", "Succeeded"), _sdk_target(None, "Succeeded")]
    root = SimpleNamespace(name="e1", lifecycle="Failed", last_message=None)
    summary = ExecutionSummary.from_models("Job1", root, targets)
    assert count_targets(summary.targets) == summary.counts() == {"Failed": 1, "Succeeded": 1}
    assert summary.step_counts() == [{"step_id": 1, "step_name": "Step1", "counts": summary.counts()}]


def test_unknown_lifecycle_is_active_and_logged_once_per_value(caplog):
    with caplog.at_level("WARNING", logger="airflow_elasticjobs.execution_state"):
        assert Lifecycle.observed("HibernatingForStateTest") is Lifecycle.IN_PROGRESS
        assert not is_terminal("hibernatingforstatetest")
        assert Lifecycle.observed("OtherForStateTest") is Lifecycle.IN_PROGRESS
    logged = [r.getMessage() for r in caplog.records]
    assert len([m for m in logged if "HibernatingForStateTest" in m]) == 1
    assert len([m for m in logged if "OtherForStateTest" in m]) == 1
    with pytest.raises(ValueError, match="Unknown execution lifecycle"):
        Lifecycle.parse("HibernatingForStateTest")  # user arguments stay strict


def test_state_signature_changes_with_what_matters():
    from types import SimpleNamespace

    from airflow_elasticjobs.execution_state import state_signature

    def root(**kw):
        base = dict(lifecycle="InProgress", last_message=None, current_attempts=1)
        base |= dict(start_time=None, current_attempt_start_time=None, end_time=None)
        return SimpleNamespace(**(base | kw))

    assert state_signature(root()) == state_signature(root())
    assert state_signature(root())[0] == "InProgress"
    assert state_signature(root(current_attempts=2)) != state_signature(root())
    assert state_signature(root(last_message="x")) != state_signature(root())


@pytest.mark.parametrize(
    "item",
    [
        {
            "name": "3f5b",
            "properties": {
                "lifecycle": "InProgress",
                "lastMessage": "Step 1 started.",
                "currentAttempts": 2,
                "startTime": "2026-12-06T19:00:00.1234567Z",  # 7 digits, as .NET writes them
                "currentAttemptStartTime": "2026-12-06T19:00:01Z",
            },
        },
        {
            "name": "8a1c",
            "properties": {
                "lifecycle": "Succeeded",
                "startTime": "2026-12-06T19:00:00.12+00:00",
                "endTime": "2026-12-06T19:00:02.5Z",
            },
        },
        {"name": "e0d2"},
    ],
)
def test_a_root_state_read_from_json_has_the_sdk_models_signature(item):
    """The poller reads list pages as JSON: its signature of an execution must equal the one of the
    SDK model deserialized from the same JSON (a GET), or a state would look changed."""
    from azure.mgmt.sql.models import JobExecution

    state = RootState.from_json(item)
    assert state.name == item["name"]
    assert state_signature(state) == state_signature(JobExecution(item))
