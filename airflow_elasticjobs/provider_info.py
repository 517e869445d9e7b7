"""The single source of truth for the provider's registration metadata."""

from __future__ import annotations

PROVIDER_INFO: dict = {
    "package-name": "airflow-elasticjobs",
    "name": "Azure SQL Elastic Jobs",
    "description": "Drive Azure SQL Elastic Jobs (agents, credentials, target groups, jobs, executions) from Airflow.",
    "versions": ["0.1.0"],
}
