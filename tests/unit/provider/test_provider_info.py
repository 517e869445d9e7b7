"""Provider registration: schema-valid, complete, and consistent with the hook's connection form."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_elasticjobs import get_provider_info
from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
from elasticjobs_emulator import get_provider_info as get_emulator_provider_info

AIRFLOW_DIR = Path(airflow.__file__).parent


def _schema(name: str) -> dict:
    return json.loads((AIRFLOW_DIR / name).read_text())


#: Both distributions register with Airflow: the provider, and the emulator (its SQL connection type).
BOTH = pytest.mark.parametrize(
    "info", [get_provider_info(), get_emulator_provider_info()], ids=lambda info: info["package-name"]
)


@BOTH
def test_provider_info_is_valid_against_airflows_schema(info: dict) -> None:
    jsonschema.validate(info, _schema("provider_info.schema.json"))


@BOTH
def test_connection_types_are_valid_against_the_provider_yaml_schema(info: dict) -> None:
    # provider_info.schema.json does not describe conn-fields / ui-field-behaviour; provider.yaml's does.
    item_schema = _schema("provider.yaml.schema.json")["properties"]["connection-types"]["items"]
    for connection_type in info["connection-types"]:
        jsonschema.validate(connection_type, item_schema)


def test_the_emulator_sql_connection_type_is_the_emulator_distributions_only() -> None:
    """Production installs never see it: only ``airflow-elasticjobs-emulator`` registers it."""
    from elasticjobs_emulator.hooks.emulator_sql import ElasticJobsEmulatorSqlHook

    def types(info: dict) -> dict[str, str]:
        return {c["connection-type"]: c["hook-class-name"] for c in info["connection-types"]}

    assert "elastic_jobs_emulator_sql" not in types(get_provider_info())
    hook_path = types(get_emulator_provider_info())["elastic_jobs_emulator_sql"]
    module, name = hook_path.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name) is ElasticJobsEmulatorSqlHook
    assert ElasticJobsEmulatorSqlHook.conn_type == "elastic_jobs_emulator_sql"


def test_field_behaviour_is_valid_against_the_providers_manager_schema() -> None:
    # The providers manager drops (with only a warning) a behaviour that does not match this schema.
    jsonschema.validate(
        ElasticJobsHook.get_ui_field_behaviour(), _schema("customized_form_field_behaviours.schema.json")
    )


def test_our_modules_and_classes_exist() -> None:
    info = get_provider_info()
    ours = [
        module
        for section in ("hooks", "operators")
        for entry in info[section]
        for module in entry["python-modules"]
        if module.rsplit(".", 1)[-1]
        in {
            "elastic_jobs",
            "server",
            "agent",
            "credential",
            "target_group",
            "job",
            "deploy",
            "schedule",
            "cleanup",
        }
    ]
    assert len(ours) == 9
    for module in ours:
        importlib.import_module(module)
    for path in info["extra-links"]:
        module, name = path.rsplit(".", 1)
        assert getattr(importlib.import_module(module), name).name
    hook_path = info["connection-types"][0]["hook-class-name"]
    module, name = hook_path.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name) is ElasticJobsHook


def test_every_declared_form_field_is_read_by_the_connection_parser() -> None:
    class Conn:
        conn_id = "c"
        host = None
        login = "client-id"
        password = "client-secret"
        extra_dejson = {name: f"value-{name}" for name in CONN_FIELDS} | {
            "cloud": "AzureUSGovernment",
            "endpoint": "https://management.usgovcloudapi.net",
            "verify": "false",
            "certificate_path": None,
            "browser_url": "https://browser.example:8443",
        }

    settings = ElasticJobsConnectionSettings.from_connection(Conn())
    assert settings.subscription_id == "value-subscription_id"
    assert (settings.resource_group_name, settings.server_name, settings.agent_name) == (
        "value-resource_group_name",
        "value-server_name",
        "value-agent_name",
    )
    assert settings.tenant_id == "value-tenant_id"
    assert settings.static_token == "value-token"
    assert settings.managed_identity_client_id == "value-managed_identity_client_id"
    assert settings.workload_identity_tenant_id == "value-workload_identity_tenant_id"
    assert settings.certificate_password == "value-certificate_password"
    assert settings.cloud.name == "AzureUSGovernment"
    assert settings.verify is False
    assert settings.browser_url == "https://browser.example:8443"


def test_hook_form_methods_come_from_the_same_declaration() -> None:
    behaviour = ElasticJobsHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == UI_FIELD_BEHAVIOUR["hidden-fields"]
    assert behaviour["relabeling"] == {"login": "Client ID", "password": "Client Secret"}
    standard = {"login", "password", "host", "port", "schema", "extra", "description"}
    assert set(behaviour["placeholders"]) <= set(CONN_FIELDS) | standard
    secrets = {name for name, spec in CONN_FIELDS.items() if spec["schema"].get("format") == "password"}
    assert secrets == {"token", "certificate_password"}


def test_hook_form_widgets_need_wtforms() -> None:
    pytest.importorskip("wtforms")
    pytest.importorskip("flask_appbuilder")
    assert set(ElasticJobsHook.get_connection_form_widgets()) == set(CONN_FIELDS)
