"""``ElasticJobsDeployOperator`` and ``ElasticJobsJobOperator`` reconcile against the running emulator:
the first run creates, a second identical run writes nothing (counted with the emulator's request
counters), a changed definition applies exactly the diff (reorder, removal, changed members)."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
from airflow_elasticjobs.operators.job import ElasticJobsJobOperator
from tests.integration.provider.execution_support import run_dag, xcom
from tests.integration.provider.resource_support import (
    CONN_ID,
    JOBUSER_CONN_ID,
    JOBUSER_PASSWORD,
    MASTER_CONN_ID,
    MASTER_PASSWORD,
    Names,
    build_agent,
    excluded_db2,
    server_member,
    tutorial_steps,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
WRITES = ("PUT ", "PATCH ", "DELETE ", "POST ")


def deploy_dag(names: Names, steps: list[dict[str, Any]], excluded: bool = True) -> DAG:
    excl_members = [server_member(names), excluded_db2(names)] if excluded else [server_member(names)]
    with DAG(f"ej_deploy_{names.rg}", schedule=None, catchup=False) as dag:
        ElasticJobsDeployOperator(
            task_id="deploy",
            elastic_jobs_conn_id=CONN_ID,
            credentials=[
                {"name": "masteruser", "conn_id": MASTER_CONN_ID},
                {"name": "jobuser", "conn_id": JOBUSER_CONN_ID},
            ],
            target_groups=[
                {"name": "ServerGroup", "members": [server_member(names)]},
                {"name": "ServerGroupExcludingDb2", "members": excl_members},
            ],
            job_name="Job1",
            description="deployed",
            steps=steps,
            schedule={"type": "Recurring", "interval": "PT1H", "enabled": False},
        )
    return dag


def writes(counters: dict[str, int]) -> dict[str, int]:
    return {path: n for path, n in counters.items() if path.startswith(WRITES)}


def test_deploy_is_idempotent_and_applies_only_the_diff(
    emulator, names: Names, capfd: pytest.CaptureFixture[str]
) -> None:
    build_agent(names).close()

    first = run_dag(deploy_dag(names, tutorial_steps()))
    assert first.state == "success"
    created = xcom(first, "deploy")
    assert created["changed"] is True
    assert sorted((c["action"], c["kind"], c["name"]) for c in created["changes"]) == [
        ("create", "credential", "jobuser"),
        ("create", "credential", "masteruser"),
        ("create", "job", "Job1"),
        ("create", "step", "step1"),
        ("create", "step", "step2"),
        ("create", "target group", "ServerGroup"),
        ("create", "target group", "ServerGroupExcludingDb2"),
        ("update", "schedule", "Job1"),
    ]
    assert created["version"] == 2
    log = "".join(capfd.readouterr())
    assert "+ credential jobuser: username 'jobuser'" in log
    assert "+ step step2: at position 2" in log
    assert "~ schedule Job1: Recurring every PT1H, disabled" in log
    assert "Deploy of job Job1: 8 change(s) applied, 0 unchanged" in log
    assert MASTER_PASSWORD not in log and JOBUSER_PASSWORD not in log

    emulator.reset_controls()
    second = run_dag(deploy_dag(names, tutorial_steps()))
    assert second.state == "success"
    counters = emulator.counters()
    assert any(path.startswith("GET ") for path in counters)  # the run did read the agent
    assert writes(counters) == {}
    unchanged = xcom(second, "deploy")
    assert (unchanged["changed"], unchanged["changes"], unchanged["version"]) == (False, [], 2)

    # Reverse the steps, change step1's T-SQL, add step3, and drop the exclusion.
    step1, step2 = tutorial_steps()
    step3 = {**step2, "name": "step3", "command": "SELECT 3"}
    emulator.reset_controls()
    third = run_dag(deploy_dag(names, [step2, step3, {**step1, "command": "SELECT 1"}], excluded=False))
    assert third.state == "success"
    applied = {(c["action"], c["kind"], c["name"]) for c in xcom(third, "deploy")["changes"]}
    assert applied == {
        ("update", "target group", "ServerGroupExcludingDb2"),
        ("update", "step", "step2"),
        ("create", "step", "step3"),
        ("update", "step", "step1"),
    }
    assert not any(path.startswith("PUT") and "/credentials/" in path for path in writes(emulator.counters()))

    with emulator.management_client() as client:
        args = (names.rg, names.agent_server, names.agent)
        steps = sorted(client.job_steps.list_by_job(*args, "Job1"), key=lambda s: s.properties.step_id)
        assert [(s.name, s.properties.step_id) for s in steps] == [("step2", 1), ("step3", 2), ("step1", 3)]
        assert steps[2].properties.action.value == "SELECT 1"
        group = client.job_target_groups.get(*args, "ServerGroupExcludingDb2")
        assert [m.membership_type for m in group.properties.members] == ["Include"]
        job = client.jobs.get(*args, "Job1")
        assert job.properties.version > 2
        assert (job.properties.schedule.type, job.properties.schedule.interval) == ("Recurring", "PT1H")


def test_job_operator_renumbers_and_removes_steps(emulator, names: Names) -> None:
    hook = build_agent(names)
    hook.create_or_update_credential("jobuser", "jobuser", "Some-Passw0rd!")
    hook.create_or_update_target_group(
        "g",
        [
            {
                "type": "SqlDatabase",
                "serverName": names.target_server,
                "databaseName": "TargetDb1",
                "membershipType": "Include",
            }
        ],
    )
    hook.create_or_update_job("JobR")
    for name in ("a", "b", "c", "d"):
        hook.create_or_update_step(
            "JobR",
            name,
            {
                "properties": {
                    "targetGroup": hook.agent.target_group_id("g"),
                    "credential": hook.agent.credential_id("jobuser"),
                    "action": {"value": f"SELECT '{name}'"},
                }
            },
        )
    hook.close()

    steps = [
        {"name": n, "target_group": "g", "credential": "jobuser", "command": f"SELECT '{n}'", "step_id": i}
        for i, n in enumerate(["d", "b", "e"], start=1)
    ]
    with DAG(f"ej_job_{names.rg}", schedule=None, catchup=False) as dag:
        ElasticJobsJobOperator(task_id="job", elastic_jobs_conn_id=CONN_ID, job_name="JobR", steps=steps)
    dag_run = run_dag(dag)
    assert dag_run.state == "success"
    result = xcom(dag_run, "job")
    assert result["steps"] == ["d", "b", "e"]
    assert {(c["action"], c["name"]) for c in result["changes"]} == {
        ("delete", "a"),
        ("delete", "c"),
        ("update", "d"),
        ("create", "e"),
    }
    with emulator.management_client() as client:
        listed = client.job_steps.list_by_job(names.rg, names.agent_server, names.agent, "JobR")
        assert sorted((s.properties.step_id, s.name) for s in listed) == [(1, "d"), (2, "b"), (3, "e")]
