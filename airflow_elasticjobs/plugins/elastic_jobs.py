"""``ElasticJobsPlugin``: the Airflow 3 UI plugin of the provider, registered by entry point.

Airflow discovers it through the ``airflow.plugins`` entry point group (``pyproject.toml``), so
installing the provider is enough: no file is copied to ``$AIRFLOW_HOME/plugins``. It adds:

- a FastAPI app mounted by the api-server at :data:`URL_PREFIX` (see :mod:`.api`);
- an "Elastic Jobs" tab on every task instance page (an external view with destination
  ``task_instance``) showing the execution the task started or watched. Airflow cannot restrict a
  tab to some operators, so on other tasks the tab says the task has no Elastic Jobs execution.

Both need Airflow 3.1 or later (docs/compatibility.md); on 3.0 the plugin registers nothing.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/elastic-jobs"
TAB_NAME = "Elastic Jobs"
TAB_ROUTE = "elastic-jobs"
#: Page of the tab; the Airflow UI fills in the placeholders for the task instance shown.
TAB_HREF = (
    f"{URL_PREFIX}/view?dag_id={{DAG_ID}}&run_id={{RUN_ID}}&task_id={{TASK_ID}}&map_index={{MAP_INDEX}}"
)


class ElasticJobsPlugin(AirflowPlugin):
    """Airflow UI monitoring of Elastic Jobs executions (task-instance tab + its API)."""

    name = "elastic_jobs"
    external_views = [
        {
            "name": TAB_NAME,
            "href": TAB_HREF,
            "destination": "task_instance",
            "url_route": TAB_ROUTE,
        }
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """The app, built on first use: only the api-server asks for it.

        Every Airflow process loads plugins; building the app imports the api-server's security
        modules (about half a second), which schedulers and workers never need. None on Airflow 3.0:
        its UI has no plugin tabs (``external_views``) to show the page in, and its api-server's DAG
        bag is not the versioned one the app reads task definitions from (docs/compatibility.md).
        """
        from airflow_elasticjobs.compat import has_plugin_external_views

        if not has_plugin_external_views():
            return []
        from airflow_elasticjobs.plugins.api import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Azure SQL Elastic Jobs"}]
