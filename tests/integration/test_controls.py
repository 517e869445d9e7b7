"""Test controls: request counters per path template and fault injection seen by the real SDK."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from tests.support.definitions import AgentSetup, create_agent_setup
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration

JOBS_TEMPLATE = (
    "GET /subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/servers/{}/jobAgents/{}/jobs/{}"
)


@pytest.fixture(scope="module")
def setup(emulator: EmulatorProcess) -> AgentSetup:
    with emulator.management_client() as client:
        agent = create_agent_setup(client, unique_name("rg"))
        client.jobs.create_or_update(*agent.names(), "Job1", {})
    return agent


@pytest.fixture(autouse=True)
def clean_controls(emulator: EmulatorProcess) -> Iterator[None]:
    emulator.reset_controls()
    yield
    emulator.reset_controls()


def _fast_client(emulator: EmulatorProcess, **kwargs: object):
    return emulator.management_client(retry_backoff_factor=0.01, **kwargs)


def test_counters_group_requests_by_method_and_path_template(
    emulator: EmulatorProcess, setup: AgentSetup
) -> None:
    with emulator.management_client() as client:
        for _ in range(3):
            client.jobs.get(*setup.names(), "Job1")
        client.jobs.create_or_update(*setup.names(), "Job2", {})
    counters = emulator.counters()
    assert counters[JOBS_TEMPLATE] == 3
    assert counters[JOBS_TEMPLATE.replace("GET", "PUT", 1)] == 1
    emulator.control("DELETE", "counters")
    assert emulator.counters() == {}


def test_429_with_retry_after_is_retried_by_the_sdk(emulator: EmulatorProcess, setup: AgentSetup) -> None:
    emulator.set_faults(
        [{"kind": "429", "path": "/jobs/Job1$", "method": "GET", "retry_after": 1, "max_count": 2}]
    )
    started = time.monotonic()
    with _fast_client(emulator) as client:
        assert client.jobs.get(*setup.names(), "Job1").name == "Job1"
    assert time.monotonic() - started >= 2  # honoured Retry-After: 1 twice
    assert emulator.counters()[JOBS_TEMPLATE] == 3
    assert emulator.control("GET", "faults")["rules"][0]["hits"] == 2


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_are_injected_and_retried(
    emulator: EmulatorProcess, setup: AgentSetup, kind: str
) -> None:
    emulator.set_faults([{"kind": kind, "path": "/jobs/Job1$", "max_count": 1}])
    with _fast_client(emulator, retry_total=0) as client, pytest.raises(HttpResponseError) as failed:
        client.jobs.get(*setup.names(), "Job1")
    assert failed.value.status_code == int(kind)
    assert failed.value.error.code in ("InternalServerError", "ServiceUnavailable")
    with _fast_client(emulator) as client:
        assert client.jobs.get(*setup.names(), "Job1").name == "Job1"


def test_dropped_connection_is_a_connection_error(emulator: EmulatorProcess, setup: AgentSetup) -> None:
    emulator.set_faults([{"kind": "drop", "path": "/jobs/Job1$"}])
    with (
        _fast_client(emulator, retry_total=0) as client,
        pytest.raises((ServiceResponseError, ServiceRequestError)),
    ):
        client.jobs.get(*setup.names(), "Job1")
    emulator.set_faults([{"kind": "drop", "path": "/jobs/Job1$", "max_count": 1}])
    with _fast_client(emulator) as client:
        assert client.jobs.get(*setup.names(), "Job1").name == "Job1"


def test_latency_is_added(emulator: EmulatorProcess, setup: AgentSetup) -> None:
    emulator.set_faults([{"kind": "latency", "path": "/jobs/Job1$", "latency_ms": 400}])
    with emulator.management_client() as client:
        client.jobs.get(*setup.names(), "Job1")  # warm the connection
        started = time.monotonic()
        client.jobs.get(*setup.names(), "Job1")
    assert time.monotonic() - started >= 0.4


def test_probability_with_seed_is_reproducible(emulator: EmulatorProcess, setup: AgentSetup) -> None:
    def pattern() -> list[int]:
        emulator.set_faults([{"kind": "500", "path": "/jobs/Job1$", "probability": 0.5}], seed=1234)
        statuses = []
        with emulator.http() as http:
            for _ in range(20):
                statuses.append(
                    http.get(f"{setup.agent_id}/jobs/Job1", params={"api-version": "2025-01-01"}).status_code
                )
        return statuses

    first, second = pattern(), pattern()
    assert first == second
    assert set(first) == {200, 500}


def test_bad_fault_rule_is_refused(emulator: EmulatorProcess) -> None:
    with emulator.http() as http:
        response = http.put("/_emulator/faults", json={"rules": [{"kind": "teapot"}]})
    assert response.status_code == 400
    assert "rules[0].kind" in response.json()["error"]["message"]


def test_reset_clears_rules(emulator: EmulatorProcess, setup: AgentSetup) -> None:
    emulator.set_faults([{"kind": "500", "path": "/jobs/"}])
    emulator.reset_controls()
    assert emulator.control("GET", "faults") == {"rules": []}
    with emulator.management_client() as client:
        assert client.jobs.get(*setup.names(), "Job1").name == "Job1"
