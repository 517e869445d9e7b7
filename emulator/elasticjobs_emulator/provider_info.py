"""Registration metadata of the emulator distribution as an Airflow provider.

Returned by :func:`elasticjobs_emulator.get_provider_info` (entry point ``apache_airflow_provider``
of ``airflow-elasticjobs-emulator``): it registers the ``elastic_jobs_emulator_sql`` connection type,
which only local development and tests use. Importing this module is cheap and needs no Airflow.
"""

from __future__ import annotations

from typing import Any

from elasticjobs_emulator import __version__
from elasticjobs_emulator.hooks.emulator_sql_form import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR

INTEGRATION = "Azure SQL Elastic Jobs Emulator"
_HOOK_MODULE = "elasticjobs_emulator.hooks.emulator_sql"

PROVIDER_INFO: dict[str, Any] = {
    "package-name": "airflow-elasticjobs-emulator",
    "name": INTEGRATION,
    "description": (
        "The SQL connection type of the local Azure SQL Elastic Jobs emulator: run T-SQL on its "
        "emulated databases (for development and tests; Azure uses an odbc connection)."
    ),
    "versions": [__version__],
    "integrations": [
        {
            "integration-name": INTEGRATION,
            "external-doc-url": "https://learn.microsoft.com/azure/azure-sql/database/elastic-jobs-overview",
            "tags": ["azure"],
        }
    ],
    "hooks": [{"integration-name": INTEGRATION, "python-modules": [_HOOK_MODULE]}],
    "connection-types": [
        {
            "connection-type": CONN_TYPE,
            "hook-class-name": f"{_HOOK_MODULE}.ElasticJobsEmulatorSqlHook",
            "hook-name": "Elastic Jobs Emulator SQL",
            "conn-fields": CONN_FIELDS,
            "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
        }
    ],
}
