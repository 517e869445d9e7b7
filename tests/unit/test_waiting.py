"""Transient-fault classification, Retry-After, backoff and the fault budget (fake clock)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from airflow_elasticjobs.waiting import Backoff, FaultBudget, is_transient, retry_after_seconds


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
