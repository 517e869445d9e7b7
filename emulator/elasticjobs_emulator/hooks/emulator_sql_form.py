"""The ``elastic_jobs_emulator_sql`` connection form, declared once (cheap to import).

Read by :mod:`elasticjobs_emulator.provider_info` (Airflow's declarative ``conn-fields`` and
``ui-field-behaviour``); :class:`~elasticjobs_emulator.hooks.emulator_sql.ElasticJobsEmulatorSqlHook`
takes ``CONN_TYPE`` from here.
"""

from __future__ import annotations

from typing import Any

CONN_TYPE = "elastic_jobs_emulator_sql"
_OPTIONAL_TEXT = {"type": ["string", "null"]}

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "server_name": {
        "label": "Emulated Server",
        "description": "Name of the emulated logical server (Microsoft.Sql/servers) to use (required).",
        "schema": {"type": "string"},
    },
    "verify": {
        "label": "TLS Verify",
        "description": "true, false, or the path of the emulator's certificate (printed at start).",
        "schema": {**_OPTIONAL_TEXT, "default": "true"},
    },
    "scheme": {
        "label": "Scheme",
        "description": "https (default), or http for an emulator started with --insecure-http.",
        "schema": {"type": "string", "enum": ["https", "http"], "default": "https"},
    },
    "timeout": {
        "label": "Batch Timeout (s)",
        "description": "The emulator cancels a batch running longer than this (default 30).",
        "schema": {"type": ["number", "null"], "default": 30},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": [],
    "relabeling": {"login": "SQL Login", "password": "SQL Password", "schema": "Database (default)"},
    "placeholders": {
        "host": "127.0.0.1",
        "port": "8443",
        "login": "the server admin login or a login made with CREATE LOGIN",
        "schema": "master",
        "server_name": "target-server",
        "verify": "true | false | /path/to/emulator/state/tls/cert.pem",
    },
}
