"""Clear and backfill-with-reprocess run the job again, once; parallel runs of one job.

* Clearing a succeeded start task, and a backfill with ``reprocess_behavior="completed"`` over a
  date that already ran, start a new execution (a new ``clear_number`` seeds new execution ids,
  docs/execution-semantics.md §1); a retry inside one generation still re-attaches.
* Two DAG runs that start one job at once (a backfill over two dates): Azure marks the later
  execution Skipped and that task fails with a message naming the recipe; with the recipe
  (``max_active_tis_per_dag=1`` on the start task, counted for deferred tasks too) the runs take
  turns and both succeed, their executions never overlapping.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.deployment.client import DeploymentApi
from tests.deployment.scenario import START_DAG, START_TASK_ID, executions, start_conf, waiting_job
from tests.integration.executions_world import World

pytestmark = pytest.mark.timeout(420)

DAILY_DAG = "deployment_daily_start"
SERIAL_DAILY_DAG = "deployment_daily_start_serial"


def test_clearing_a_succeeded_start_task_runs_the_job_again_once(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """Run, clear the start task, run again: two executions, each Succeeded, the XCom names the second."""
    job = waiting_job(agent_world, "ClearRerun", seconds=3)
    run_id = airflow_api.trigger(START_DAG, start_conf(agent_world, job_name=job))
    assert airflow_api.wait_for_run(START_DAG, run_id, timeout=180)["state"] == "success"
    first = airflow_api.xcom(START_DAG, run_id, START_TASK_ID)["execution_id"]

    airflow_api.clear_tasks(START_DAG, run_id, [START_TASK_ID])
    again = {"scheduled", "queued", "running", "deferred"}
    airflow_api.wait_for_task(START_DAG, run_id, START_TASK_ID, again, timeout=60)
    assert airflow_api.wait_for_run(START_DAG, run_id, timeout=180)["state"] == "success"
    second = airflow_api.xcom(START_DAG, run_id, START_TASK_ID)["execution_id"]

    found = executions(agent_world, job)
    assert [(e.name, e.lifecycle) for e in found] == [(first, "Succeeded"), (second, "Succeeded")]
    assert first != second


def test_a_backfill_with_reprocess_runs_the_job_again_once(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """Backfill one date, then again with reprocess_behavior=completed: one new execution."""
    job = waiting_job(agent_world, "BackfillRerun", seconds=3)
    day = datetime(2025, 3, 1, tzinfo=UTC)
    conf = start_conf(agent_world, job_name=job)
    first = airflow_api.create_backfill(SERIAL_DAILY_DAG, day, day, conf=conf)
    airflow_api.wait_for_backfill(first["id"])
    (run,) = _backfill_runs(airflow_api, SERIAL_DAILY_DAG, day, day)
    assert run["state"] == "success"
    assert len(executions(agent_world, job)) == 1

    again = airflow_api.create_backfill(SERIAL_DAILY_DAG, day, day, conf=conf, reprocess_behavior="completed")
    airflow_api.wait_for_backfill(again["id"])
    assert airflow_api.dag_run(SERIAL_DAILY_DAG, run["dag_run_id"])["state"] == "success"
    found = executions(agent_world, job)
    assert [e.lifecycle for e in found] == ["Succeeded", "Succeeded"]
    latest = airflow_api.xcom(SERIAL_DAILY_DAG, run["dag_run_id"], START_TASK_ID)["execution_id"]
    assert latest == found[1].name


def _backfill_runs(api: DeploymentApi, dag_id: str, start: datetime, end: datetime) -> list[dict]:
    """The backfill runs of ``dag_id`` with a logical date in [start, end], oldest first."""
    dates = {"logical_date_gte": start.isoformat(), "logical_date_lte": end.isoformat()}
    return api.dag_runs(dag_id, run_type="backfill", **dates)


def _two_day_backfill(api: DeploymentApi, world: World, dag_id: str, job: str, first_day: int) -> list[dict]:
    """Backfill two consecutive days at once (max_active_runs=2); the two runs once it completed."""
    start, end = (datetime(2025, 4, first_day + i, tzinfo=UTC) for i in (0, 1))
    conf = start_conf(world, job_name=job)
    backfill = api.create_backfill(dag_id, start, end, conf=conf, max_active_runs=2)
    api.wait_for_backfill(backfill["id"], timeout=360)
    runs = _backfill_runs(api, dag_id, start, end)
    assert len(runs) == 2
    return runs


def test_parallel_runs_of_one_job_without_the_recipe_skip_and_fail_the_later_one(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """Both runs start the job at once: one Succeeded, one Skipped; that task fails naming the recipe."""
    job = waiting_job(agent_world, "ParallelRuns", seconds=15)
    runs = _two_day_backfill(airflow_api, agent_world, DAILY_DAG, job, first_day=1)
    assert sorted(r["state"] for r in runs) == ["failed", "success"]
    (failed,) = [r for r in runs if r["state"] == "failed"]
    tries = airflow_api.task_instance(DAILY_DAG, failed["dag_run_id"], START_TASK_ID)["try_number"]
    # Each try of the failed task started its own execution (Skipped is in fail_on, so a retry runs
    # the job again) and each found the other run's execution still busy on the targets.
    lifecycles = [e.lifecycle for e in executions(agent_world, job)]
    assert sorted(lifecycles) == ["Skipped"] * tries + ["Succeeded"]
    log = airflow_api.task_log(DAILY_DAG, failed["dag_run_id"], START_TASK_ID, tries)
    assert "ended Skipped" in log and "max_active_tis_per_dag=1" in log


def test_parallel_runs_with_the_recipe_take_turns_and_both_succeed(
    airflow_api: DeploymentApi, agent_world: World
) -> None:
    """max_active_tis_per_dag=1 on the start task: the second run's task waits; no overlap, both succeed."""
    job = waiting_job(agent_world, "SerialRuns", seconds=10)
    runs = _two_day_backfill(airflow_api, agent_world, SERIAL_DAILY_DAG, job, first_day=10)
    assert [r["state"] for r in runs] == ["success", "success"]
    first, second = executions(agent_world, job)
    assert (first.lifecycle, second.lifecycle) == ("Succeeded", "Succeeded")
    assert second.create_time >= first.end_time  # the later one started after the earlier one ended
