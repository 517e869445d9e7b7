"""The Elastic Jobs tutorial with Microsoft Entra authentication: the agent's managed identity, no logins.

The same resources and job as ``elastic_jobs_tutorial`` (two servers, TargetDb1/TargetDb2, Job1 with
step1 on the whole target server and step2 on the server minus TargetDb2), but the job agent runs its
steps as its user-assigned managed identity (UMI) instead of the two SQL logins ``masteruser`` and
``jobuser``: no job credential, no password. As Microsoft Learn describes it ("Elastic jobs in Azure
SQL Database", section "Elastic job authentication"; "Create, configure, and manage elastic jobs",
"Use Microsoft Entra authentication"):

* the agent is created with ``identity`` (the UMI's resource id);
* each target database gets ``CREATE USER [<UMI name>] FROM EXTERNAL PROVIDER`` with the grants the
  job needs, and the target server's ``master`` gets one too, because the agent lists the server's
  databases as the UMI (the server members have no refresh credential);
* target groups and steps name no credential.

Connections (see ``docs/tutorial.md``, "Managed identity variant"):

* ``azure_elastic_jobs_default``: as for the tutorial.
* ``elastic_jobs_server_admin``: login/password of the servers' SQL administrator (server creation).
* ``elastic_jobs_target_sql``: a ``DbApiHook`` connection to the target server for the identity's
  users; on Azure it must log in as the server's Microsoft Entra admin (``odbc`` with
  ``Authentication=ActiveDirectoryDefault`` or similar), since only Entra principals create Entra
  users; locally ``elastic_jobs_emulator_sql`` as the server admin.

Params: as for the tutorial, plus ``identity_resource_id``: the UMI
(``/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>``;
on Azure it must exist and be allowed to authenticate to the target server).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_elasticjobs.operators.agent import ElasticJobsAgentOperator
from airflow_elasticjobs.operators.cleanup import ElasticJobsCleanupOperator
from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.operators.server import ElasticJobsDatabaseOperator, ElasticJobsServerOperator
from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor

AGENT_SERVER = "{{ params.agent_server_name }}"
TARGET_SERVER = "{{ params.target_server_name }}"
JOB_DATABASE = "{{ params.job_database_name }}"
LOCATION = "{{ params.location }}"
IDENTITY = "{{ params.identity_resource_id }}"
ADMIN_CONN_ID = "elastic_jobs_server_admin"
TARGET_SQL_CONN_ID = "elastic_jobs_target_sql"
JOB_NAME = "Job1"
DEFAULT_IDENTITY = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/elastic-jobs/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/ej-umi"
)
# The tutorial's exact T-SQL for the two job steps.
STEP1_SQL = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('Step1Table')) "
    "CREATE TABLE [dbo].[Step1Table]([TestId] [int] NOT NULL);"
)
STEP2_SQL = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('Step2Table')) "
    "CREATE TABLE [dbo].[Step2Table]([TestId] [int] NOT NULL);"
)
ON_AGENT = {"server_name": AGENT_SERVER}

with DAG(
    dag_id="elastic_jobs_tutorial_managed_identity",
    description="The Elastic Jobs tutorial with the agent's managed identity instead of SQL logins",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["azure", "elastic-jobs", "tutorial", "managed-identity"],
    doc_md=__doc__,
    params={
        "agent_server_name": Param("agent-server", type="string", description="server of the job agent"),
        "target_server_name": Param("target-server", type="string", description="server of the targets"),
        "job_database_name": Param("JobDatabase", type="string", description="the agent's job database"),
        "location": Param("westeurope", type="string", description="Azure region of new servers"),
        "identity_resource_id": Param(
            DEFAULT_IDENTITY, type="string", description="the agent's user-assigned managed identity"
        ),
        "cleanup": Param(False, type="boolean", description="delete everything the tutorial created"),
    },
) as dag:
    # -- Create required resources ------------------------------------------------------------------
    agent_server = ElasticJobsServerOperator(
        task_id="create_agent_server",
        location=LOCATION,
        admin_conn_id=ADMIN_CONN_ID,
        **ON_AGENT,
        doc_md="`New-AzSqlServer` (agent server).",
    )
    job_database = ElasticJobsDatabaseOperator(
        task_id="create_job_database",
        database_name=JOB_DATABASE,
        sku_name="S1",
        **ON_AGENT,
        doc_md="`New-AzSqlDatabase -DatabaseName JobDatabase -RequestedServiceObjectiveName S1`.",
    )
    target_server = ElasticJobsServerOperator(
        task_id="create_target_server",
        location=LOCATION,
        admin_conn_id=ADMIN_CONN_ID,
        server_name=TARGET_SERVER,
        doc_md="`New-AzSqlServer` (target server).",
    )
    target_dbs = [
        ElasticJobsDatabaseOperator(
            task_id=f"create_target_db{n}",
            server_name=TARGET_SERVER,
            database_name=f"TargetDb{n}",
            doc_md=f"`New-AzSqlDatabase -DatabaseName TargetDb{n}`.",
        )
        for n in (1, 2)
    ]

    # -- Create the Elastic Job agent with its managed identity ---------------------------------------
    agent = ElasticJobsAgentOperator(
        task_id="create_job_agent",
        database_name=JOB_DATABASE,
        identity=IDENTITY,
        poll_interval=2,
        **ON_AGENT,
        doc_md="`New-AzSqlElasticJobAgent -IdentityType UserAssigned -UserAssignedIdentityId $umi.Id` "
        "(waits until Ready).",
    )

    # -- Let the identity in: Entra users on the target side (no logins, no credentials) --------------
    identity_users = ElasticJobsTargetSetupOperator(
        task_id="create_identity_users",
        sql_conn_id=TARGET_SQL_CONN_ID,
        identities=[
            # CREATE USER [<UMI name>] FROM EXTERNAL PROVIDER in master (the agent lists the server's
            # databases as the identity) and in each target database, with the job's grants there.
            {
                "name": IDENTITY,
                "databases": ["TargetDb1", "TargetDb2"],
                "grants": ["ALTER ON SCHEMA::dbo", "CREATE TABLE"],
                "master_user": True,
            },
        ],
        doc_md="As the target server's Entra admin: `CREATE USER [<UMI name>] FROM EXTERNAL PROVIDER` in "
        "master, TargetDb1 and TargetDb2; GRANT ALTER ON SCHEMA::dbo and CREATE TABLE in the targets.",
    )

    # -- Target groups and Job1, without any credential -----------------------------------------------
    job1 = ElasticJobsDeployOperator(
        task_id="deploy_job1",
        identity=IDENTITY,
        target_groups=[
            {"name": "ServerGroup", "members": [{"type": "SqlServer", "server_name": TARGET_SERVER}]},
            {
                "name": "ServerGroupExcludingDb2",
                "members": [
                    {"type": "SqlServer", "server_name": TARGET_SERVER},
                    {
                        "type": "SqlDatabase",
                        "server_name": TARGET_SERVER,
                        "database_name": "TargetDb2",
                        "membership_type": "Exclude",
                    },
                ],
            },
        ],
        job_name=JOB_NAME,
        schedule={"type": "Once", "enabled": False},
        steps=[
            {"name": "step1", "target_group": "ServerGroup", "command": STEP1_SQL},
            {"name": "step2", "target_group": "ServerGroupExcludingDb2", "command": STEP2_SQL},
        ],
        **ON_AGENT,
        doc_md="`New-AzSqlElasticJobTargetGroup` + `Add-AzSqlElasticJobTarget` without "
        "`-RefreshCredentialName`, `New-AzSqlElasticJob -RunOnce`, `Add-AzSqlElasticJobStep` without "
        "`-CredentialName`. Checks first that the agent runs as `identity_resource_id`.",
    )

    # -- Run the job and monitor it -------------------------------------------------------------------
    start_job1 = ElasticJobsStartJobOperator(
        task_id="start_job1",
        job_name=JOB_NAME,
        wait_for_completion=False,
        **ON_AGENT,
        doc_md="`Start-AzSqlElasticJob`.",
    )
    wait_for_job1 = ElasticJobsExecutionSensor(
        task_id="wait_for_job1",
        job_name=JOB_NAME,
        execution_id="{{ ti.xcom_pull(task_ids='start_job1')['execution_id'] }}",
        poke_interval=2,
        timeout=1800,
        **ON_AGENT,
        doc_md="`Get-AzSqlElasticJobExecution` until the execution ends.",
    )

    @task(doc_md="One log line per target execution; returns the per-step counts of lifecycles.")
    def show_target_executions(summary: dict) -> dict[str, dict[str, int]]:
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

    executions = show_target_executions(wait_for_job1.output)

    # -- Clean up resources (optional) ----------------------------------------------------------------
    @task.short_circuit(doc_md="Continue to the cleanup only when the `cleanup` param is true.")
    def cleanup_requested(params: dict | None = None) -> bool:
        """Whether this run should delete what the tutorial created."""
        return bool(params and params["cleanup"])

    cleanup = ElasticJobsCleanupOperator(
        task_id="clean_up_resources",
        jobs=[JOB_NAME],
        target_groups=["ServerGroup", "ServerGroupExcludingDb2"],
        delete_agent=True,
        servers=[TARGET_SERVER, AGENT_SERVER],
        **ON_AGENT,
        doc_md="Delete the job, target groups, agent, then both servers with their databases (the "
        "managed identity itself is not touched).",
    )

    agent_server >> job_database >> target_server >> target_dbs >> agent
    agent >> identity_users >> job1 >> start_job1 >> wait_for_job1 >> executions
    executions >> cleanup_requested() >> cleanup
