"""The single source of truth for the provider's registration metadata.

Returned by :func:`airflow_elasticjobs.get_provider_info` (entry point ``apache_airflow_provider``);
validated against Airflow's ``provider_info.schema.json`` in the unit tests. Importing this module is
cheap: it imports no hook, operator or Azure SDK code.
"""

from __future__ import annotations

from typing import Any

from airflow_elasticjobs import __version__
from airflow_elasticjobs.hooks.connection import CONN_TYPE
from airflow_elasticjobs.hooks.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR

INTEGRATION = "Azure SQL Elastic Jobs"
_PKG = "airflow_elasticjobs"

OPERATOR_MODULES = [
    f"{_PKG}.operators.{name}"
    for name in (
        "server",
        "agent",
        "credential",
        "target_setup",
        "target_group",
        "job",
        "deploy",
        "schedule",
        "execution",
        "fleet_query",
        "cleanup",
    )
]

PROVIDER_INFO: dict[str, Any] = {
    "package-name": "airflow-elasticjobs",
    "name": INTEGRATION,
    "description": (
        "Drive Azure SQL Elastic Jobs (agents, credentials, target groups, jobs, schedules and "
        "executions) from Airflow; the local emulator is the separate airflow-elasticjobs-emulator."
    ),
    "versions": [__version__],
    "integrations": [
        {
            "integration-name": INTEGRATION,
            "external-doc-url": "https://learn.microsoft.com/azure/azure-sql/database/elastic-jobs-overview",
            "tags": ["azure"],
        }
    ],
    "hooks": [
        {
            "integration-name": INTEGRATION,
            "python-modules": [
                f"{_PKG}.hooks.elastic_jobs",
                f"{_PKG}.hooks.elastic_jobs_async",
            ],
        }
    ],
    "operators": [{"integration-name": INTEGRATION, "python-modules": OPERATOR_MODULES}],
    "sensors": [{"integration-name": INTEGRATION, "python-modules": [f"{_PKG}.sensors.execution"]}],
    "triggers": [{"integration-name": INTEGRATION, "python-modules": [f"{_PKG}.triggers.execution"]}],
    "connection-types": [
        {
            "connection-type": CONN_TYPE,
            "hook-class-name": f"{_PKG}.hooks.elastic_jobs.ElasticJobsHook",
            "hook-name": "Azure SQL Elastic Jobs",
            "conn-fields": CONN_FIELDS,
            "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
        },
    ],
    "extra-links": [
        f"{_PKG}.links.elastic_jobs.ElasticJobsAgentLink",
        f"{_PKG}.links.elastic_jobs.ElasticJobsExecutionLink",
    ],
}
