"""Local Azure SQL Elastic Jobs emulator.

A real HTTPS service that the unmodified ``azure-mgmt-sql`` client talks to exactly as it talks to
Azure Resource Manager. Start it with ``python -m airflow_elasticjobs.emulator``.

Layers (imports point downward only): ``api`` (HTTP) -> ``engine`` (behaviour) -> ``store``
(SQLite persistence); ``tsql`` is the T-SQL subset interpreter used by the engine and the SQL
data plane. Nothing here imports the provider side of the package. The full layering and the
HTTP layer's contract are in docs/architecture.md and are checked by ``lint-imports``.
"""
