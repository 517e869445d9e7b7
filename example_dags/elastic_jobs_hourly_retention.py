"""Hourly data retention across every database of a server, scheduled by Airflow.

Each hourly run first reconciles the whole job definition (credentials, target group, job, steps)
with ``ElasticJobsDeployOperator`` — a no-op when nothing changed, so editing this file is how the job
is changed — and then starts one execution with ``ElasticJobsStartJobOperator`` and waits for it in
the triggerer (deferrable). Airflow owns the schedule here, so the agent-side schedule stays disabled:
runs line up with data intervals, show up as task instances, retry without starting a second
execution, and a missed hour is visible in Airflow.

Choose this pattern when the job belongs to a pipeline (it must run after or before other tasks, or
per data interval). Choose the agent-side schedule (``elastic_jobs_tutorial``'s last step, monitored by
``elastic_jobs_monitor_agent_schedule``) when the job must run even while Airflow is down.

Prerequisites: the agent and the target-side logins/users of the tutorial (``elastic_jobs_tutorial``);
``jobuser`` needs permission to delete and insert in the target databases.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

JOB_NAME = "HourlyRetention"
TARGET_GROUP = "RetentionTargets"
PURGE_EVENTS_SQL = (
    "IF EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('EventLog')) "
    "DELETE FROM [dbo].[EventLog] WHERE [CreatedAt] < DATEADD(day, -30, SYSUTCDATETIME());"
)
RECORD_RUN_SQL = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('MaintenanceHistory')) "
    "CREATE TABLE [dbo].[MaintenanceHistory]([RanAt] [datetime2] NOT NULL, [Task] [nvarchar](200) NOT NULL); "
    "INSERT INTO [dbo].[MaintenanceHistory]([RanAt], [Task]) "
    "VALUES (SYSUTCDATETIME(), N'EventLog rows older than 30 days purged');"
)

with DAG(
    dag_id="elastic_jobs_hourly_retention",
    description="Purge old rows in every database of a server, every hour, from Airflow",
    schedule="@hourly",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["azure", "elastic-jobs", "maintenance"],
    doc_md=__doc__,
    params={
        "agent_server_name": Param("agent-server", type="string", description="server of the job agent"),
        "target_server_name": Param("target-server", type="string", description="every database of it"),
    },
) as dag:
    deploy = ElasticJobsDeployOperator(
        task_id="deploy_retention_job",
        server_name="{{ params.agent_server_name }}",
        credentials=[
            {"name": "masteruser", "conn_id": "elastic_jobs_masteruser"},
            {"name": "jobuser", "conn_id": "elastic_jobs_jobuser"},
        ],
        target_groups=[
            {
                "name": TARGET_GROUP,
                "members": [
                    {
                        "type": "SqlServer",
                        "server_name": "{{ params.target_server_name }}",
                        "refresh_credential": "masteruser",
                    }
                ],
            }
        ],
        job_name=JOB_NAME,
        description="Hourly retention: purge EventLog rows older than 30 days, record the run",
        steps=[
            {
                "name": "purge_old_events",
                "target_group": TARGET_GROUP,
                "credential": "jobuser",
                "command": PURGE_EVENTS_SQL,
                "timeout_seconds": 600,
                "retry_attempts": 3,
            },
            {
                "name": "record_run",
                "target_group": TARGET_GROUP,
                "credential": "jobuser",
                "command": RECORD_RUN_SQL,
                "timeout_seconds": 300,
                "retry_attempts": 3,
            },
        ],
        # Airflow schedules this job; keep the agent from starting it on its own.
        schedule={"type": "Once", "enabled": False},
        doc_md="Reconcile credentials, the target group, the job and its steps; writes only differences.",
    )
    run = ElasticJobsStartJobOperator(
        task_id="run_retention_job",
        server_name="{{ params.agent_server_name }}",
        job_name=JOB_NAME,
        deferrable=True,
        poll_interval=15,
        timeout=timedelta(minutes=45),
        doc_md="Start one execution per task instance (a retry re-attaches), wait in the triggerer, "
        "fail with the failing targets listed; cancelled if it runs past 45 minutes.",
    )

    deploy >> run
