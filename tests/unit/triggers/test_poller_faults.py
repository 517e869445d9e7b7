"""The shared per-agent poller's faults: backoff and error budget for agent-wide failures, a failed
request of one execution kept to its watch, and a rejected identity (a rotated secret) retried with
the connection read again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from airflow_elasticjobs.triggers.poller import AgentPoller
from airflow_elasticjobs.waiting import Backoff
from tests.unit.triggers.fakes import FakeSource, execution, target
from tests.unit.triggers.test_poller import KEY, stepped, watch


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


async def test_permanent_error_of_the_agent_list_ends_every_watch():
    source = FakeSource()
    source.failures = [_http(403)]
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001))
    with watch(poller, "e1") as first, watch(poller, "e2") as second:
        observations = [await asyncio.wait_for(w.next(), 5) for w in (first, second)]
    assert all(o.error and "403" in o.error for o in observations)


async def next_observations(w, count: int) -> list:
    return [await asyncio.wait_for(w.next(), 5) for _ in range(count)]


async def test_a_failing_request_for_one_execution_ends_only_its_watch():
    """A deleted job's target list (404) and a 403 on another execution's GET end those two watches;
    the third keeps going and ends normally."""
    source = FakeSource()
    source.executions |= {"deleted": execution("deleted", "InProgress"), "ok": execution("ok", "InProgress")}
    source.broken = {"deleted": _http(404, ResourceNotFoundError), "forbidden": _http(403)}
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001))
    with (
        watch(poller, "deleted") as deleted,
        watch(poller, "forbidden") as forbidden,
        watch(poller, "ok") as ok,
    ):
        assert (await asyncio.wait_for(ok.next(), 5)).lifecycle == "InProgress"
        source.executions["ok"] = execution("ok", "Succeeded", "Job execution succeeded.")
        ended = await asyncio.wait_for(ok.next(), 5)
        deleted_seen = await next_observations(deleted, 2)
        forbidden_seen = await asyncio.wait_for(forbidden.next(), 5)
    assert (ended.lifecycle, ended.error) == ("Succeeded", None)
    assert deleted_seen[0].lifecycle == "InProgress"  # the state is announced without targets
    assert "deleted" in deleted_seen[1].error and "Not found" in deleted_seen[1].error
    assert "forbidden" in forbidden_seen.error and "403" in forbidden_seen.error
    assert deleted.queue.empty() and forbidden.queue.empty()  # ended watches are not polled again


async def test_a_transient_failure_for_one_execution_is_retried_for_it_alone(ticks):
    source = FakeSource()
    source.executions |= {"flaky": execution("flaky", "InProgress"), "ok": execution("ok", "InProgress")}
    source.targets["flaky"] = [target("db1", "InProgress")]
    source.broken = {"flaky": _http(503)}
    poller = stepped(source, ticks)
    with watch(poller, "flaky") as flaky, watch(poller, "ok") as ok:
        await ticks.rounds(3)
        assert ok.queue.get_nowait().lifecycle == "InProgress" and ok.queue.empty()
        announced, retrying = flaky.queue.get_nowait(), flaky.queue.get_nowait()
        assert (announced.lifecycle, announced.targets) == ("InProgress", None)
        assert "flaky" in retrying.transient and "503" in retrying.transient
        assert flaky.budget.failing_since is not None and ok.budget.failing_since is None
        del source.broken["flaky"]
        await ticks.rounds()
        assert flaky.queue.get_nowait().targets[0].database_name == "db1"  # asked for again
        assert flaky.budget.failing_since is None and ok.queue.empty()


def _rejected() -> ClientAuthenticationError:
    return ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.")


async def test_rejected_identity_on_an_open_hook_reads_the_connection_again():
    """A rotated secret: the kept-open credential is refused; a newly opened hook works, no error."""
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001))
    with watch(poller, "e1") as w:
        assert (await asyncio.wait_for(w.next(), 5)).lifecycle == "InProgress"
        source.failures = [_rejected()]
        source.executions["e1"] = execution("e1", "Succeeded", end_time=datetime.now(UTC))
        ended = await asyncio.wait_for(w.next(), 5)
    assert (ended.lifecycle, ended.error, ended.transient) == ("Succeeded", None, None)
    assert source.opened == 2


async def test_a_rejected_identity_at_the_first_round_is_retried_within_the_budget():
    """A trigger that starts while a rotation is under way: the worker authenticated with this
    connection moments before deferring, so even a first rejection is retried with a new hook."""
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    source.failures = [_rejected()]
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001))
    with watch(poller, "e1") as w:
        observations = [await asyncio.wait_for(w.next(), 5) for _ in range(2)]
    assert "AADSTS7000215" in observations[0].transient and observations[0].error is None
    assert observations[1].lifecycle == "InProgress" and source.opened == 2


async def test_a_rotation_under_way_is_retried_reading_the_connection_each_time():
    """Accepted, then rejected even with the connection read again (secret revoked, connection not
    yet updated): transient within the budget, one new hook per try, and the watch goes on."""
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001, maximum=0.002))
    with watch(poller, "e1") as w:
        await asyncio.wait_for(w.next(), 5)
        source.failures = [_rejected()] * 4
        source.executions["e1"] = execution("e1", "Succeeded", end_time=datetime.now(UTC))
        observations = [await asyncio.wait_for(w.next(), 5) for _ in range(4)]
    assert [bool(o.transient) for o in observations] == [True, True, True, False]
    assert all("AADSTS7000215" in o.transient for o in observations[:3])
    assert (observations[3].lifecycle, observations[3].error) == ("Succeeded", None)
    # The first rejection (kept-open hook) re-reads at once; three more, each with a new hook, are
    # transient: 1 + 1 + 3 hooks opened.
    assert source.opened == 5


async def test_a_rotation_that_never_completes_ends_when_the_budget_is_spent():
    source = FakeSource()
    source.executions["e1"] = execution("e1", "InProgress")
    poller = AgentPoller(KEY, source.open, backoff=Backoff(initial=0.001, maximum=0.001))
    with watch(poller, "e1", error_budget=0.05) as w:
        await asyncio.wait_for(w.next(), 5)
        source.failures = [_rejected()] * 10_000
        while not (observation := await asyncio.wait_for(w.next(), 5)).error:
            assert "AADSTS7000215" in observation.transient
    assert "No successful poll" in observation.error and "AADSTS7000215" in observation.error


def _http(status: int, kind: type[HttpResponseError] = HttpResponseError) -> HttpResponseError:
    err = kind(message=f"status {status}")
    err.status_code = status
    return err


pytestmark = pytest.mark.timeout(30)
