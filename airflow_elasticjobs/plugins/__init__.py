"""Airflow UI monitoring of Elastic Jobs executions: the ``ElasticJobsPlugin`` (``elastic_jobs``).

Kept empty on purpose: every Airflow process imports the plugin class, and only the api-server
needs :mod:`.api`. See ``docs/ui.md``.
"""
