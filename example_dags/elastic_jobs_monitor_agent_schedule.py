"""Monitor a job that the Elastic Job agent schedules by itself (``Set-AzSqlElasticJob … -Enable``).

The agent starts Job1 every hour (the tutorial's last step) whether or not Airflow runs. This DAG
makes those runs visible and alerting in Airflow: each hourly run waits — in the triggerer, without a
worker slot — for the latest execution of the job created at or after the run's data interval start,
and fails when that execution fails, times out, is cancelled, or never appears before the timeout
(a schedule that silently stopped firing is a failure too). The sensor never starts or cancels
anything: the agent owns the job. The last task logs one line per step and target.

Prerequisite: the job exists with an enabled schedule (``elastic_jobs_tutorial``).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor

with DAG(
    dag_id="elastic_jobs_monitor_agent_schedule",
    description="Alert in Airflow when the agent-scheduled Job1 fails or does not run",
    schedule="@hourly",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,
    tags=["azure", "elastic-jobs", "monitoring"],
    doc_md=__doc__,
    params={
        "agent_server_name": Param("agent-server", type="string", description="server of the job agent"),
        "job_name": Param("Job1", type="string", description="the agent-scheduled job"),
    },
) as dag:
    wait_for_scheduled_run = ElasticJobsExecutionSensor(
        task_id="wait_for_scheduled_run",
        server_name="{{ params.agent_server_name }}",
        job_name="{{ params.job_name }}",
        created_after="{{ data_interval_start }}",
        deferrable=True,
        poke_interval=60,
        # One schedule interval for the run to appear, plus time for it to finish.
        timeout=timedelta(minutes=75).total_seconds(),
        doc_md="`Get-AzSqlElasticJobExecution`: the latest execution created in this interval, until it "
        "ends; fails on Failed, TimedOut, Canceled or Skipped, or when none appears in time.",
    )

    @task(doc_md="`Get-AzSqlElasticJobTargetExecution`: one log line per step and target.")
    def log_target_results(summary: dict) -> dict[str, int]:
        """Log the outcome of every target of the watched execution; return counts per lifecycle."""
        print(f"execution {summary['execution_id']}: {summary['lifecycle']}")
        for target in summary["targets"]:
            if target["database_name"]:
                print(
                    f"  {target['step_name']}: {target['server_name']}/{target['database_name']} "
                    f"{target['lifecycle']} {target.get('last_message') or ''}"
                )
        return summary["counts"]

    log_target_results(wait_for_scheduled_run.output)
