"""Desired-state specs render ARM JSON; the reconciler writes only differences and orders steps right.

The step-ordering test runs the reconciler against a tiny in-memory agent that applies ARM's step
rules (PUT with stepId inserts/moves there and renumbers; DELETE renumbers); the integration tests
run the same code against the emulator.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_elasticjobs.definitions import (
    ScheduleSpec,
    StepSpec,
    TargetGroupSpec,
    TargetMember,
    build_job,
)
from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.reconcile import reconcile_definition, reconcile_job, schedule_matches, step_matches
from airflow_elasticjobs.validation import ElasticJobsValidationError

AGENT = AgentRef("sub", "rg", "srv", "agent")


def test_member_json() -> None:
    member = TargetMember("SqlServer", "target-srv", refresh_credential="masteruser")
    assert member.to_arm(AGENT) == {
        "membershipType": "Include",
        "type": "SqlServer",
        "serverName": "target-srv",
        "refreshCredential": AGENT.credential_id("masteruser"),
    }
    group = TargetGroupSpec.build(
        "g",
        [
            {"type": "SqlServer", "server_name": "s", "refresh_credential": "m"},
            {"type": "SqlDatabase", "server_name": "s", "database_name": "d", "membership_type": "Exclude"},
        ],
    )
    assert [m["membershipType"] for m in group.to_arm(AGENT)] == ["Include", "Exclude"]


def test_step_json_fills_arm_defaults() -> None:
    body = StepSpec("Step1", "SELECT 1", "ServerGroup", credential="jobuser", retry_attempts=0).to_arm(
        AGENT, 1
    )
    assert body == {
        "stepId": 1,
        "targetGroup": AGENT.target_group_id("ServerGroup"),
        "credential": AGENT.credential_id("jobuser"),
        "action": {"type": "TSql", "source": "Inline", "value": "SELECT 1"},
        "executionOptions": {
            "timeoutSeconds": 43200,
            "retryAttempts": 0,
            "initialRetryIntervalSeconds": 1,
            "maximumRetryIntervalSeconds": 120,
            "retryIntervalBackoffMultiplier": 2.0,
        },
    }


def test_step_comparison_ignores_id_casing_and_number_types() -> None:
    desired = StepSpec("Step1", "SELECT 1", "ServerGroup").to_arm(AGENT, 1)
    actual = {**desired, "targetGroup": desired["targetGroup"].upper(), "stepId": 3}
    actual["executionOptions"] = {**desired["executionOptions"], "retryIntervalBackoffMultiplier": 2}
    assert step_matches(desired, actual)
    assert not step_matches(desired, {**actual, "action": {**desired["action"], "value": "SELECT 2"}})
    assert not step_matches(desired, {**actual, "credential": AGENT.credential_id("x")})


def test_schedule_comparison() -> None:
    spec = ScheduleSpec("Recurring", True, "PT1H", start_time="2030-01-01T00:00:00Z")
    current = {
        "type": "Recurring",
        "enabled": True,
        "interval": "PT1H",
        "startTime": "2030-01-01T00:00:00+00:00",
        "endTime": "9999-12-31T11:59:59Z",
    }
    assert schedule_matches(spec, current)
    assert not schedule_matches(spec, {**current, "enabled": False})
    assert schedule_matches(
        ScheduleSpec("Once", False), {"type": "Once", "enabled": False, "startTime": "2024-01-01T00:00:00Z"}
    )


class InMemoryAgent:
    """Just enough of ``ElasticJobsHook`` for ``reconcile_job``, following ARM's step rules."""

    agent = AGENT

    def __init__(self) -> None:
        self.job: dict[str, Any] | None = None
        self.steps: list[tuple[str, dict[str, Any]]] = []
        self.writes: list[str] = []
        self.version = 0  # +1 per step create, update or delete, as ARM counts job versions
        self.job_reads = 0

    def get_job(self, name: str) -> Any:
        self.job_reads += 1
        return None if self.job is None else self._job()

    def _job(self) -> Any:
        assert self.job is not None
        schedule = self.job.get("schedule")
        return SimpleNamespace(
            properties=SimpleNamespace(
                description=self.job["description"],
                schedule=SimpleNamespace(as_dict=lambda: dict(schedule)) if schedule else None,
                version=self.version,
            )
        )

    def create_or_update_job(self, name: str, *, description: str = "", schedule: Any = None) -> Any:
        self.writes.append(f"PUT job {name}")
        self.job = {"description": description, "schedule": schedule}
        return self._job()

    def list_steps(self, job: str) -> list[Any]:
        return [
            SimpleNamespace(name=n, properties=SimpleNamespace(as_dict=lambda p=p, i=i: {**p, "stepId": i}))
            for i, (n, p) in enumerate(self.steps, start=1)
        ]

    def create_or_update_step(self, job: str, name: str, body: dict[str, Any]) -> None:
        self.writes.append(f"PUT step {name}@{body['properties']['stepId']}")
        self.steps = [s for s in self.steps if s[0] != name]
        self.steps.insert(body["properties"]["stepId"] - 1, (name, body["properties"]))
        self.version += 1

    def delete_step(self, job: str, name: str) -> None:
        self.writes.append(f"DELETE step {name}")
        self.steps = [s for s in self.steps if s[0] != name]
        self.version += 1


def steps(*names: str, command: str = "SELECT 1") -> list[dict[str, Any]]:
    return [{"name": n, "command": f"{command} -- {n}", "target_group": "g"} for n in names]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (["A", "B", "C"], ["C", "A", "B"]),
        (["A", "B", "C"], ["B"]),
        (["A", "B"], ["X", "B", "Y", "A"]),
        (["A", "B", "C", "D"], ["D", "C", "B", "A"]),
        ([], ["A", "B"]),
    ],
)
def test_steps_end_in_desired_order(before: list[str], after: list[str]) -> None:
    agent = InMemoryAgent()
    if before:
        reconcile_job(agent, build_job("Job1", steps(*before)))  # type: ignore[arg-type]
    changes = reconcile_job(agent, build_job("Job1", steps(*after))).changes  # type: ignore[arg-type]
    assert [n for n, _ in agent.steps] == after
    assert {c.name for c in changes if c.kind == "step"} >= set(after)

    agent.writes.clear()
    again = reconcile_job(agent, build_job("Job1", steps(*after)))  # type: ignore[arg-type]
    assert agent.writes == []
    assert all(c.action == "unchanged" for c in again.changes)
    assert again.version == agent.version


def test_changed_step_is_rewritten_in_place() -> None:
    agent = InMemoryAgent()
    reconcile_job(agent, build_job("Job1", steps("A", "B")))  # type: ignore[arg-type]
    agent.writes.clear()
    reconciled = reconcile_job(agent, build_job("Job1", steps("A") + steps("B", command="SELECT 2")))  # type: ignore[arg-type]
    assert agent.writes == ["PUT step B@2"]
    assert [str(c) for c in reconciled.changes if c.changed] == ["~ step B: properties"]
    assert reconciled.version == agent.version == 3


def test_schedule_is_written_after_the_steps() -> None:
    agent = InMemoryAgent()
    schedule = {"type": "Recurring", "interval": "PT1H", "enabled": True}
    reconcile_job(agent, build_job("Job1", steps("A"), schedule=schedule))  # type: ignore[arg-type]
    assert agent.writes == ["PUT job Job1", "PUT step A@1", "PUT job Job1"]
    assert agent.job["schedule"] == schedule


@pytest.mark.parametrize("schedule", [None, {"type": "Recurring", "interval": "PT1H", "enabled": True}])
def test_job_is_read_once_and_the_version_comes_back(schedule: dict[str, Any] | None) -> None:
    agent = InMemoryAgent()
    for after in (["A", "B"], ["B", "C"]):  # create the job, then delete A and add C
        agent.job_reads = 0
        reconciled = reconcile_job(agent, build_job("Job1", steps(*after), schedule=schedule))  # type: ignore[arg-type]
        assert agent.job_reads == 1
        assert reconciled.version == agent.version


class ReferenceCheckingAgent(InMemoryAgent):
    """The in-memory agent with credentials and target groups, recording every write in order."""

    def get_credential(self, name: str) -> Any:
        return None

    def get_target_group(self, name: str) -> Any:
        return None

    def get_agent(self) -> Any:
        return SimpleNamespace(identity=None)

    def create_or_update_credential(self, name: str, username: str, password: str) -> None:
        self.writes.append(f"PUT credential {name}")

    def create_or_update_target_group(self, name: str, members: Any) -> None:
        self.writes.append(f"PUT target group {name}")


def test_definition_order_is_references_credentials_target_groups_job() -> None:
    agent = ReferenceCheckingAgent()
    job = build_job("Job1", [{"name": "A", "command": "SELECT 1", "target_group": "g", "credential": "c"}])
    group = TargetGroupSpec.build("g", [{"type": "SqlDatabase", "server_name": "s", "database_name": "d"}])
    with pytest.raises(ElasticJobsValidationError, match="target group 'g' does not exist"):
        reconcile_definition(agent, job, credentials={"c": ("user", "pw")})  # type: ignore[arg-type]
    assert agent.writes == []

    reconciled = reconcile_definition(agent, job, credentials={"c": ("user", "pw")}, target_groups=[group])  # type: ignore[arg-type]
    assert agent.writes == ["PUT credential c", "PUT target group g", "PUT job Job1", "PUT step A@1"]
    assert reconciled.version == 1
    assert [c.kind for c in reconciled.changes] == ["credential", "target group", "job", "step"]
