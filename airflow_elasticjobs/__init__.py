"""Apache Airflow provider for Azure SQL Elastic Jobs."""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata for Airflow's ``apache_airflow_provider`` entry point."""
    from airflow_elasticjobs.provider_info import PROVIDER_INFO

    return PROVIDER_INFO
