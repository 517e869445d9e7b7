"""Data-aware scheduling per target database: Job1 publishes one asset event per database it ran on.

Producer ``elastic_jobs_job1_asset_events``: starts the tutorial's Job1 and waits in the triggerer.
When the task succeeds, each target database whose steps all succeeded gets one asset event
``x-mssql://{server}.database.windows.net:1433/{database}`` through the alias
``elastic_jobs_job1_targets`` (the databases are known only at run time, hence the alias). The
event's ``extra`` carries the execution id, job name and version, the steps and the database's
lifecycle.

Consumers ``elastic_jobs_after_job1_targetdb1`` / ``…_targetdb2``: one DAG per database, scheduled
on that database's asset, so a follow-up runs for exactly the databases the job succeeded on; each
logs the events that triggered it. Their server is ``ELASTIC_JOBS_TARGET_SERVER`` (default
``target-server``, the tutorial's), read when the file is parsed: a schedule is fixed at parse time.

URI convention and failure behaviour: docs/assets.md.

Prerequisite: the tutorial's agent and Job1 (``elastic_jobs_tutorial``).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetAlias, Param, task

from airflow_elasticjobs.dataset_names import database_uri
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

JOB_NAME = "Job1"
TARGETS_ALIAS = AssetAlias("elastic_jobs_job1_targets")
TARGET_SERVER = os.environ.get("ELASTIC_JOBS_TARGET_SERVER", "target-server")
TARGET_DATABASES = ("TargetDb1", "TargetDb2")
START = pendulum.datetime(2025, 1, 1, tz="UTC")

with DAG(
    dag_id="elastic_jobs_job1_asset_events",
    description="Run Job1 and publish one asset event per target database it succeeded on",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["azure", "elastic-jobs", "assets"],
    doc_md=__doc__,
    params={
        "agent_server_name": Param("agent-server", type="string", description="server of the job agent"),
    },
):
    ElasticJobsStartJobOperator(
        task_id="run_job1",
        server_name="{{ params.agent_server_name }}",
        job_name=JOB_NAME,
        deferrable=True,
        poll_interval=15,
        timeout=timedelta(minutes=30),
        asset_alias=TARGETS_ALIAS,
        doc_md="`Start-AzSqlElasticJob -Name Job1 -Wait`, then one asset event per Succeeded database.",
    )

for database in TARGET_DATABASES:
    asset = Asset(database_uri(TARGET_SERVER, database))
    with DAG(
        dag_id=f"elastic_jobs_after_job1_{database.lower()}",
        description=f"Follow-up on {database} whenever Job1 succeeded there",
        schedule=[asset],
        start_date=START,
        catchup=False,
        tags=["azure", "elastic-jobs", "assets"],
        doc_md=__doc__,
    ):

        @task
        def follow_up(triggering_asset_events: Any = None, asset: Asset = asset) -> list[dict[str, Any]]:
            """Log and return the extra of each event of this database that triggered the run.

            Look events up by the asset: the accessor also lists each one under its alias.
            """
            extras = [dict(event.extra) for event in triggering_asset_events[asset]]
            for extra in extras:
                print(
                    f"Job {extra['job_name']} (version {extra['job_version']}) execution "
                    f"{extra['execution_id']} ended {extra['lifecycle']} on "
                    f"{extra['server_name']}/{extra['database_name']}: steps {extra['step_names']}"
                )
            return extras

        follow_up()
