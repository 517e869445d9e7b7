"""The shared per-agent poller: one list per interval for all watches, details only on change."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from airflow_elasticjobs.triggers.poller import AgentKey, AgentPoller, shared_poller
from airflow_elasticjobs.triggers.transient import Backoff
from tests.unit.triggers.fakes import FakeSource, execution, target

KEY = AgentKey("conn", "https://127.0.0.1:1", "sub", "rg", "srv", "agent")


def watch(poller: AgentPoller, execution_id: str, **kw):
    options = {"poll_interval": 0.01, "progress_interval": 3600, "error_budget": 60} | kw
    return poller.watching("Job1", execution_id, **options)


async def test_poll_round_costs_one_list_for_many_watches():
    source = FakeSource()
    for i in range(20):
        source.executions[f"e{i}"] = execution(f"e{i}", "InProgress")
    poller = AgentPoller(KEY, source.open)
    with contextlib.ExitStack() as stack:
        watches = [stack.enter_context(watch(poller, f"e{i}")) for i in range(20)]
        await poller.poll_once(source)
        assert source.calls["list"] == 1
        assert source.calls["get"] == 0
        assert source.calls["targets"] == 20  # first sight of each execution
        first = [w.queue.get_nowait() for w in watches]
        assert {o.lifecycle for o in first} == {"InProgress"}

        source.calls.clear()
        await poller.poll_once(source)
        assert dict(source.calls) == {"list": 1}  # nothing changed: no details, no events
        assert all(w.queue.empty() for w in watches)

        source.executions["e3"].lifecycle = "WaitingForRetry"
        source.calls.clear()
        await poller.poll_once(source)
        assert dict(source.calls) == {"list": 1, "targets": 1}
        assert watches[3].queue.get_nowait().lifecycle == "WaitingForRetry"


async def test_finished_execution_is_fetched_once_by_id():
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    poller = AgentPoller(KEY, source.open)
    with watch(poller, "E1") as w:  # ids compare case-insensitively
        await poller.poll_once(source)
        w.queue.get_nowait()
        source.executions["e1"] = execution("e1", "Succeeded", "Job execution succeeded.")
        source.executions["E1"] = source.executions.pop("e1")
        source.calls.clear()
        await poller.poll_once(source)
        assert dict(source.calls) == {"list": 1, "get": 1}  # terminal: no target listing
        observation = w.queue.get_nowait()
        assert (observation.lifecycle, observation.last_message) == ("Succeeded", "Job execution succeeded.")


async def test_missing_execution_is_an_error_naming_the_fix():
    source = FakeSource()
    poller = AgentPoller(KEY, source.open)
    with watch(poller, "nope") as w:
        await poller.poll_once(source)
        error = w.queue.get_nowait().error
    assert "nope" in error and "does not exist" in error and "check job_name" in error


async def test_progress_refresh_is_rate_limited():
    now = [0.0]
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    source.targets["e1"] = [target("db1", "InProgress")]
    poller = AgentPoller(KEY, source.open, clock=lambda: now[0])
    with watch(poller, "e1", progress_interval=60) as w:
        await poller.poll_once(source)
        assert w.queue.get_nowait().targets[0].lifecycle == "InProgress"
        source.targets["e1"] = [target("db1", "Succeeded")]
        now[0] = 30
        await poller.poll_once(source)
        assert w.queue.empty() and source.calls["targets"] == 1
        now[0] = 61
        await poller.poll_once(source)
        assert w.queue.get_nowait().targets[0].lifecycle == "Succeeded"


async def test_loop_backs_off_on_transient_errors_and_recovers():
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    source.failures = [ServiceRequestError("connection refused"), _http(429)]
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001, maximum=0.002))
    with watch(poller, "e1") as w:
        observations = [await asyncio.wait_for(w.next(), 5) for _ in range(3)]
    assert [bool(o.transient) for o in observations] == [True, True, False]
    assert "unreachable" in observations[0].transient.lower()
    assert observations[2].lifecycle == "InProgress"
    assert source.opened == 3  # the client is reopened after each failure


async def test_budget_exhaustion_becomes_an_error():
    source = FakeSource()
    source.failures = [ServiceRequestError("down")] * 1000
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001, maximum=0.001))
    with watch(poller, "e1", error_budget=0.05) as w:
        while True:
            observation = await asyncio.wait_for(w.next(), 5)
            if observation.error:
                break
    assert "No successful poll" in observation.error and "down" in observation.error


async def test_permanent_error_is_reported_at_once():
    source = FakeSource()
    source.failures = [_http(403)]
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001))
    with watch(poller, "e1") as w:
        observation = await asyncio.wait_for(w.next(), 5)
    assert observation.error and "403" in observation.error


async def test_shared_poller_is_one_per_agent_and_loop_and_goes_away_when_idle():
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    first = shared_poller(KEY, source.open)
    assert shared_poller(KEY, source.open) is first
    other = shared_poller(AgentKey("conn", "https://127.0.0.1:1", "sub", "rg", "srv", "agent2"), source.open)
    assert other is not first
    with watch(first, "e1") as w:
        await asyncio.wait_for(w.next(), 5)
    for _ in range(100):
        if shared_poller(KEY, source.open) is not first:
            break
        await asyncio.sleep(0.01)
    assert shared_poller(KEY, source.open) is not first


def test_pollers_are_per_event_loop():
    source = FakeSource()

    async def get():
        return shared_poller(KEY, source.open)

    assert asyncio.run(get()) is not asyncio.run(get())


def _http(status: int) -> HttpResponseError:
    err = HttpResponseError(message=f"status {status}")
    err.status_code = status
    return err


pytestmark = pytest.mark.timeout(30)
