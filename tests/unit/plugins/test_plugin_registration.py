"""The plugin is found through its entry point and declares the task-instance tab and its app."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from airflow_elasticjobs.compat import has_plugin_external_views
from airflow_elasticjobs.plugins.elastic_jobs import ElasticJobsPlugin

#: Plugin tabs and the app behind them need Airflow 3.1 (docs/compatibility.md).
needs_plugin_tabs = pytest.mark.skipif(
    not has_plugin_external_views(), reason="Airflow 3.0 plugins cannot add a task-instance tab"
)


def test_entry_point_names_the_plugin_class() -> None:
    (entry_point,) = [ep for ep in entry_points(group="airflow.plugins") if ep.name == "elastic_jobs"]
    assert entry_point.load() is ElasticJobsPlugin


def test_tab_is_on_the_task_instance_page_with_its_placeholders() -> None:
    (view,) = ElasticJobsPlugin.external_views
    assert view["destination"] == "task_instance"
    assert view["url_route"] == "elastic-jobs"
    for placeholder in ("{DAG_ID}", "{RUN_ID}", "{TASK_ID}", "{MAP_INDEX}"):
        assert placeholder in view["href"]
    assert view["href"].startswith("/elastic-jobs/view?")


@needs_plugin_tabs
def test_app_serves_the_authorised_endpoint_and_the_page() -> None:
    (app_entry,) = ElasticJobsPlugin().fastapi_apps
    assert app_entry["url_prefix"] == "/elastic-jobs"
    routes = {route.path: route for route in app_entry["app"].routes}
    assert {"/execution", "/fleet", "/view", "/static"} <= set(routes)
    # Authorisation: the endpoints depend on Airflow's own DAG-access checks (which need a user).
    for path in ("/execution", "/fleet"):
        dependency_names = [d.call.__qualname__ for d in routes[path].dependant.dependencies]
        assert sum(name.startswith("requires_access_dag") for name in dependency_names) == 2, path


@pytest.mark.skipif(has_plugin_external_views(), reason="Airflow 3.1+ shows the tab")
def test_without_plugin_tabs_the_plugin_serves_nothing() -> None:
    """On Airflow 3.0 the plugin registers no app: an API without its tab would be unreachable."""
    assert ElasticJobsPlugin().fastapi_apps == []
