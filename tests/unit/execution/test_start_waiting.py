"""The start operator's waiting logic with a fake hook and a fake clock (no network, no real sleep)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator


class FakeHook:
    """Answers get_execution from a script of lifecycles or exceptions; records cancels."""

    def __init__(self, script):
        self.script = list(script)
        self.cancelled = []

    def get_execution(self, job_name, execution_id):
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return SimpleNamespace(name=execution_id, lifecycle=step, last_message=None)

    def list_target_executions(self, job_name, execution_id):
        return []

    def cancel_execution(self, job_name, execution_id):
        self.cancelled.append(execution_id)

    def close(self):
        pass


class FakeClock:
    def __init__(self):
        self.now = 1_000_000.0
        self.sleeps = []

    def time(self):
        return self.now

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    import airflow_elasticjobs.operators.execution as module

    monkeypatch.setattr(module, "time", fake)
    return fake


def operator(hook, **kwargs):
    op = ElasticJobsStartJobOperator(task_id="start", job_name="Job1", poll_interval=10, **kwargs)
    op.__dict__["hook"] = hook  # the cached_property the base operator builds in execute
    op.execution_id = "e1"
    op._cancel = lambda reason: hook.cancel_execution("Job1", "e1")
    return op


def http_error(status):
    err = HttpResponseError(message=f"status {status}")
    err.status_code = status
    return err


def context():
    return {"ti": SimpleNamespace(xcom_push=lambda **kw: None)}


def test_transient_errors_are_retried_with_backoff_and_the_job_is_not_cancelled(clock):
    hook = FakeHook(
        ["InProgress", ServiceRequestError("dropped"), http_error(503), "InProgress", "Succeeded"]
    )
    result = operator(hook)._poll(context(), end_time=None)
    assert result["lifecycle"] == "Succeeded"
    assert hook.cancelled == []
    assert clock.sleeps[0] == 10  # the poll interval
    assert 9 <= clock.sleeps[1] <= 11 and 18 <= clock.sleeps[2] <= 22  # backoff doubles after failures


def test_an_outage_past_the_error_budget_fails_without_cancelling(clock):
    hook = FakeHook(["InProgress"] + [ServiceRequestError("down")] * 100)
    from airflow.sdk.exceptions import AirflowException

    with pytest.raises(AirflowException, match=r"No successful status check .* not cancelled"):
        operator(hook, error_budget=120)._poll(context(), end_time=None)
    assert hook.cancelled == []
    assert sum(clock.sleeps) <= 120 + 60 + 10


def test_permanent_errors_are_raised_at_once(clock):
    hook = FakeHook([http_error(403)])
    with pytest.raises(HttpResponseError):
        operator(hook)._poll(context(), end_time=None)
    assert clock.sleeps == []


def test_deadline_cancels_and_raises_timeout(clock):
    from airflow.sdk.exceptions import AirflowTaskTimeout

    hook = FakeHook(["InProgress"] * 10)
    with pytest.raises(AirflowTaskTimeout, match="was cancelled"):
        operator(hook)._poll(context(), end_time=clock.now + 25)
    assert hook.cancelled == ["e1"]
    assert clock.sleeps == [10, 10, 5]  # never sleeps past the deadline


def test_deferral_timeout_cancels_the_execution_from_xcom():
    from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason
    from airflow.sdk.exceptions import TaskDeferralTimeout

    hook = FakeHook([])
    op = operator(hook)
    op.execution_id = None
    pulled = {}

    def xcom_pull(**kwargs):
        pulled.update(kwargs)
        return "e-from-xcom"

    ti = SimpleNamespace(task_id="start", map_index=-1, xcom_pull=xcom_pull)
    cancelled = []
    op._cancel = lambda reason: cancelled.append((op.execution_id, reason))
    with pytest.raises(TaskDeferralTimeout):
        op.resume_execution(TRIGGER_FAIL_REPR, {"error": TriggerFailureReason.TRIGGER_TIMEOUT}, {"ti": ti})
    assert cancelled == [("e-from-xcom", "the deferral timed out")]
    assert pulled["key"] == "execution_id"
