"""Local Azure SQL Elastic Jobs emulator (distribution ``airflow-elasticjobs-emulator``).

A real HTTPS service that the unmodified ``azure-mgmt-sql`` client talks to exactly as it talks to
Azure Resource Manager. Start it with ``python -m elasticjobs_emulator``; the server needs no Airflow.

Layers (imports point downward only): ``api`` (HTTP) -> ``engine`` (behaviour) -> ``store``
(SQLite persistence); ``tsql`` is the T-SQL subset interpreter used by the engine and the SQL
data plane. The client side shares no code with the server: ``dbapi`` (a DB-API 2.0 driver for
the SQL data plane, over HTTP) and, with the ``airflow`` extra, ``hooks`` and ``provider_info``
(the ``elastic_jobs_emulator_sql`` Airflow connection type). Nothing here imports the
``airflow_elasticjobs`` provider. The layering is in docs/architecture.md and is checked by
``lint-imports``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata for Airflow's ``apache_airflow_provider`` entry point (the SQL connection type)."""
    from elasticjobs_emulator.provider_info import PROVIDER_INFO

    return PROVIDER_INFO
