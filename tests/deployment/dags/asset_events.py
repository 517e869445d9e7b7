"""Asset-event DAGs for tests/deployment/test_asset_triggered.py, parsed by the stack's dag-processor.

* ``deployment_asset_producer``: starts ``params.job_name`` on the agent named by the conf and waits
  in the triggerer; a Failed execution does not fail the task (``fail_on`` without Failed), and each
  target database that succeeded gets one event through the alias ``deployment_asset_targets``.
* ``deployment_asset_consumer_targetdb1`` / ``…_targetdb2``: scheduled on the asset of that
  database of :data:`TARGET_SERVER`; the task returns the ``extra`` of the events that triggered it.

A schedule is fixed when the file is parsed, so the target server's name is fixed here too (the
test builds its world with it).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetAlias, Param, task

from airflow_elasticjobs.dataset_names import database_uri
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

PRODUCER = "deployment_asset_producer"
PRODUCER_TASK_ID = "start"
CONSUMER_TASK_ID = "follow_up"
ALIAS = AssetAlias("deployment_asset_targets")
TARGET_SERVER = "assets-target-server"
CONSUMERS = {
    database: f"deployment_asset_consumer_{database.lower()}" for database in ("TargetDb1", "TargetDb2")
}
START = pendulum.datetime(2025, 1, 1, tz="UTC")
NAME_PARAMS = ("resource_group_name", "server_name", "agent_name", "job_name")

with DAG(
    dag_id=PRODUCER,
    schedule=None,
    start_date=START,
    catchup=False,
    render_template_as_native_obj=True,
    tags=["elastic-jobs", "deployment-tests"],
    params={name: Param(None, type=["null", "string"]) for name in NAME_PARAMS},
):
    ElasticJobsStartJobOperator(
        task_id=PRODUCER_TASK_ID,
        deferrable=True,
        poll_interval=1,
        timeout=600,
        fail_on=["TimedOut", "Canceled", "Skipped"],
        asset_alias=ALIAS,
        **{name: f"{{{{ params.{name} }}}}" for name in NAME_PARAMS},
    )

for database, dag_id in CONSUMERS.items():
    asset = Asset(database_uri(TARGET_SERVER, database))
    with DAG(
        dag_id=dag_id,
        schedule=[asset],
        start_date=START,
        catchup=False,
        tags=["elastic-jobs", "deployment-tests"],
    ):

        @task(task_id=CONSUMER_TASK_ID)
        def follow_up(triggering_asset_events: Any = None, asset: Asset = asset) -> list[dict[str, Any]]:
            """The ``extra`` of each event of the database's asset that triggered this run (the
            accessor also lists each event under the alias it came through)."""
            return [dict(event.extra) for event in triggering_asset_events[asset]]

        follow_up()
