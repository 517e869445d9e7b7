"""Transient faults (docs/reliability.md): 429 / 500 / 503 / dropped connections / latency never fail a task
or cancel a job; 429 waits at least Retry-After; expiring service-principal tokens are renewed during a
long wait.

Faults are injected by the emulator's test controls on every ARM path of the test's own resource
group (docs/emulator.md, "Test controls"), so other tests sharing the emulator are not affected.
Evidence comes from the emulator: executions and their lifecycles, cancel requests counted, fault
hits, its access log.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger
from tests.dags.harness import failed_tasks, load_example_dag, tutorial_world
from tests.dags.harness import run_dag as run_example_dag
from tests.integration.provider.execution_support import (
    CONN_ID,
    connection_json,
    executions_of,
    run_dag,
    sql_job,
    unique_logical_date,
    xcom,
)
from tests.reliability.chaos_dag import ChildDag
from tests.reliability.chaos_emulator import CANCEL, RequestCounts, chaos_rules, faults, hit_counts
from tests.reliability.chaos_triggerer import TriggerHarness
from tests.reliability.conftest import canary
from tests.support.emulator import unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

# The SDK's own retries per request; production defaults are 10 retries, 0.8 s factor, 60 s cap.
PATIENT = {"retry_total": 8, "retry_backoff_factor": 0.2, "retry_backoff_max": 2.0}
FAST = {"poll_interval": 0.3, "progress_interval": 1.0, "error_budget": 60.0}
BATCH = 20


@pytest.fixture
def patient_world(world, monkeypatch):
    """The world, with a connection whose SDK retries outlast a 20 % fault rate."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(world, **PATIENT))
    return world


def test_the_tutorial_dag_succeeds_under_a_20_percent_fault_rate(emulator, airflow_db, monkeypatch):
    """The whole tutorial DAG (servers, agent LRO, credentials, groups, job, start, sensor, schedule)
    with 20 % of its ARM requests failing and every other one delayed: the run succeeds, with the
    tutorial's outcome, and the emulator saw every fault kind and no cancel request."""
    with tutorial_world(emulator) as world:
        conn_var = "AIRFLOW_CONN_AZURE_ELASTIC_JOBS_DEFAULT"
        conn = json.loads(world.connections[conn_var])
        conn["extra"].update(PATIENT)
        monkeypatch.setenv(conn_var, json.dumps(conn))
        before = RequestCounts.of(emulator)
        with faults(emulator, chaos_rules(world.names.resource_group)):
            dag_run = run_example_dag(load_example_dag("elastic_jobs_tutorial"), world.names.dag_conf())
            hits = hit_counts(emulator)

        print(f"MEASURED tutorial under faults: fault hits {hits}")
        assert dag_run.state == "success", failed_tasks(dag_run)
        assert all(hits.get(kind, 0) > 0 for kind in ("429", "500", "503", "drop")), hits
        assert RequestCounts.of(emulator).since(before, CANCEL) == 0
        tables = world.tables()
        assert {"Step1Table", "Step2Table"} <= set(tables["TargetDb1"])
        assert "Step2Table" not in tables["TargetDb2"]
        started = xcom(dag_run, "start_job1")["execution_id"]
        with emulator.management_client() as client:
            executions = list(client.job_executions.list_by_job(*world.agent_args(), "Job1"))
        # The DAG's last step enables Job1's hourly agent schedule from the task's start time, so
        # the agent may fire one execution of its own; the one Airflow started exists exactly once.
        assert [e.lifecycle for e in executions if e.name == started] == ["Succeeded"]
        assert len(executions) <= 2


def test_twenty_start_and_wait_tasks_all_succeed_under_faults(patient_world):
    """20 mapped start-and-wait tasks (10 polling, 10 deferred) under the same fault mix: every task
    succeeds, every job ran exactly once and Succeeded, nothing was cancelled."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

    world = patient_world
    jobs = [sql_job(world, f"BatchJob{i}", "PRINT 'batch';") for i in range(BATCH)]
    with DAG("chaos_batch", schedule=None, catchup=False) as dag:
        for deferrable, names in ((False, jobs[: BATCH // 2]), (True, jobs[BATCH // 2 :])):
            ElasticJobsStartJobOperator.partial(
                task_id=f"start_{'deferred' if deferrable else 'polling'}",
                elastic_jobs_conn_id=CONN_ID,
                deferrable=deferrable,
                retry_delay=timedelta(seconds=0),
                **FAST,
            ).expand(job_name=names)
    before = RequestCounts.of(world.emulator)
    with faults(world.emulator, chaos_rules(world.rg)):
        dag_run = run_dag(dag, unique_logical_date())
        hits = hit_counts(world.emulator)

    print(f"MEASURED batch of {BATCH} under faults: fault hits {hits}")
    assert dag_run.state == "success", failed_tasks(dag_run)
    assert all(hits.get(kind, 0) > 0 for kind in ("429", "500", "503", "drop")), hits
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0
    for job in jobs:
        assert [e.lifecycle for e in executions_of(world, job)] == ["Succeeded"], job


async def test_429_waits_at_least_retry_after_in_the_worker_and_in_the_triggerer(patient_world, tmp_path):
    """Every GET of the resource group answers 429 with ``Retry-After: 2`` for 5 s while a polling
    worker (0.3 s interval) and a trigger wait: each request stream makes at most one request per 2 s
    in that window (the worker's; the trigger's ended list, and its active list read beside it), and
    both then finish Succeeded without any cancel."""
    world, retry_after, window = patient_world, 2, 5.0
    polled_job = sql_job(world, "ThrottledPollJob", "WAITFOR DELAY '00:00:06';", timeoutSeconds=60)
    deferred_job = sql_job(world, "ThrottledDeferJob", "WAITFOR DELAY '00:00:06';", timeoutSeconds=60)
    date = unique_logical_date()
    child = ChildDag(tmp_path / "child.log", "chaos_429", date, job_name=polled_job, deferrable=False, **FAST)
    try:
        await asyncio.to_thread(
            child.wait_for,
            lambda: any(e.lifecycle != "Created" for e in executions_of(world, polled_job)),
            60,
            "the polling task's execution",
        )
        execution = world.start(deferred_job)
        harness = TriggerHarness(
            ElasticJobsExecutionTrigger(
                elastic_jobs_conn_id=CONN_ID, job_name=deferred_job, execution_id=execution.name, **FAST
            )
        )
        await asyncio.sleep(1.0)
        before = RequestCounts.of(world.emulator)
        throttle = {"kind": "429", "path": f"/resourceGroups/{world.rg}/", "method": "GET"}
        with faults(world.emulator, [{**throttle, "retry_after": retry_after}]):
            await asyncio.sleep(window)
            throttled = hit_counts(world.emulator)["429"]
        (event,) = await harness.until_event(timeout=40)
        state = await asyncio.to_thread(child.wait, 60)
    finally:
        child.close()

    print(f"MEASURED 429 window {window} s, Retry-After {retry_after} s: {throttled} throttled GETs")
    streams = 3  # the worker's GET; the trigger's ended list and the active list it may read beside
    assert 2 <= throttled <= streams * (int(window // retry_after) + 1), throttled
    assert (event["status"], event["lifecycle"]) == ("done", "Succeeded")
    assert state == "success"
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0
    assert {e.lifecycle for e in executions_of(world, polled_job) + executions_of(world, deferred_job)} == {
        "Succeeded"
    }


async def test_tokens_expiring_during_a_long_deferred_wait_are_renewed(world, monkeypatch):
    """The trigger authenticates as a service principal: the real ``azure.identity.aio`` credential
    gets its tokens from the emulator's Entra ID token endpoint. Tokens live 3 s and ARM's clock runs
    1.5 s ahead of the client's, so every token is refused (401 ``ExpiredAuthenticationToken``) for the
    last part of its life before the credential renews it. Across a 7 s wait: several tokens issued,
    expired ones refused, the 401s retried, the trigger reports Succeeded and nothing is cancelled."""
    client_id, secret = unique_name("app"), canary("client-secret")
    world.emulator.register_principal(client_id, secret, lifetime_seconds=3, clock_skew_seconds=1.5)
    connection = world.emulator.service_principal_connection_json(
        client_id, secret, world.rg, world.agent_server, world.agent, **PATIENT
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection)
    job = sql_job(world, "TokenJob", "WAITFOR DELAY '00:00:07';", timeoutSeconds=60)
    execution = world.start(job)
    before = RequestCounts.of(world.emulator)
    log_offset = len(world.emulator.log_text())

    harness = TriggerHarness(
        ElasticJobsExecutionTrigger(
            elastic_jobs_conn_id=CONN_ID, job_name=job, execution_id=execution.name, **FAST
        )
    )
    (event,) = await harness.until_event(timeout=40)

    assert (event["status"], event["lifecycle"]) == ("done", "Succeeded")
    lines = world.emulator.log_text()[log_offset:].splitlines()
    arm = [line for line in lines if f"/resourceGroups/{world.rg}/" in line]
    refused = [line for line in arm if '" 401' in line]
    issued = world.emulator.principals()[client_id]["tokens_issued"]
    print(f"MEASURED token expiry: {issued} tokens issued, {len(refused)}/{len(arm)} ARM requests got 401")
    assert issued >= 3, issued
    assert refused, "no expired token ever reached the emulator"
    assert not [line for line in arm if '" 5' in line or '" 403' in line]
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == 0
    assert secret not in world.emulator.log_text()
