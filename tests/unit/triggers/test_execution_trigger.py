"""ElasticJobsExecutionTrigger: serialisation round trip and the observation → event table."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_elasticjobs.execution_state import TargetResult
from airflow_elasticjobs.task_instance_state import StateReading, StateUnknown
from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger, kill_budget
from airflow_elasticjobs.triggers.watch import Observation, Watch
from airflow_elasticjobs.waiting import FaultBudget

pytestmark = pytest.mark.timeout(30)


def make(**kw) -> ElasticJobsExecutionTrigger:
    args = {"job_name": "Job1", "execution_id": "e1", "elastic_jobs_conn_id": "c"} | kw
    return ElasticJobsExecutionTrigger(**args)


def new_watch() -> Watch:
    return Watch("Job1", "e1", poll_interval=1, progress_interval=1, budget=FaultBudget(60))


def test_serialize_round_trip_keeps_every_argument():
    trigger = make(
        created_after="2026-01-01T00:00:00+00:00",
        hook_params={"resource_group_name": "rg", "server_name": "srv", "agent_name": "agent"},
        end_time=1234.5,
        poll_interval=2,
        progress_interval=5,
        stop_on=["inprogress"],
        cancel_on_timeout=False,
        cancel_on_kill=False,
        error_budget=10,
    )
    path, kwargs = trigger.serialize()
    assert path == "airflow_elasticjobs.triggers.execution.ElasticJobsExecutionTrigger"
    from tests.compat.airflow_versions import import_string

    rebuilt = import_string(path)(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)
    assert kwargs["stop_on"] == ["InProgress"]
    import inspect

    parameters = set(inspect.signature(ElasticJobsExecutionTrigger).parameters) - {"legacy_overrides"}
    assert parameters == set(kwargs)


#: What the previous version's ``serialize()`` stored in the metadata database (separate overrides).
PREVIOUS_FORM = {
    "elastic_jobs_conn_id": "c",
    "job_name": "Job1",
    "execution_id": "e1",
    "created_after": None,
    "resource_group_name": "rg",
    "server_name": None,
    "agent_name": "agent",
    "end_time": 1234.5,
    "poll_interval": 2,
    "progress_interval": None,
    "stop_on": [],
    "cancel_on_timeout": True,
    "cancel_on_kill": True,
    "error_budget": 900.0,
}


def test_a_trigger_serialized_by_the_previous_version_is_rebuilt_with_the_same_agent():
    """Triggers persist in the metadata database across an upgrade: the old kwargs still build one."""
    from tests.compat.airflow_versions import deserialize, serialize

    trigger = ElasticJobsExecutionTrigger(**deserialize(serialize(PREVIOUS_FORM)))
    _, kwargs = trigger.serialize()
    assert kwargs["hook_params"] == {"resource_group_name": "rg", "server_name": None, "agent_name": "agent"}
    assert "agent_name" not in kwargs and kwargs["execution_id"] == "e1" and kwargs["end_time"] == 1234.5
    hook = trigger._hook()
    assert (hook.elastic_jobs_conn_id, hook.connection_args.agent_name) == ("c", "agent")


def test_unknown_hook_params_and_keyword_arguments_are_named():
    with pytest.raises(ValueError, match=r"hook_params: unknown keys \['agent'\]"):
        make(hook_params={"agent": "a"})
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['agnet_name'\\]"):
        make(agnet_name="a")


def test_serialized_kwargs_survive_airflow_serde():
    from tests.compat.airflow_versions import deserialize, serialize

    _, kwargs = make(end_time=time.time()).serialize()
    assert deserialize(serialize(kwargs)) == kwargs


def test_unknown_stop_on_names_the_argument():
    with pytest.raises(ValueError, match="'stop_on'"):
        make(stop_on=["Finished"])


async def event_for(trigger, *observations):
    w = new_watch()
    for o in observations:
        w.deliver(o)
    return await asyncio.wait_for(trigger._wait(w), 5)


@pytest.mark.parametrize("lifecycle", ["Succeeded", "Failed", "Canceled", "TimedOut", "SucceededWithSkipped"])
async def test_terminal_lifecycle_fires_done(lifecycle):
    event = await event_for(make(), Observation(lifecycle="InProgress"), Observation(lifecycle=lifecycle))
    assert event.payload["status"] == "done"
    assert event.payload["lifecycle"] == lifecycle
    assert event.payload["execution_id"] == "e1"


async def test_stop_on_fires_on_a_non_terminal_state():
    event = await event_for(make(stop_on=["InProgress"]), Observation(lifecycle="InProgress"))
    assert event.payload["status"] == "done"


async def test_transient_observation_does_not_end_the_wait():
    event = await event_for(
        make(),
        Observation(transient="ARM answered 503"),
        Observation(lifecycle="Succeeded", last_message="Job execution succeeded."),
    )
    assert event.payload["status"] == "done"
    assert event.payload["message"] == "Execution e1 is Succeeded: Job execution succeeded."


async def test_error_observation_fires_error_with_last_lifecycle():
    event = await event_for(
        make(), Observation(lifecycle="InProgress"), Observation(error="ARM answered 403")
    )
    assert event.payload == {
        "status": "error",
        "execution_id": "e1",
        "job_name": "Job1",
        "lifecycle": "InProgress",
        "message": "ARM answered 403",
    }


async def test_deadline_returns_none_for_the_timeout_path():
    trigger = make(end_time=time.time() + 0.05)
    assert await asyncio.wait_for(trigger._wait(new_watch()), 5) is None


async def test_timeout_event_cancels_when_asked():
    trigger = make(end_time=time.time() - 1)
    cancelled = []

    async def fake_cancel():
        cancelled.append(True)
        return "cancellation was requested"

    trigger._cancel = fake_cancel
    event = await trigger._time_out()
    assert cancelled == [True]
    assert event.payload["status"] == "timeout"
    assert "cancellation was requested" in event.payload["message"]

    keep = make(end_time=time.time() - 1, cancel_on_timeout=False)
    keep._cancel = fake_cancel
    assert (await keep._time_out()).payload["status"] == "timeout"
    assert cancelled == [True]


def killable(reading, monkeypatch, **kw):
    """A trigger bound to a task instance whose state Airflow answers with ``reading``; records cancels."""
    from types import SimpleNamespace

    import airflow_elasticjobs.triggers.execution as module

    async def fake_read(ref, timeout):
        assert str(ref) == "dag/run1/start[2]"
        assert 0 < timeout <= module.kill_budget() / 2  # the other half is the cancel's
        if isinstance(reading, Exception):
            raise reading
        return reading

    monkeypatch.setattr(module, "aread_state", fake_read)
    trigger = make(**kw)
    trigger.task_instance = SimpleNamespace(dag_id="dag", run_id="run1", task_id="start", map_index=2)
    trigger.cancelled = []

    async def fake_cancel(seconds=30.0):
        trigger.cancelled.append(seconds)
        return "cancellation was requested"

    trigger._cancel = fake_cancel
    return trigger


@pytest.mark.parametrize(
    ("reading", "cancels"),
    [
        (StateReading("deferred"), False),  # moved to another triggerer
        (StateReading("failed"), True),  # mark failed
        (StateReading("success"), True),  # mark success
        (StateReading(None), True),  # cleared
        (StateReading("scheduled"), True),  # cleared, and already scheduled again
        (StateReading(None, exists=False), True),  # DAG run deleted
        (StateUnknown("no answer"), False),
    ],
)
async def test_on_kill_cancels_only_when_the_task_instance_left_the_deferred_state(
    monkeypatch, reading, cancels
):
    trigger = killable(reading, monkeypatch)
    await trigger.on_kill()
    assert bool(trigger.cancelled) is cancels


async def test_on_kill_without_a_task_instance_or_when_told_not_to_cancels_nothing(monkeypatch):
    unbound = killable(StateReading("failed"), monkeypatch)
    unbound.task_instance = None
    await unbound.on_kill()
    spared = killable(StateReading("failed"), monkeypatch, cancel_on_kill=False)
    await spared.on_kill()
    assert unbound.cancelled == spared.cancelled == []


@pytest.mark.parametrize(("timeout", "budget"), [(30, 27), (60, 54), (10, 8), (3, 1.5)])
def test_the_kill_budget_leaves_a_margin_inside_airflows_on_kill_timeout(timeout, budget):
    assert kill_budget(timeout) == pytest.approx(budget)


async def test_on_kill_finishes_inside_the_configured_on_kill_timeout(monkeypatch):
    """A cancel that never answers is abandoned by us, before Airflow's own bound cuts on_kill."""
    monkeypatch.setenv("AIRFLOW__TRIGGERER__ON_KILL_TIMEOUT", "3")
    trigger = killable(StateReading("failed"), monkeypatch)

    async def hanging_cancel(seconds=30.0):
        trigger.cancelled.append(seconds)
        await asyncio.sleep(60)

    trigger._cancel = hanging_cancel
    started = time.monotonic()
    await asyncio.wait_for(trigger.on_kill(), 3)
    assert time.monotonic() - started < kill_budget(3) + 0.5
    assert trigger.cancelled and trigger.cancelled[0] <= kill_budget(3)


async def test_progress_lines_are_logged_only_when_they_change(capsys):
    running = (TargetResult(1, "Step1", "srv", "db1", "InProgress"),)
    done = (TargetResult(1, "Step1", "srv", "db1", "Succeeded"),)
    await event_for(
        make(),
        Observation(lifecycle="InProgress", targets=running),
        Observation(lifecycle="InProgress", targets=running),
        Observation(lifecycle="InProgress", targets=done),
        Observation(lifecycle="Succeeded"),
    )
    logged = capsys.readouterr().out + capsys.readouterr().err
    lines = [line[line.index("step 1") :].split(" [")[0] for line in logged.splitlines() if "step 1" in line]
    assert lines == [
        "step 1 'Step1': 0/1 targets succeeded, 1 in progress",
        "step 1 'Step1': 1/1 targets succeeded",
    ]


async def test_the_first_state_read_of_a_process_is_made_once_when_a_trigger_starts(monkeypatch):
    """The triggerer's supervisor builds its Execution API on the first request it serves (seconds
    of stall): one read when the first trigger starts takes that cost before a kill needs an answer."""
    import airflow_elasticjobs.task_instance_state as state

    asked = []

    async def slow_unanswered_read(ref, timeout):
        asked.append((str(ref), timeout))
        raise StateUnknown("no supervisor channel")  # what a warm-up meets is not the trigger's concern

    monkeypatch.setattr(state, "aread_state", slow_unanswered_read)
    monkeypatch.setattr(state, "_WARM_UPS", [])
    monkeypatch.setattr(state.compat, "triggerer_matches_replies_by_id", lambda: True)
    first = state.TaskInstanceRef("dag", "run1", "start")
    state.warm_up_state_reads(first, timeout=13.5)
    state.warm_up_state_reads(state.TaskInstanceRef("dag", "run2", "start"), timeout=13.5)
    await asyncio.gather(*state._WARM_UPS)
    assert asked == [("dag/run1/start", 13.5)]


async def test_no_warm_up_read_where_the_triggerer_reads_replies_in_order(monkeypatch):
    """Airflow 3.0/3.1: a second request in flight can take another's reply and end the trigger runner."""
    import airflow_elasticjobs.task_instance_state as state

    async def read(ref, timeout):
        raise AssertionError("no read may start")

    monkeypatch.setattr(state, "aread_state", read)
    monkeypatch.setattr(state, "_WARM_UPS", [])
    monkeypatch.setattr(state.compat, "triggerer_matches_replies_by_id", lambda: False)
    state.warm_up_state_reads(state.TaskInstanceRef("dag", "run1", "start"), timeout=13.5)
    assert state._WARM_UPS == []
