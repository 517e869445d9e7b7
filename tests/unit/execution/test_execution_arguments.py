"""Argument validation of the start/cancel operators and the sensor: at parse time, naming the field."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from airflow_elasticjobs.execution_common import check_event
from airflow_elasticjobs.execution_state import DEFAULT_FAIL_ON, Lifecycle
from airflow_elasticjobs.operators.execution import (
    ElasticJobsCancelExecutionOperator,
    ElasticJobsStartJobOperator,
)
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from airflow_elasticjobs.validation import ElasticJobsValidationError


def start(**kwargs):
    return ElasticJobsStartJobOperator(task_id="start", **({"job_name": "Job1"} | kwargs))


def sensor(**kwargs):
    return ElasticJobsExecutionSensor(task_id="wait", **({"job_name": "Job1"} | kwargs))


@pytest.mark.parametrize(
    ("factory", "kwargs", "field", "fix"),
    [
        (start, {"job_name": ""}, "job_name", "non-empty"),
        (start, {"job_name": "bad/name"}, "job_name", "remove the characters"),
        (start, {"poll_interval": 0}, "poll_interval", "positive number of seconds"),
        (start, {"poll_interval": -5}, "poll_interval", "positive number of seconds"),
        (start, {"poll_interval": "often"}, "poll_interval", "positive number of seconds"),
        (start, {"timeout": timedelta(0)}, "timeout", "positive number of seconds"),
        (start, {"timeout": True}, "timeout", "positive number of seconds"),
        (start, {"error_budget": 0}, "error_budget", "positive number of seconds"),
        (start, {"progress_interval": -1}, "progress_interval", "positive number of seconds"),
        (start, {"defer_after": -1}, "defer_after", "number of seconds >= 0 or a timedelta"),
        (start, {"defer_after": timedelta(seconds=-5)}, "defer_after", "number of seconds >= 0"),
        (start, {"defer_after": "soon"}, "defer_after", "number of seconds >= 0"),
        (start, {"defer_after": None}, "defer_after", "number of seconds >= 0"),
        (start, {"defer_after": True}, "defer_after", "number of seconds >= 0"),
        (start, {"defer_after": "{{ params.wait }}"}, "defer_after", "not templated"),
        (start, {"timeout": "{{ params.t }}"}, "timeout", "is not templated"),
        (start, {"poll_interval": "{{ params.p }}"}, "poll_interval", "is not templated"),
        (sensor, {"error_budget": "{{ params.b }}"}, "error_budget", "is not templated"),
        (start, {"fail_on": ["Broken"]}, "fail_on", "Unknown execution lifecycle 'Broken'"),
        (start, {"fail_on": ["InProgress"]}, "fail_on", "are not terminal"),
        (start, {"failure_cap": 0}, "failure_cap", "whole number >= 1"),
        (start, {"elastic_jobs_conn_id": ""}, "elastic_jobs_conn_id", ""),
        (start, {"agent_name": "a*b"}, "agent_name", "remove the characters"),
        (
            lambda **kw: ElasticJobsCancelExecutionOperator(
                task_id="c", **({"job_name": "J", "execution_id": "e"} | kw)
            ),
            {"execution_id": ""},
            "execution_id",
            "non-empty",
        ),
        (
            lambda **kw: ElasticJobsCancelExecutionOperator(
                task_id="c", **({"job_name": "J", "execution_id": "e"} | kw)
            ),
            {"job_name": "x?"},
            "job_name",
            "remove the characters",
        ),
        (sensor, {"job_name": "a<b"}, "job_name", "remove the characters"),
        (sensor, {"created_after": "yesterday"}, "created_after", "ISO 8601"),
        (sensor, {"created_after": "2025-01-01T00:00:00"}, "created_after", "time zone"),
        (sensor, {"target_states": ["Done"]}, "target_states", "Unknown execution lifecycle"),
        (sensor, {"fail_states": ["Succeeded"]}, "fail_states", "cannot be a target and a failure"),
        (sensor, {"error_budget": 0}, "error_budget", "positive number of seconds"),
    ],
)
def test_bad_arguments_fail_at_parse_time_naming_the_field(factory, kwargs, field, fix):
    with pytest.raises(ElasticJobsValidationError) as caught:
        factory(**kwargs)
    message = str(caught.value)
    assert message.startswith(f"{field}=")
    assert fix in message


def test_defaults():
    operator = start()
    assert operator.fail_on == DEFAULT_FAIL_ON
    assert operator.wait_for_completion is True
    assert operator.deferrable is False  # [operators] default_deferrable is not set in tests
    assert operator.timeout is None
    assert operator.progress_interval is None  # details on state changes only (docs/performance.md)
    assert operator.defer_after == 0.0  # a deferrable task defers at once
    watcher = sensor()
    assert {s.value for s in watcher.target_states} == {"Succeeded", "SucceededWithSkipped"}
    assert watcher.fail_states == DEFAULT_FAIL_ON


def test_durations_accept_timedelta_and_templates_are_left_for_run_time():
    operator = start(
        timeout=timedelta(minutes=2), poll_interval=timedelta(seconds=5), job_name="{{ params.job }}"
    )
    assert (operator.timeout, operator.poll_interval) == (120.0, 5.0)
    assert start(progress_interval=timedelta(minutes=1)).progress_interval == 60.0
    assert start(defer_after=timedelta(seconds=30)).defer_after == 30.0
    assert start(defer_after=0).defer_after == 0.0
    assert sensor(created_after="{{ data_interval_start }}").created_after == "{{ data_interval_start }}"
    assert sensor(created_after=datetime(2025, 1, 1, tzinfo=UTC)).created_after == "2025-01-01T00:00:00+00:00"


def test_fail_on_is_case_insensitive():
    assert start(fail_on=["failed", "CANCELED"]).fail_on == {Lifecycle.FAILED, Lifecycle.CANCELED}


def test_end_time_is_the_earlier_of_timeout_and_execution_timeout():
    started = datetime.now(UTC) - timedelta(seconds=100)
    context = {"ti": SimpleNamespace(start_date=started)}
    both = start(timeout=60, execution_timeout=timedelta(seconds=130))
    assert both._end_time(context) == pytest.approx(started.timestamp() + 130, abs=1)
    only_timeout = start(timeout=60)
    assert only_timeout._end_time(context) == pytest.approx(time.time() + 60, abs=1)
    assert start()._end_time(context) is None


@pytest.mark.parametrize("event", [None, {}, {"status": "weird"}, "done"])
def test_unexpected_trigger_events_are_rejected(event):
    from airflow_elasticjobs.compat import AirflowException

    with pytest.raises(AirflowException, match="Unexpected trigger event"):
        check_event(event)


def test_trigger_events_raise_with_their_message():
    from airflow_elasticjobs.compat import AirflowException, AirflowSensorTimeout, AirflowTaskTimeout

    with pytest.raises(AirflowTaskTimeout, match="did not finish"):
        check_event({"status": "timeout", "execution_id": "e", "message": "did not finish"})
    with pytest.raises(AirflowSensorTimeout):
        check_event({"status": "timeout", "message": "late"}, timeout_error=AirflowSensorTimeout)
    with pytest.raises(AirflowException, match=r"failed: ARM answered 403.*not cancelled"):
        check_event({"status": "error", "execution_id": "e", "message": "ARM answered 403"})
    done = {"status": "done", "execution_id": "e", "lifecycle": "Succeeded", "message": ""}
    assert check_event(done) == done
