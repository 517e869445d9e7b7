"""Who may cancel (the worker's on_kill by task-instance state), clears as new generations, and the
start operator's failure paths (Azure errors after deferral, XCom, Skipped). Fake hook, no network."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from azure.core.exceptions import HttpResponseError

import airflow_elasticjobs.operators.execution as execution_module
import airflow_elasticjobs.operators.execution_kill as execution_kill
from airflow_elasticjobs.compat import AirflowException
from airflow_elasticjobs.execution_id import ExecutionKey, attempt_execution_id
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.task_instance_state import (
    StateReading,
    StateUnknown,
    TaskInstanceRef,
    read_state,
    read_state_within,
)
from tests.unit.execution.fakes import FakeHook

JOB_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/jobAgents/a/jobs/Job1"
REF = TaskInstanceRef("dag", "run1", "start")


class Hook(FakeHook):
    """Executions by id; get/start/list/cancel as the real hook (start = PUT: idempotent)."""

    def __init__(self, executions=None):
        self.executions = dict(executions or {})
        self.started, self.cancelled = [], []
        self.agent = SimpleNamespace(job_id=lambda name: JOB_ID)

    def get_execution(self, job_name, execution_id):
        lifecycle = self.executions.get(execution_id)
        return (
            None
            if lifecycle is None
            else SimpleNamespace(name=execution_id, lifecycle=lifecycle, last_message=None)
        )

    def start_execution(self, job_name, execution_id):
        self.started.append(execution_id)
        self.executions.setdefault(execution_id, "Created")
        return self.get_execution(job_name, execution_id)

    def list_executions(self, job_name, is_active=None):
        active = ("Created", "InProgress", "WaitingForRetry")
        return [self.get_execution(job_name, i) for i, lc in self.executions.items() if lc in active]


@pytest.fixture(autouse=True)
def no_links(monkeypatch):
    """The UI links read the connection's settings; not what these tests are about."""
    for link in (execution_module.ElasticJobsAgentLink, execution_module.ElasticJobsExecutionLink):
        monkeypatch.setattr(link, "persist", classmethod(lambda cls, *args: ""))


def operator(hook, **kwargs):
    op = ElasticJobsStartJobOperator(task_id="start", job_name="Job1", poll_interval=1, **kwargs)
    op.__dict__["hook"] = hook
    return op


def ids(generation, *attempts):
    key = ExecutionKey(JOB_ID, "dag", "run1", "start", generation=generation)
    return [attempt_execution_id(key, n) for n in attempts]


class TI:
    dag_id, run_id, task_id, map_index, start_date = "dag", "run1", "start", -1, None

    def __init__(self):
        self.pushed = []

    def xcom_push(self, key, value):
        self.pushed.append(key)


def context(clear_number=0):
    return {"ti": TI(), "dag_run": SimpleNamespace(clear_number=clear_number)}


# -- worker on_kill --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reading", "cancels"),
    [
        (StateReading("running"), False),  # lost heartbeat, evicted pod, or a newer try
        (StateReading("up_for_retry"), False),  # the scheduler's handling of a stopped heartbeat
        (StateReading("queued"), False),
        (StateReading("failed"), True),  # mark failed
        (StateReading("success"), True),  # mark success
        (StateReading("restarting"), True),  # cleared while running
        (StateReading(None), True),  # cleared
        (StateReading(None, exists=False), True),  # DAG run deleted
        (StateUnknown("no answer"), False),
    ],
)
def test_on_kill_cancels_only_when_a_user_ended_the_task(monkeypatch, reading, cancels):
    def fake_read(ref, timeout):
        assert ref == REF
        if isinstance(reading, Exception):
            raise reading
        return reading

    monkeypatch.setattr(execution_kill, "read_state_within", fake_read)
    hook = Hook()
    op = killable(hook)
    op.on_kill()
    op._kill_decision.join(5)
    assert hook.cancelled == (["e1"] if cancels else [])


def killable(hook):
    """A start operator waiting on execution e1 of REF, whose kill decision cancels through ``hook``."""
    op = operator(hook)
    op.execution_id, op._task_instance = "e1", REF
    op.new_hook = lambda: hook
    return op


def test_on_kill_decides_after_the_handler_returns_the_channel_it_interrupted(comms):
    """SIGTERM arrived while the main thread held the supervisor channel (mid XCom push): on_kill runs
    in the signal handler with the channel's lock held. Reading the state inside the handler waited
    for that lock until it gave up, and a user's mark failed cancelled nothing."""
    channel = comms({"run1": {"start": "failed"}})
    hook = Hook()
    op = killable(hook)
    with channel.lock:  # the interrupted request; released only once the handler has returned
        op.on_kill()
        assert hook.cancelled == []
    op._kill_decision.join(5)
    assert hook.cancelled == ["e1"]


def test_a_second_sigterm_starts_no_second_decision(comms):
    comms({"run1": {"start": "failed"}})
    hook = Hook()
    op = killable(hook)
    op.on_kill()
    first = op._kill_decision
    op.on_kill()
    first.join(5)
    assert op._kill_decision is first
    assert hook.cancelled == ["e1"]


# -- reading the state through the task SDK --------------------------------------------------------------
class Comms:
    """Stands in for the supervisor's end of SUPERVISOR_COMMS: answers GetTaskStates, one request at
    a time under ``lock`` as the task SDK's ``CommsDecoder.send`` does."""

    def __init__(self, task_states, block=None):
        self.task_states, self.block, self.sent = task_states, block, []
        self.lock = threading.Lock()

    def send(self, msg):
        from airflow.sdk.execution_time.comms import TaskStatesResult

        with self.lock:
            self.sent.append(msg)
            if self.block is not None:
                self.block.wait(10)
            return TaskStatesResult(task_states=self.task_states)


@pytest.fixture
def comms(monkeypatch):
    from airflow.sdk.execution_time import task_runner

    def install(task_states, block=None):
        fake = Comms(task_states, block)
        monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
        return fake

    return install


def test_read_state_asks_for_this_task_instance_and_reads_the_mapped_key(comms):
    fake = comms({"run1": {"start_3": "deferred", "start_30": "failed"}})
    assert read_state(TaskInstanceRef("dag", "run1", "start", 3)) == StateReading("deferred")
    (msg,) = fake.sent
    assert (msg.dag_id, msg.task_ids, msg.run_ids, msg.map_index) == ("dag", ["start"], ["run1"], 3)


def test_read_state_of_an_unmapped_task_and_of_a_missing_one(comms):
    comms({"run1": {"start": None}})
    assert read_state(REF) == StateReading(None)
    comms({})
    assert read_state(REF) == StateReading(None, exists=False)


def test_read_state_without_a_supervisor_is_unknown(monkeypatch):
    from airflow.sdk.execution_time import task_runner

    monkeypatch.delattr(task_runner, "SUPERVISOR_COMMS", raising=False)
    with pytest.raises(StateUnknown, match="dag/run1/start"):
        read_state(REF)


def test_read_state_within_gives_up_instead_of_hanging(comms):
    release = threading.Event()
    comms({"run1": {"start": "failed"}}, block=release)
    try:
        with pytest.raises(StateUnknown, match=r"within 0\.2 s"):
            read_state_within(REF, 0.2)
    finally:
        release.set()


# -- clears start a new generation; a crash retry never runs two at once ---------------------------------
def test_a_clear_runs_the_job_again_after_a_successful_execution():
    gen0, gen1 = ids(0, 0), ids(1, 0)
    hook = Hook({gen0[0]: "Succeeded"})
    result = operator(hook, wait_for_completion=False).run(context(clear_number=1))
    assert hook.started == gen1
    assert result["execution_id"] == gen1[0]


def test_retries_within_one_clear_still_probe_as_before():
    hook = Hook({ids(2, 0)[0]: "Failed", ids(2, 1)[0]: "InProgress"})
    result = operator(hook, wait_for_completion=False).run(context(clear_number=2))
    assert hook.started == []
    assert result["execution_id"] == ids(2, 1)[0]


def test_a_crash_retry_after_another_tasks_clear_reattaches_to_the_running_execution():
    """clear_number moved (another task was cleared) while this task's execution kept running."""
    running = ids(0, 1)[0]
    hook = Hook({ids(0, 0)[0]: "Failed", running: "InProgress"})
    result = operator(hook, wait_for_completion=False).run(context(clear_number=3))
    assert hook.started == []
    assert result["execution_id"] == running


def test_an_earlier_execution_that_succeeds_is_the_result(monkeypatch):
    running = ids(0, 0)[0]
    hook = Hook({running: "InProgress"})
    monkeypatch.setattr(
        execution_module.time, "sleep", lambda s: hook.executions.update({running: "Succeeded"})
    )
    result = operator(hook).run(context(clear_number=1))
    assert (result["execution_id"], result["lifecycle"], hook.started) == (running, "Succeeded", [])


@pytest.mark.parametrize(
    "wait", [{}, {"deferrable": True, "defer_after": 30}], ids=["polling", "defer_after"]
)
def test_an_earlier_execution_that_was_cancelled_is_followed_by_this_clears_own(monkeypatch, wait):
    """A user cleared the running task: on_kill cancelled it; the new try waits for it to end, then
    starts its own generation's execution (also when both end within ``defer_after``)."""
    running, own = ids(0, 0)[0], ids(1, 0)[0]
    hook = Hook({running: "InProgress"})

    def advance(seconds):
        for name, lifecycle in list(hook.executions.items()):
            hook.executions[name] = {"InProgress": "Canceled", "Created": "Succeeded"}.get(
                lifecycle, lifecycle
            )

    monkeypatch.setattr(execution_module.time, "sleep", advance)
    result = operator(hook, **wait).run(context(clear_number=1))
    assert hook.started == [own]
    assert (result["execution_id"], result["lifecycle"]) == (own, "Succeeded")


def test_deferred_resume_after_an_earlier_execution_failed_starts_this_clears_own():
    from tests.compat.airflow_versions import TaskDeferred

    earlier, own = ids(0, 0)[0], ids(1, 0)[0]
    hook = Hook({earlier: "Canceled"})
    op = operator(hook, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute_complete(
            context(clear_number=1), {"status": "done", "execution_id": earlier}, end_time=None, earlier=True
        )
    assert hook.started == [own]
    assert deferred.value.trigger.execution_id == own
    assert deferred.value.kwargs is None  # its own execution: no further hand-over


# -- failure paths -------------------------------------------------------------------------------------
def test_an_azure_error_after_deferral_is_explained_like_in_execute():
    class Failing(Hook):
        def get_execution(self, job_name, execution_id):
            err = HttpResponseError(message="forbidden")
            err.status_code = 403
            raise err

    op = operator(Failing())
    with pytest.raises(AirflowException, match=r"connection 'azure_elastic_jobs_default'") as raised:
        op.execute_complete(context(), {"status": "done", "execution_id": "e1"})
    assert isinstance(raised.value.__cause__, HttpResponseError)


@pytest.mark.parametrize("push", [True, False])
def test_the_failure_summary_goes_to_xcom_only_with_do_xcom_push(push):
    ctx = context()
    with pytest.raises(AirflowException):
        operator(Hook({"e1": "Failed"}), do_xcom_push=push).execute_complete(
            ctx, {"status": "done", "execution_id": "e1"}
        )
    assert ctx["ti"].pushed == (["return_value"] if push else [])


def test_a_skipped_execution_says_why_and_how_to_serialise_runs():
    with pytest.raises(AirflowException) as raised:
        operator(Hook({"e1": "Skipped"})).execute_complete(
            context(), {"status": "done", "execution_id": "e1"}
        )
    message = str(raised.value)
    assert "ended Skipped" in message
    assert "still running on the same targets" in message
    assert "max_active_tis_per_dag=1" in message
