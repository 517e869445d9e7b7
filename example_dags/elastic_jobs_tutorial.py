"""The Microsoft tutorial "Create an Elastic Job agent using PowerShell" as an Airflow DAG.

Every step of the tutorial is one task, in the tutorial's order; each task's ``doc_md`` names the
cmdlet it replaces (see ``docs/tutorial.md``). Trigger it manually; it runs locally against the
Elastic Jobs emulator (``bash scripts/demo.sh``) and against Azure by changing only the connections:

* ``azure_elastic_jobs_default`` (type ``azure_elastic_jobs``): subscription, resource group, the agent
  name (``agent_name``) and how to authenticate; the emulator also needs ``endpoint``/``token``/``verify``.
* ``elastic_jobs_server_admin``: login/password of the servers' SQL administrator.
* ``elastic_jobs_masteruser`` / ``elastic_jobs_jobuser``: login/password of the two SQL logins the
  tutorial creates; the job credentials get the same values (passwords never appear in this file).
* ``elastic_jobs_target_sql``: a ``DbApiHook`` connection to the target server, logged in as the
  server admin, for the target-side logins and users (``odbc`` on Azure, ``elastic_jobs_emulator_sql``
  locally).

Params: the two server names (globally unique on Azure), the job database name, the Azure region and
``cleanup`` (delete everything the tutorial created at the end, like ``Remove-AzResourceGroup``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_elasticjobs.operators.agent import ElasticJobsAgentOperator
from airflow_elasticjobs.operators.cleanup import ElasticJobsCleanupOperator
from airflow_elasticjobs.operators.credential import ElasticJobsCredentialOperator
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.operators.job import ElasticJobsJobOperator
from airflow_elasticjobs.operators.schedule import ElasticJobsScheduleOperator
from airflow_elasticjobs.operators.server import ElasticJobsDatabaseOperator, ElasticJobsServerOperator
from airflow_elasticjobs.operators.target_group import ElasticJobsTargetGroupOperator
from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor

AGENT_SERVER = "{{ params.agent_server_name }}"
TARGET_SERVER = "{{ params.target_server_name }}"
JOB_DATABASE = "{{ params.job_database_name }}"
LOCATION = "{{ params.location }}"
ADMIN_CONN_ID = "elastic_jobs_server_admin"
TARGET_SQL_CONN_ID = "elastic_jobs_target_sql"
JOB_NAME = "Job1"
# The tutorial's exact T-SQL for the two job steps.
STEP1_SQL = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('Step1Table')) "
    "CREATE TABLE [dbo].[Step1Table]([TestId] [int] NOT NULL);"
)
STEP2_SQL = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('Step2Table')) "
    "CREATE TABLE [dbo].[Step2Table]([TestId] [int] NOT NULL);"
)
# Everything below the agent lives on the agent server, whatever the connection's default server is.
ON_AGENT = {"server_name": AGENT_SERVER}

with DAG(
    dag_id="elastic_jobs_tutorial",
    description="Microsoft's Elastic Jobs PowerShell tutorial, one task per step",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["azure", "elastic-jobs", "tutorial"],
    doc_md=__doc__,
    params={
        "agent_server_name": Param("agent-server", type="string", description="server of the job agent"),
        "target_server_name": Param("target-server", type="string", description="server of the targets"),
        "job_database_name": Param("JobDatabase", type="string", description="the agent's job database"),
        "location": Param("westeurope", type="string", description="Azure region of new servers"),
        "cleanup": Param(False, type="boolean", description="delete everything the tutorial created"),
    },
) as dag:
    # -- Create required resources ------------------------------------------------------------------
    agent_server = ElasticJobsServerOperator(
        task_id="create_agent_server",
        location=LOCATION,
        admin_conn_id=ADMIN_CONN_ID,
        **ON_AGENT,
        doc_md="`New-AzSqlServer` (agent server). Firewall rules (`New-AzSqlServerFirewallRule`) are "
        "not managed here: allow Azure services on Azure; the emulator has none.",
    )
    job_database = ElasticJobsDatabaseOperator(
        task_id="create_job_database",
        database_name=JOB_DATABASE,
        # The tutorial asks for S0; Azure now asks for "an empty S1 or higher database" as the job
        # database (learn.microsoft.com/azure/azure-sql/database/elastic-jobs-overview).
        sku_name="S1",
        **ON_AGENT,
        doc_md="`New-AzSqlDatabase -DatabaseName JobDatabase -RequestedServiceObjectiveName S1`.",
    )
    target_server = ElasticJobsServerOperator(
        task_id="create_target_server",
        location=LOCATION,
        admin_conn_id=ADMIN_CONN_ID,
        server_name=TARGET_SERVER,
        doc_md="`New-AzSqlServer` (target server, same admin credential as the agent server).",
    )
    target_db1 = ElasticJobsDatabaseOperator(
        task_id="create_target_db1",
        server_name=TARGET_SERVER,
        database_name="TargetDb1",
        doc_md="`New-AzSqlDatabase -DatabaseName TargetDb1`.",
    )
    target_db2 = ElasticJobsDatabaseOperator(
        task_id="create_target_db2",
        server_name=TARGET_SERVER,
        database_name="TargetDb2",
        doc_md="`New-AzSqlDatabase -DatabaseName TargetDb2`.",
    )

    # -- Create the Elastic Job agent ---------------------------------------------------------------
    agent = ElasticJobsAgentOperator(
        task_id="create_job_agent",
        database_name=JOB_DATABASE,
        poll_interval=2,
        **ON_AGENT,
        doc_md="`$JobDatabase | New-AzSqlElasticJobAgent -Name $AgentName` (waits until Ready).",
    )

    # -- Create job credentials (target side first, then the credentials in the job database) -------
    target_logins = ElasticJobsTargetSetupOperator(
        task_id="create_target_logins_and_users",
        sql_conn_id=TARGET_SQL_CONN_ID,
        logins=[
            # CREATE LOGIN masteruser + CREATE USER masteruser FROM LOGIN masteruser (in master)
            {"login_conn_id": "elastic_jobs_masteruser", "master_user": True},
            # CREATE LOGIN jobuser; in each target database CREATE USER jobuser FROM LOGIN jobuser,
            # GRANT ALTER ON SCHEMA::dbo TO jobuser, GRANT CREATE TABLE TO jobuser
            {
                "login_conn_id": "elastic_jobs_jobuser",
                "databases": ["TargetDb1", "TargetDb2"],
                "grants": ["ALTER ON SCHEMA::dbo", "CREATE TABLE"],
            },
        ],
        doc_md="`Invoke-SqlCmd` on the target server as its admin: in master CREATE LOGIN masteruser, "
        "CREATE USER masteruser FROM LOGIN masteruser, CREATE LOGIN jobuser; in TargetDb1 and TargetDb2 "
        "CREATE USER jobuser FROM LOGIN jobuser, GRANT ALTER ON SCHEMA::dbo, GRANT CREATE TABLE. "
        "Idempotent and quoted; passwords come from the connections. The connection "
        "`elastic_jobs_target_sql` must point at the target server (`target_server_name`).",
    )
    master_credential = ElasticJobsCredentialOperator(
        task_id="create_credential_masteruser",
        credential_name="masteruser",
        credential_conn_id="elastic_jobs_masteruser",
        **ON_AGENT,
        doc_md="`$JobAgent | New-AzSqlElasticJobCredential -Name masteruser -Credential $MasterCred`.",
    )
    job_credential = ElasticJobsCredentialOperator(
        task_id="create_credential_jobuser",
        credential_name="jobuser",
        credential_conn_id="elastic_jobs_jobuser",
        **ON_AGENT,
        doc_md="`$JobAgent | New-AzSqlElasticJobCredential -Name jobuser -Credential $JobCred`.",
    )

    # -- Define the target databases ----------------------------------------------------------------
    server_group = ElasticJobsTargetGroupOperator(
        task_id="create_target_group_server_group",
        target_group_name="ServerGroup",
        members=[{"type": "SqlServer", "server_name": TARGET_SERVER, "refresh_credential": "masteruser"}],
        **ON_AGENT,
        doc_md="`New-AzSqlElasticJobTargetGroup -Name ServerGroup` + "
        "`Add-AzSqlElasticJobTarget -ServerName $TargetServerName -RefreshCredentialName masteruser`.",
    )
    server_group_excluding_db2 = ElasticJobsTargetGroupOperator(
        task_id="create_target_group_server_group_excluding_db2",
        target_group_name="ServerGroupExcludingDb2",
        members=[
            {"type": "SqlServer", "server_name": TARGET_SERVER, "refresh_credential": "masteruser"},
            {
                "type": "SqlDatabase",
                "server_name": TARGET_SERVER,
                "database_name": "TargetDb2",
                "membership_type": "Exclude",
            },
        ],
        **ON_AGENT,
        doc_md="`New-AzSqlElasticJobTargetGroup -Name ServerGroupExcludingDb2` + "
        "`Add-AzSqlElasticJobTarget -ServerName … -RefreshCredentialName masteruser` + "
        "`Add-AzSqlElasticJobTarget -ServerName … -Database TargetDb2 -Exclude`.",
    )

    # -- Create a job and its steps -------------------------------------------------------------------
    job1 = ElasticJobsJobOperator(
        task_id="create_job1_with_steps",
        job_name=JOB_NAME,
        # -RunOnce without -Enable (New-AzSqlElasticJob help, RunOnce parameter set).
        schedule={"type": "Once", "enabled": False},
        steps=[
            {"name": "step1", "target_group": "ServerGroup", "credential": "jobuser", "command": STEP1_SQL},
            {
                "name": "step2",
                "target_group": "ServerGroupExcludingDb2",
                "credential": "jobuser",
                "command": STEP2_SQL,
            },
        ],
        **ON_AGENT,
        doc_md="`New-AzSqlElasticJob -Name Job1 -RunOnce` + `Add-AzSqlElasticJobStep -Name step1 "
        "-TargetGroupName ServerGroup -CredentialName jobuser -CommandText $SqlText1` + the same for "
        "step2 on ServerGroupExcludingDb2.",
    )

    # -- Run the job and monitor it -------------------------------------------------------------------
    start_job1 = ElasticJobsStartJobOperator(
        task_id="start_job1",
        job_name=JOB_NAME,
        wait_for_completion=False,
        **ON_AGENT,
        doc_md="`$JobExecution = $Job | Start-AzSqlElasticJob` (exactly once per task instance).",
    )
    wait_for_job1 = ElasticJobsExecutionSensor(
        task_id="wait_for_job1",
        job_name=JOB_NAME,
        execution_id="{{ ti.xcom_pull(task_ids='start_job1')['execution_id'] }}",
        poke_interval=2,
        timeout=1800,
        **ON_AGENT,
        doc_md="`Get-AzSqlElasticJobExecution` until the execution ends; fails on Failed, TimedOut, Canceled "
        "or Skipped. Its XCom is the execution summary with every step and target.",
    )

    @task(
        doc_md="`Get-AzSqlElasticJobStepExecution` and `Get-AzSqlElasticJobTargetExecution`: one log line "
        "per step and per target of the execution; returns the per-step counts."
    )
    def show_step_and_target_executions(summary: dict) -> dict[str, dict[str, int]]:
        """Log each target execution of Job1's execution and count lifecycles per step."""
        per_step: dict[str, dict[str, int]] = {}
        for target in summary["targets"]:
            print(
                f"{target['step_name'] or 'job'}: {target['server_name']}/{target['database_name'] or '-'} "
                f"{target['lifecycle']} {target.get('last_message') or ''}"
            )
            if target["database_name"]:
                counts = per_step.setdefault(target["step_name"], {})
                counts[target["lifecycle"]] = counts.get(target["lifecycle"], 0) + 1
        return per_step

    executions = show_step_and_target_executions(wait_for_job1.output)

    # -- Schedule the job to run later ----------------------------------------------------------------
    schedule_hourly = ElasticJobsScheduleOperator(
        task_id="schedule_job1_hourly",
        job_name=JOB_NAME,
        interval_type="Hour",
        interval_count=1,
        start_time="{{ ti.start_date.isoformat() }}",
        enabled=True,
        **ON_AGENT,
        doc_md="`$Job | Set-AzSqlElasticJob -IntervalType Hour -IntervalCount 1 -StartTime (Get-Date) "
        "-Enable`: Recurring every PT1H from now, enabled.",
    )

    # -- Clean up resources (optional) ----------------------------------------------------------------
    @task.short_circuit(doc_md="Continue to the cleanup only when the `cleanup` param is true.")
    def cleanup_requested(params: dict | None = None) -> bool:
        """Whether this run should delete what the tutorial created."""
        return bool(params and params["cleanup"])

    cleanup = ElasticJobsCleanupOperator(
        task_id="clean_up_resources",
        jobs=[JOB_NAME],
        target_groups=["ServerGroup", "ServerGroupExcludingDb2"],
        credentials=["masteruser", "jobuser"],
        delete_agent=True,
        servers=[TARGET_SERVER, AGENT_SERVER],
        **ON_AGENT,
        doc_md="`Remove-AzResourceGroup`, narrowed to what the tutorial created: job, target groups, "
        "credentials, agent, then both servers with their databases.",
    )

    agent_server >> job_database >> target_server >> [target_db1, target_db2] >> agent
    agent >> target_logins >> master_credential >> job_credential
    job_credential >> server_group >> server_group_excluding_db2 >> job1
    job1 >> start_job1 >> wait_for_job1 >> executions >> schedule_hourly
    schedule_hourly >> cleanup_requested() >> cleanup
