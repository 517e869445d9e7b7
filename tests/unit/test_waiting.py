"""The waiting policy: transient-fault classification, Retry-After, backoff, the fault budget, the
sync and async retry loops and the latest-execution search (fake clocks, no network)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from airflow_elasticjobs.waiting import (
    LISTING_LOOKBACK,
    Backoff,
    DeadlinePassed,
    FaultBudget,
    GaveUp,
    LatestExecution,
    Patience,
    await_until,
    is_transient,
    retry_after_seconds,
    wait_until,
)


def http_error(status: int, headers: dict[str, str] | None = None) -> HttpResponseError:
    response = SimpleNamespace(status_code=status, headers=headers or {}, reason="x", text=lambda: "")
    err = HttpResponseError(message=f"status {status}")
    err.status_code = status
    err.response = response
    return err


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 401])
def test_retryable_statuses(status):
    assert is_transient(http_error(status))


@pytest.mark.parametrize("status", [400, 403, 404, 409])
def test_permanent_statuses(status):
    assert not is_transient(http_error(status))


@pytest.mark.parametrize(
    "err",
    [
        ServiceRequestError("connection refused"),
        ServiceResponseError("connection dropped"),
        ClientAuthenticationError("token expired"),
        ConnectionResetError(),
        TimeoutError(),
    ],
)
def test_transport_and_token_errors_are_transient(err):
    assert is_transient(err)


@pytest.mark.parametrize(
    "err",
    [
        ClientAuthenticationError("ClientSecretCredential: AADSTS7000215: Invalid client secret provided."),
        ClientAuthenticationError("AADSTS700016: Application with identifier 'x' was not found."),
    ],
)
def test_identities_entra_rejects_are_permanent(err):
    assert not is_transient(err)


def test_not_found_and_bugs_are_permanent():
    assert not is_transient(ResourceNotFoundError("gone"))
    assert not is_transient(ValueError("bug"))


def test_aiohttp_errors_are_transient():
    import aiohttp

    assert is_transient(aiohttp.ServerDisconnectedError())


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds(http_error(429, {"Retry-After": "7"})) == 7.0
    date = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after_seconds(http_error(429, {"Retry-After": date}), now=1445412480.0) == 10.0
    assert retry_after_seconds(http_error(429)) is None
    assert retry_after_seconds(http_error(429, {"Retry-After": "soon"})) is None


def test_backoff_grows_caps_and_resets():
    backoff = Backoff(initial=1, maximum=8, multiplier=2, jitter=0)
    assert [backoff.next_delay() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    backoff.reset()
    assert backoff.next_delay() == 1


def test_backoff_honours_retry_after_when_longer():
    backoff = Backoff(initial=1, maximum=8, jitter=0)
    assert backoff.next_delay(http_error(429, {"Retry-After": "30"})) == 30
    assert backoff.next_delay(http_error(429, {"Retry-After": "0"})) == 2


def test_backoff_jitter_stays_within_bounds():
    backoff = Backoff(initial=10, maximum=10, jitter=0.1, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(100)]
    assert all(9 <= d <= 11 for d in delays)
    assert len(set(delays)) > 1


def test_fault_budget_with_fake_clock():
    now = [100.0]
    budget = FaultBudget(60, clock=lambda: now[0])
    budget.record_failure()
    now[0] += 59
    budget.record_failure()
    assert not budget.exhausted()
    now[0] += 2
    assert budget.exhausted()
    assert budget.failing_for() == 61
    budget.record_success()
    assert not budget.exhausted()
    assert budget.failing_for() == 0


class Clock:
    """Wall and monotonic time in one fake; ``sleep`` advances it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def attempts(*outcomes):
    """A callable returning (or raising) ``outcomes`` in turn."""
    queue = list(outcomes)

    def attempt():
        outcome = queue.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return attempt


def patience(clock: Clock, seconds: float = 100.0, **kwargs) -> Patience:
    return Patience(FaultBudget(seconds, clock), Backoff(initial=2.0, jitter=0.0), wall_clock=clock, **kwargs)


def test_a_503_is_retried_with_backoff_and_the_budget_refills_on_success():
    clock, retried = Clock(), []
    attempt = attempts(http_error(503), http_error(503), None, http_error(503), "done")
    result = wait_until(attempt, patience(clock, interval=10.0, on_retry=retried.append), clock.sleep)
    assert result == "done"
    assert clock.sleeps == [2.0, 4.0, 10.0, 2.0]  # backoff doubles, resets after the success
    assert len(retried) == 3


def test_a_backoff_as_interval_spaces_not_yet_tries_further_apart_and_faults_keep_their_own():
    clock = Clock()
    growing = Backoff(initial=0.5, maximum=3.0, jitter=0.0)
    attempt = attempts(None, None, http_error(503), None, None, "done")
    assert wait_until(attempt, patience(clock, interval=growing), clock.sleep) == "done"
    assert clock.sleeps == [0.5, 1.0, 2.0, 2.0, 3.0]  # the fault waits the fault backoff's 2 s


def test_a_permanent_error_gives_up_at_once():
    clock = Clock()
    with pytest.raises(GaveUp) as gave_up:
        wait_until(attempts(http_error(403)), patience(clock), clock.sleep)
    assert gave_up.value.permanent and gave_up.value.error.status_code == 403
    assert clock.sleeps == []


def test_transient_failures_outlasting_the_budget_give_up_with_the_last_error():
    clock = Clock()
    with pytest.raises(GaveUp) as gave_up:
        wait_until(attempts(*[http_error(503)] * 20), patience(clock, seconds=30.0), clock.sleep)
    assert not gave_up.value.permanent
    assert gave_up.value.failing_for > 30.0 and gave_up.value.budget_seconds == 30.0


def test_the_deadline_ends_the_wait_even_while_calls_fail_and_no_sleep_passes_it():
    clock = Clock()
    with pytest.raises(DeadlinePassed):
        wait_until(attempts(*[http_error(503)] * 20), patience(clock, deadline=clock.now + 5.0), clock.sleep)
    assert sum(clock.sleeps) == pytest.approx(5.0)


async def test_await_until_is_the_same_policy(monkeypatch):
    clock = Clock()
    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)
        clock.now += seconds

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    outcomes = attempts(http_error(429, {"Retry-After": "7"}), None, "found")

    async def attempt():
        return outcomes()

    assert await await_until(attempt, patience(clock, interval=3.0)) == "found"
    assert slept == [7.0, 3.0]  # Retry-After is honoured, then the plain interval
    with pytest.raises(GaveUp):

        async def refused():
            raise ResourceNotFoundError("gone")

        await await_until(refused, patience(clock))


def test_latest_execution_picks_by_create_time_and_narrows_after_an_empty_listing():
    created_after = datetime(2026, 1, 1, tzinfo=UTC)
    search = LatestExecution(created_after)
    first = datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert search.created_since(first) == created_after
    assert search.pick([]) is None
    assert search.created_since(first + timedelta(minutes=5)) == first - LISTING_LOOKBACK
    old, new = (
        SimpleNamespace(name="a", create_time=first),
        SimpleNamespace(name="b", create_time=first + timedelta(1)),
    )
    assert search.pick([new, old]).name == "b"
    # Never earlier than created_after, however early the empty listing was.
    early = LatestExecution(created_after)
    early.created_since(created_after)
    early.pick([])
    assert early.created_since(created_after) == created_after
    unbounded = LatestExecution(None)
    assert unbounded.created_since(first) is None
