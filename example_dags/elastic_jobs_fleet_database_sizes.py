"""Database sizes of every database of a server, as a CSV report: a fleet query.

``ElasticJobsFleetQueryOperator`` runs one SELECT on every database of a target group through an
Elastic Jobs step with an output table, waits for the execution and reads back the rows of that
execution only, one per database with ``target_server_name`` and ``target_database_name``; here
they are written to a CSV file (``report_dir`` may be any ``ObjectStoragePath`` URL, e.g.
``s3://bucket/reports`` with the Amazon provider installed). The guide is ``docs/fleet-queries.md``.

The size is ``sys.database_files.size`` (8-KB pages) of the data files
(https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-files-transact-sql).

Prerequisites: the tutorial's agent, credentials and logins (``elastic_jobs_tutorial``). The rows
land in a table of ``FleetReports`` on the target server, written by ``jobuser``; that database is
excluded from the targets. ``elastic_jobs_target_sql`` (the target server's admin: ``odbc`` on
Azure, ``elastic_jobs_emulator_sql`` locally) grants ``jobuser`` what the agent needs there and
reads the rows back.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_elasticjobs.operators.fleet_query import ElasticJobsFleetQueryOperator
from airflow_elasticjobs.operators.server import ElasticJobsDatabaseOperator
from airflow_elasticjobs.operators.target_group import ElasticJobsTargetGroupOperator
from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator

AGENT_SERVER = "{{ params.agent_server_name }}"
TARGET_SERVER = "{{ params.target_server_name }}"
TARGET_SQL_CONN_ID = "elastic_jobs_target_sql"
REPORTS_DATABASE = "FleetReports"
TARGET_GROUP = "AllDatabasesButReports"
# What the agent needs on the output table (docs/emulator-engine.md, "Step output").
OUTPUT_GRANTS = [
    "CREATE TABLE",
    "ALTER ON SCHEMA::dbo",
    "SELECT ON SCHEMA::dbo",
    "INSERT ON SCHEMA::dbo",
    "DELETE ON SCHEMA::dbo",
]
DATABASE_SIZE_SQL = (
    "SELECT SUM(CAST([size] AS BIGINT)) * 8 AS [data_size_kb], COUNT(*) AS [data_files] "
    "FROM sys.database_files WHERE [type_desc] = 'ROWS'"
)

with DAG(
    dag_id="elastic_jobs_fleet_database_sizes",
    description="Collect the size of every database of a server into a CSV report",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["azure", "elastic-jobs", "fleet-query"],
    doc_md=__doc__,
    params={
        "agent_server_name": Param("agent-server", type="string", description="server of the job agent"),
        "target_server_name": Param("target-server", type="string", description="every database of it"),
        "report_dir": Param(
            "file:///tmp/elastic-jobs-reports",
            type="string",
            description="ObjectStoragePath URL of the reports",
        ),
    },
) as dag:
    reports_database = ElasticJobsDatabaseOperator(
        task_id="create_reports_database",
        server_name=TARGET_SERVER,
        database_name=REPORTS_DATABASE,
        doc_md="`New-AzSqlDatabase -DatabaseName FleetReports`: where the agent writes the rows.",
    )
    report_writer = ElasticJobsTargetSetupOperator(
        task_id="grant_report_writer",
        sql_conn_id=TARGET_SQL_CONN_ID,
        logins=[
            {
                "login_conn_id": "elastic_jobs_jobuser",
                "databases": [REPORTS_DATABASE],
                "grants": OUTPUT_GRANTS,
            }
        ],
        doc_md="`CREATE USER jobuser FROM LOGIN jobuser` in FleetReports, then the output table grants.",
    )
    all_databases = ElasticJobsTargetGroupOperator(
        task_id="define_all_databases",
        server_name=AGENT_SERVER,
        target_group_name=TARGET_GROUP,
        members=[
            {"type": "SqlServer", "server_name": TARGET_SERVER, "refresh_credential": "masteruser"},
            {
                "type": "SqlDatabase",
                "server_name": TARGET_SERVER,
                "database_name": REPORTS_DATABASE,
                "membership_type": "Exclude",
            },
        ],
        doc_md="Every database of the target server but the reports database.",
    )
    sizes = ElasticJobsFleetQueryOperator(
        task_id="collect_database_sizes",
        server_name=AGENT_SERVER,
        job_name="FleetDatabaseSizes",
        query=DATABASE_SIZE_SQL,
        target_group=TARGET_GROUP,
        credential="jobuser",
        output_table={
            "server_name": TARGET_SERVER,
            "database_name": REPORTS_DATABASE,
            "table_name": "DatabaseSizes",
        },
        output_conn_id=TARGET_SQL_CONN_ID,
        output_path="{{ params.report_dir }}/database_sizes_{{ ts_nodash }}.csv",
        step_options={"timeout_seconds": 300, "retry_attempts": 2},
        deferrable=True,
        poll_interval=10,
        doc_md="Reconcile the one-step job, start it once per task instance, wait in the triggerer, "
        "then write this execution's rows (one per database) to the CSV report.",
    )

    [reports_database, report_writer, all_databases] >> sizes
    reports_database >> report_writer
