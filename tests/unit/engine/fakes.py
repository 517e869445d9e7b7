"""Helpers for engine tests: job definitions in a real store and a fake database layer."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from elasticjobs_emulator import tsql
from elasticjobs_emulator.engine.sql_access import AttemptError
from elasticjobs_emulator.engine.targets import MemberError, ServerView
from elasticjobs_emulator.store import Store

RG = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql"
SERVER = f"{RG}/servers/agentsrv"
AGENT = f"{SERVER}/jobAgents/agent"
JOB = f"{AGENT}/jobs/Job1"
CREDENTIAL = f"{AGENT}/credentials/jobuser"
GROUP = f"{AGENT}/targetGroups/group"

Behaviour = Callable[[str, str, int, threading.Event], None]
OutputBehaviour = Callable[[dict[str, Any], str, tsql.ResultSet], None]


class FakeSql:
    """Databases of a fake server; ``behaviour(server, database, attempt, cancel)`` decides each run.

    With ``results`` set each run returns a one-row result set naming its database;
    ``write_output`` records ``(output, internal id, result)`` once ``output_behaviour`` accepted it.
    """

    def __init__(self) -> None:
        self.databases: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.bad_refresh: set[str] = set()
        self.behaviour: Behaviour = lambda *_: None
        self.results = False
        self.output_behaviour: OutputBehaviour = lambda *_: None
        self.calls: list[tuple[str, str]] = []
        self._attempts: Counter[tuple[str, str]] = Counter()  # runs per (server, database)
        self.outputs: list[tuple[dict[str, Any], str, tsql.ResultSet]] = []
        self._lock = threading.Lock()

    def run(
        self, agent_id: str, server: str, database: str, credential_id: str, sql: str, cancel: threading.Event
    ) -> tsql.ResultSet | None:
        with self._lock:
            self.calls.append((server, database))
            self._attempts[server, database] += 1
            attempt = self._attempts[server, database]
        self.behaviour(server, database, attempt, cancel)
        return tsql.ResultSet(["database_name"], [[database]]) if self.results else None

    def for_step(self) -> FakeSql:
        """The same fake: it resolves nothing."""
        return self

    def write_output(
        self,
        agent_id: str,
        output: dict[str, Any],
        internal_execution_id: str,
        result: tsql.ResultSet,
        cancel: threading.Event,
    ) -> None:
        self.output_behaviour(output, internal_execution_id, result)
        with self._lock:
            self.outputs.append((output, internal_execution_id, result))

    def server_view(self, agent_id: str) -> ServerView:
        def databases(server: str) -> list[tuple[str, dict[str, Any]]]:
            return self.databases[server]

        def check(server: str, credential_id: str) -> None:
            if server in self.bad_refresh:
                raise MemberError(f"Login failed for refresh credential on server '{server}'.")

        return ServerView(databases=databases, check_refresh_login=check)


def fail(message: str) -> Behaviour:
    """A behaviour that always fails with ``message``."""

    def behaviour(*_: Any) -> None:
        raise AttemptError(message)

    return behaviour


def block_until_canceled(_server: str, _database: str, _attempt: int, cancel: threading.Event) -> None:
    """A behaviour that runs until interrupted (like WAITFOR DELAY)."""
    cancel.wait(30)
    raise AttemptError("Command failed: the query was canceled.")


def define_job(
    store: Store, members: list[dict[str, Any]], steps: list[dict[str, Any]], job: str = JOB
) -> str:
    """Store an agent, a target group, a credential and a job at version 1 with ``steps``."""
    store.put(
        AGENT, {"id": AGENT, "name": "agent", "sku": {"name": "JA100", "capacity": 100}, "properties": {}}
    )
    store.put(CREDENTIAL, {"id": CREDENTIAL, "name": "jobuser", "properties": {"username": "jobuser"}})
    store.put(GROUP, {"id": GROUP, "name": "group", "properties": {"members": members}})
    store.put(job, {"id": job, "name": job.rsplit("/", 1)[-1], "properties": {"version": 1}})
    store.put(f"{job}/versions/1", {"id": f"{job}/versions/1", "name": "1"})
    for index, step in enumerate(steps, start=1):
        doc = {
            "id": f"{job}/versions/1/steps/Step{index}",
            "name": f"Step{index}",
            "properties": {
                "stepId": index,
                "targetGroup": GROUP,
                "credential": CREDENTIAL,
                "action": {"type": "TSql", "source": "Inline", "value": "SELECT 1"},
                **step,
            },
        }
        store.put(doc["id"], doc)
    return job


def fast_options(**overrides: Any) -> dict[str, Any]:
    """executionOptions with sub-second retries."""
    options = {
        "timeoutSeconds": 5,
        "retryAttempts": 2,
        "initialRetryIntervalSeconds": 0.05,
        "maximumRetryIntervalSeconds": 0.2,
        "retryIntervalBackoffMultiplier": 2.0,
    }
    options.update(overrides)
    return {"executionOptions": options}


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")
