"""The start operator's waiting logic with a fake hook and a fake clock (no network, no real sleep)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from tests.unit.execution.fakes import FakeHook, http_error, install_clock


@pytest.fixture
def clock(monkeypatch):
    import airflow_elasticjobs.operators.execution as module
    import airflow_elasticjobs.operators.execution_slot as slot

    return install_clock(monkeypatch, module, slot)


def operator(hook, **kwargs):
    op = ElasticJobsStartJobOperator(task_id="start", job_name="Job1", poll_interval=10, **kwargs)
    op.__dict__["hook"] = hook  # the cached_property the base operator builds in execute
    op.execution_id = "e1"
    op._cancel = lambda reason: hook.cancel_execution("Job1", "e1")
    return op


def test_transient_errors_are_retried_with_backoff_and_the_job_is_not_cancelled(clock):
    hook = FakeHook(
        ["InProgress", ServiceRequestError("dropped"), http_error(503), "InProgress", "Succeeded"]
    )
    result = operator(hook)._poll(end_time=None)
    assert result.lifecycle.value == "Succeeded"
    assert hook.cancelled == []
    assert clock.sleeps[0] == 10  # the poll interval
    assert 9 <= clock.sleeps[1] <= 11 and 18 <= clock.sleeps[2] <= 22  # backoff doubles after failures


def test_an_outage_past_the_error_budget_fails_without_cancelling(clock):
    hook = FakeHook(["InProgress"] + [ServiceRequestError("down")] * 100)
    from airflow_elasticjobs.compat import AirflowException

    with pytest.raises(AirflowException, match=r"No successful status check .* not cancelled"):
        operator(hook, error_budget=120)._poll(end_time=None)
    assert hook.cancelled == []
    assert sum(clock.sleeps) <= 120 + 60 + 10


def test_permanent_errors_are_raised_at_once(clock):
    hook = FakeHook([http_error(403)])
    with pytest.raises(HttpResponseError):
        operator(hook)._poll(end_time=None)
    assert clock.sleeps == []


def test_deadline_raises_timeout_without_sleeping_past_it(clock):
    from airflow_elasticjobs.compat import AirflowTaskTimeout

    hook = FakeHook(["InProgress"] * 10)
    with pytest.raises(AirflowTaskTimeout, match="did not finish in time"):
        operator(hook)._poll(end_time=clock.now + 25)
    assert clock.sleeps == [10, 10, 5]  # never sleeps past the deadline


def test_deadline_is_kept_while_every_poll_fails(clock):
    """A failing poll used to ``continue`` past the deadline until the error budget ran out."""
    from airflow_elasticjobs.compat import AirflowTaskTimeout

    hook = FakeHook([ServiceRequestError("down")] * 100)
    with pytest.raises(AirflowTaskTimeout):
        operator(hook, error_budget=900)._poll(end_time=clock.now + 25)
    assert sum(clock.sleeps) == pytest.approx(25)


def test_a_time_limit_anywhere_in_run_cancels_then_fails_and_on_kill_does_not_cancel_again():
    """``execution_timeout`` arrives as AirflowTaskTimeout by signal, wherever ``run`` is; Airflow then
    calls on_kill (task instance still running), which must not be what cancels."""
    from airflow_elasticjobs.compat import AirflowTaskTimeout

    hook = FakeHook([])
    op = operator(hook)
    del op._cancel  # the real one, on the fake hook
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="start", map_index=-1, start_date=None)

    def timed_out(context, end_time):
        raise AirflowTaskTimeout("Timeout")

    op._start_and_wait = timed_out
    with pytest.raises(AirflowTaskTimeout):
        op.run({"ti": ti})
    assert hook.cancelled == ["e1"]
    op.on_kill()
    assert hook.cancelled == ["e1"]


def test_deferral_timeout_cancels_the_execution_from_xcom():
    from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason

    from airflow_elasticjobs.compat import TaskDeferralTimeout

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


def test_a_lifecycle_this_version_does_not_know_keeps_the_wait_going(clock):
    """A lifecycle Azure added later counts as active: the wait goes on instead of crashing."""
    hook = FakeHook(["Paused", "SomethingNew", "Succeeded"])
    result = operator(hook)._poll(end_time=None)
    assert result.lifecycle.value == "Succeeded"
    assert clock.sleeps == [10, 10]


# -- defer_after: wait in the slot first, then defer ----------------------------------------------------
class StartHook(FakeHook):
    """A FakeHook with the agent the start operator derives its execution ids from."""

    agent = SimpleNamespace(job_id=lambda name: "job-id")


@pytest.fixture
def started(monkeypatch):
    """The start request answers with execution e1 still InProgress; no UI links are persisted."""
    import airflow_elasticjobs.operators.execution as module

    running = SimpleNamespace(name="e1", lifecycle="InProgress", last_message=None)
    monkeypatch.setattr(module, "start_or_attach", lambda *args, **kwargs: (running, False))
    for link in (module.ElasticJobsAgentLink, module.ElasticJobsExecutionLink):
        monkeypatch.setattr(link, "persist", classmethod(lambda cls, *args: ""))


def task_context():
    pushed = {}
    ti = SimpleNamespace(
        dag_id="d",
        run_id="r",
        task_id="start",
        map_index=-1,
        start_date=None,
        xcom_push=lambda key, value: pushed.update({key: value}),
    )
    return {"ti": ti, "pushed": pushed}


def test_an_execution_ending_within_defer_after_finishes_in_the_slot_like_polling(clock, started):
    script = ["InProgress", "InProgress", "Succeeded"]
    context = task_context()
    result = operator(StartHook(script), deferrable=True, defer_after=30).run(context)
    assert clock.sleeps == [0.5, 1, 2]  # first check after 0.5 s, then doubling; no TaskDeferred
    polled = task_context()
    assert result == operator(StartHook(script), deferrable=False).run(polled)
    assert (result["execution_id"], result["lifecycle"]) == ("e1", "Succeeded")
    assert context["pushed"] == polled["pushed"] == {"execution_id": "e1"}


def test_a_failure_within_defer_after_fails_in_the_slot_with_the_summary_in_xcom(clock, started):
    from airflow_elasticjobs.compat import AirflowException

    context = task_context()
    with pytest.raises(AirflowException, match="ended Failed"):
        operator(StartHook(["Failed"]), deferrable=True, defer_after=30).run(context)
    assert context["pushed"]["return_value"]["lifecycle"] == "Failed"


def test_the_in_slot_checks_never_wait_longer_than_poll_interval_nor_past_defer_after(clock, started):
    from tests.compat.airflow_versions import TaskDeferred

    hook = StartHook(["InProgress"] * 20)
    with pytest.raises(TaskDeferred):
        operator(hook, deferrable=True, defer_after=40).run(task_context())
    assert clock.sleeps == [0.5, 1, 2, 4, 8, 10, 10, 4.5]
    assert len(hook.script) == 20 - 8  # one status check after each sleep


def test_still_running_after_defer_after_defers_with_the_same_trigger_as_at_once(clock, started):
    from tests.compat.airflow_versions import TaskDeferred

    with pytest.raises(TaskDeferred) as waited:
        operator(StartHook(["InProgress"] * 10), deferrable=True, defer_after=5, timeout=600).run(
            task_context()
        )
    assert sum(clock.sleeps) == 5
    clock.now -= 5  # the same deadline for the operator that defers at once
    with pytest.raises(TaskDeferred) as at_once:
        operator(StartHook([]), deferrable=True, timeout=600).run(task_context())
    assert waited.value.trigger.serialize() == at_once.value.trigger.serialize()
    assert (waited.value.method_name, waited.value.kwargs) == (at_once.value.method_name, None)


def test_defer_after_zero_defers_without_reading_the_state(clock, started):
    from tests.compat.airflow_versions import TaskDeferred

    hook = StartHook([AssertionError("read the execution's state")])
    with pytest.raises(TaskDeferred):
        operator(hook, deferrable=True, defer_after=0).run(task_context())
    assert (clock.sleeps, len(hook.script)) == ([], 1)


def test_transient_faults_within_defer_after_are_retried_and_nothing_is_cancelled(clock, started):
    hook = StartHook([ServiceRequestError("dropped"), http_error(503), "Succeeded"])
    result = operator(hook, deferrable=True, defer_after=60).run(task_context())
    assert result["lifecycle"] == "Succeeded"
    assert hook.cancelled == []


def test_a_deadline_within_defer_after_cancels_and_times_out_like_polling(clock, started):
    from airflow_elasticjobs.compat import AirflowTaskTimeout

    hook = StartHook(["InProgress"] * 10)
    with pytest.raises(AirflowTaskTimeout, match="did not finish in time"):
        operator(hook, deferrable=True, defer_after=60, timeout=3).run(task_context())
    assert clock.sleeps == [0.5, 1, 1.5]  # never past the deadline
    assert hook.cancelled == ["e1"]
