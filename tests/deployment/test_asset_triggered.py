"""Data-aware scheduling on the real deployment: the producer's per-database asset events start the
follow-up DAG of the database the job succeeded on, and only that one.

The two-step job waits, then creates a table on TargetDb1 and TargetDb2 of :data:`TARGET_SERVER`;
the job user may not create tables in TargetDb2, so that target fails in step 2. The producer
(tests/deployment/dags/asset_events.py) tolerates a Failed execution, so its task succeeds and
publishes TargetDb1's event; the scheduler then makes an ``asset_triggered`` run of TargetDb1's
consumer, which receives the event's extra.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.stack.local_stack import LocalStack
from tests.deployment.client import DeploymentApi, wait_until
from tests.deployment.dags.asset_events import (
    CONSUMER_TASK_ID,
    CONSUMERS,
    PRODUCER,
    PRODUCER_TASK_ID,
    TARGET_SERVER,
)
from tests.deployment.scenario import start_conf
from tests.integration.executions_world import TUTORIAL_SQL, World, fast_options
from tests.support.emulator import unique_name

pytestmark = pytest.mark.timeout(420)

WAIT_SECONDS = 15


@pytest.fixture
def assets_world(stack: LocalStack) -> Iterator[World]:
    """An agent whose target server is the one the consumer DAGs are scheduled on; TargetDb2's job
    user has no permission to create tables."""
    with stack.emulator.management_client() as client:
        world = World(
            stack.emulator, client, unique_name("rg"), target_server=TARGET_SERVER, databases=("TargetDb1",)
        ).build()
        world.create_database(TARGET_SERVER, "TargetDb2")
        world.sql("TargetDb2", "CREATE USER jobuser FROM LOGIN jobuser")
        yield world


def test_the_producers_event_triggers_the_follow_up_of_the_database_it_succeeded_on(
    airflow_api: DeploymentApi, assets_world: World
) -> None:
    group = assets_world.target_group(
        "AssetsGroup", [assets_world.database_member(d) for d in ("TargetDb1", "TargetDb2")]
    )
    # Step 1 waits, so the trigger fires well after the deferring worker has exited: a resumption
    # that overtakes the deferral's own "workload finished" event on a busy machine makes the
    # scheduler fail the task ("task state changed externally"), with or without assets.
    job = assets_world.job(
        "AssetsJob",
        [
            ("Wait", group, f"WAITFOR DELAY '00:00:{WAIT_SECONDS:02d}';", fast_options()),
            ("CreateTable", group, TUTORIAL_SQL.format(table="T"), fast_options()),
        ],
    )
    for consumer in CONSUMERS.values():
        airflow_api.unpause(consumer)

    run_id = airflow_api.trigger(PRODUCER, start_conf(assets_world, job_name=job))
    assert airflow_api.wait_for_run(PRODUCER, run_id, timeout=180)["state"] == "success"
    produced = airflow_api.xcom(PRODUCER, run_id, PRODUCER_TASK_ID)
    assert (produced["lifecycle"], produced["counts"]) == ("Failed", {"Succeeded": 3, "Failed": 1})

    consumer = CONSUMERS["TargetDb1"]
    (run,) = wait_until(
        lambda: airflow_api.dag_runs(consumer), 120, f"an asset-triggered run of {consumer}", interval=1
    )
    assert run["run_type"] == "asset_triggered"
    assert airflow_api.wait_for_run(consumer, run["dag_run_id"], timeout=120)["state"] == "success"
    (extra,) = airflow_api.xcom(consumer, run["dag_run_id"], CONSUMER_TASK_ID)
    assert extra["execution_id"] == produced["execution_id"]
    assert (extra["server_name"], extra["database_name"], extra["lifecycle"]) == (
        TARGET_SERVER,
        "TargetDb1",
        "Succeeded",
    )
    assert extra["step_names"] == ["Wait", "CreateTable"]
    # Both queues are read in the same scheduler loop: TargetDb2 (Failed) got no event, so no run.
    assert airflow_api.dag_runs(CONSUMERS["TargetDb2"]) == []
