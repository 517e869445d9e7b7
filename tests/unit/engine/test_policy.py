"""Backoff computation and lifecycle aggregation."""

from __future__ import annotations

import pytest

from elasticjobs_emulator.engine import lifecycle as lc
from elasticjobs_emulator.engine.options import ExecutionOptions


def test_defaults_match_azure():
    options = ExecutionOptions.from_step({"properties": {}})
    assert options.max_attempts == 11
    assert options.timeout_seconds == 43200
    assert [options.retry_delay(k) for k in range(1, 10)] == [1, 2, 4, 8, 16, 32, 64, 120, 120]


def test_backoff_follows_step_options():
    step = {
        "properties": {
            "executionOptions": {
                "timeoutSeconds": 60,
                "retryAttempts": 3,
                "initialRetryIntervalSeconds": 5,
                "maximumRetryIntervalSeconds": 30,
                "retryIntervalBackoffMultiplier": 3,
            }
        }
    }
    options = ExecutionOptions.from_step(step)
    assert options.max_attempts == 4
    assert [options.retry_delay(k) for k in (1, 2, 3)] == [5, 15, 30]


def test_multiplier_one_keeps_a_constant_interval():
    options = ExecutionOptions(initial_retry_seconds=7, backoff_multiplier=1, maximum_retry_seconds=100)
    assert {options.retry_delay(k) for k in range(1, 6)} == {7}


def test_retry_delay_needs_a_failed_attempt():
    with pytest.raises(ValueError, match="failed_attempts"):
        ExecutionOptions().retry_delay(0)


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ([], lc.SUCCEEDED),
        ([lc.SUCCEEDED, lc.SUCCEEDED], lc.SUCCEEDED),
        ([lc.SUCCEEDED, lc.SKIPPED], lc.SUCCEEDED_WITH_SKIPPED),
        ([lc.SUCCEEDED_WITH_SKIPPED, lc.SUCCEEDED], lc.SUCCEEDED_WITH_SKIPPED),
        ([lc.SKIPPED, lc.SKIPPED], lc.SKIPPED),
        ([lc.SUCCEEDED, lc.FAILED, lc.SKIPPED], lc.FAILED),
        ([lc.TIMED_OUT, lc.SUCCEEDED], lc.TIMED_OUT),
        ([lc.TIMED_OUT, lc.FAILED], lc.FAILED),
        ([lc.FAILED, lc.CANCELED], lc.CANCELED),
    ],
)
def test_aggregate(children, expected):
    assert lc.aggregate(children) == expected


def test_aggregate_refuses_active_children():
    with pytest.raises(ValueError, match="still active"):
        lc.aggregate([lc.SUCCEEDED, lc.IN_PROGRESS])


def test_provisioning_state_and_terminal_sets_cover_every_lifecycle():
    assert set(lc._PROVISIONING) == lc.ACTIVE | lc.TERMINAL
    assert not lc.ACTIVE & lc.TERMINAL
    assert lc.provisioning_state(lc.WAITING_FOR_RETRY) == "InProgress"
    assert lc.provisioning_state(lc.TIMED_OUT) == "Failed"


def test_target_messages_use_azure_wording():
    assert (
        lc.target_message(1, lc.SUCCEEDED, "server1", "database1")
        == "Step 1 succeeded execution on target (server 'server1', database 'database1')."
    )
    assert lc.step_message(2, lc.SUCCEEDED) == "Step 2 succeeded."
    assert lc.root_message(lc.CREATED) == "Job execution created."
