"""The ``azure_elastic_jobs`` connection form, declared once.

Airflow ≥ 3.2 reads the declarative ``conn-fields`` / ``ui-field-behaviour`` from the provider info
(no wtforms needed); older UIs call the hook's ``get_connection_form_widgets()`` /
``get_ui_field_behaviour()``, which are derived from the same declarations here.
"""

from __future__ import annotations

from typing import Any

from airflow_elasticjobs.hooks.connection import CLOUDS, DEFAULT_CLOUD

_OPTIONAL_TEXT = {"type": ["string", "null"]}

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "subscription_id": {
        "label": "Subscription ID",
        "description": "Azure subscription holding the servers and the job agent (required).",
        "schema": {"type": "string"},
    },
    "resource_group_name": {
        "label": "Resource Group (default)",
        "description": "Default resource group; operators may override it.",
        "schema": _OPTIONAL_TEXT,
    },
    "server_name": {
        "label": "Server (default)",
        "description": "Default logical server of the job agent; operators may override it.",
        "schema": _OPTIONAL_TEXT,
    },
    "agent_name": {
        "label": "Job Agent (default)",
        "description": "Default Elastic Job agent; operators may override it.",
        "schema": _OPTIONAL_TEXT,
    },
    "cloud": {
        "label": "Azure Cloud",
        "description": "Selects the ARM endpoint, token scope and Entra ID authority.",
        "schema": {"type": "string", "enum": sorted(CLOUDS), "default": DEFAULT_CLOUD},
    },
    "endpoint": {
        "label": "ARM Endpoint",
        "description": "Overrides the cloud's endpoint, e.g. https://127.0.0.1:8443 for the local emulator.",
        "schema": {**_OPTIONAL_TEXT, "format": "url"},
    },
    "browser_url": {
        "label": "Browser URL of the Endpoint",
        "description": "Emulator only: where a browser reaches it when that differs from the endpoint, "
        "e.g. https://localhost:8443 when Airflow reaches it as https://emulator:8443 (docker compose).",
        "schema": {**_OPTIONAL_TEXT, "format": "url"},
    },
    "tenant_id": {
        "label": "Tenant ID",
        "description": "Entra ID tenant of the service principal (client secret or certificate).",
        "schema": _OPTIONAL_TEXT,
    },
    "authority": {
        "label": "Entra ID Authority",
        "description": "Overrides the cloud's Entra ID authority host for service principals, e.g. "
        "https://127.0.0.1:8443 for the local emulator's token endpoint.",
        "schema": _OPTIONAL_TEXT,
    },
    "certificate_path": {
        "label": "Client Certificate Path",
        "description": "PEM/PKCS12 certificate of the service principal (instead of a secret).",
        "schema": _OPTIONAL_TEXT,
    },
    "certificate_password": {
        "label": "Client Certificate Password",
        "schema": {**_OPTIONAL_TEXT, "format": "password"},
    },
    "managed_identity_client_id": {
        "label": "Managed Identity Client ID",
        "description": "Client id of a user-assigned managed identity (DefaultAzureCredential).",
        "schema": _OPTIONAL_TEXT,
    },
    "workload_identity_tenant_id": {
        "label": "Workload Identity Tenant ID",
        "description": "Tenant of the federated workload identity (DefaultAzureCredential).",
        "schema": _OPTIONAL_TEXT,
    },
    "token": {
        "label": "Static Bearer Token",
        "description": "Local emulator only: the token it was started with (--token).",
        "schema": {**_OPTIONAL_TEXT, "format": "password"},
    },
    "verify": {
        "label": "TLS Verify",
        "description": "true, false, or the path of a CA bundle (the emulator prints its certificate path).",
        "schema": {**_OPTIONAL_TEXT, "default": "true"},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "host"],
    "relabeling": {"login": "Client ID", "password": "Client Secret"},
    "placeholders": {
        "login": "service principal application (client) id; empty for managed identity",
        "password": "service principal secret",
        "subscription_id": "00000000-0000-0000-0000-000000000000",
        "resource_group_name": "my-resource-group",
        "server_name": "my-agent-server",
        "agent_name": "ElasticJobAgent",
        "endpoint": "https://management.azure.com",
        "authority": "login.microsoftonline.com",
        "verify": "true | false | /path/to/emulator/cert.pem",
        "extra": '{"retry_total": 10, "retry_backoff_factor": 0.8}',
    },
}


def connection_form_widgets(fields: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """wtforms widgets for UIs that still call ``get_connection_form_widgets()`` (needs wtforms).

    ``fields`` defaults to this form's ``CONN_FIELDS``; other connection types pass their own.
    """
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import PasswordField, StringField

    widgets: dict[str, Any] = {}
    for name, spec in (CONN_FIELDS if fields is None else fields).items():
        if spec["schema"].get("format") == "password":
            widgets[name] = PasswordField(lazy_gettext(spec["label"]), widget=BS3PasswordFieldWidget())
        else:
            widgets[name] = StringField(lazy_gettext(spec["label"]), widget=BS3TextFieldWidget())
    return widgets


def ui_field_behaviour(behaviour: dict[str, Any] | None = None) -> dict[str, Any]:
    """``UI_FIELD_BEHAVIOUR`` (or ``behaviour``) in the Python-style keys of ``get_ui_field_behaviour()``."""
    source = UI_FIELD_BEHAVIOUR if behaviour is None else behaviour
    return {key.replace("-", "_"): value for key, value in source.items()}
