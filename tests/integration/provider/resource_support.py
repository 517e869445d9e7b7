"""Shared pieces of the resource-operator integration tests: Airflow connections (environment
variables) pointing the provider at the running emulator, for one fresh resource group per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
from tests.integration.executions_world import TUTORIAL_SQL
from tests.support.emulator import FAST_RETRIES, EmulatorProcess, unique_name

CONN_ID = "elastic_jobs_resources_it"
ADMIN_CONN_ID = "ej_it_admin"
MASTER_CONN_ID = "ej_it_masteruser"
JOBUSER_CONN_ID = "ej_it_jobuser"
MASTER_PASSWORD = "Master-Passw0rd-Secret!"
JOBUSER_PASSWORD = "Jobuser-Passw0rd-Secret!"
LOCATION = "westeurope"


@dataclass
class Names:
    """Unique names of one test's resources."""

    rg: str
    agent_server: str = field(default_factory=lambda: unique_name("agentsrv"))
    target_server: str = field(default_factory=lambda: unique_name("targetsrv"))
    agent: str = "ElasticJobAgent"


def connection_json(emulator: EmulatorProcess, names: Names, **extras: Any) -> str:
    """An ``azure_elastic_jobs`` connection for the emulator (fast retries), as ``AIRFLOW_CONN_*`` JSON."""
    return emulator.connection_json(names.rg, names.agent_server, names.agent, **(FAST_RETRIES | extras))


def _login(login: str, password: str) -> str:
    return json.dumps({"conn_type": "generic", "login": login, "password": password})


@pytest.fixture(name="names")
def names_fixture(emulator, resource_group, airflow_db, monkeypatch) -> Iterator[Names]:
    """Fresh names plus the Airflow connections (provider, server admin, masteruser, jobuser)."""
    names = Names(resource_group)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(emulator, names))
    monkeypatch.setenv(f"AIRFLOW_CONN_{ADMIN_CONN_ID.upper()}", _login("sqladmin", "Admin-Passw0rd-Secret!"))
    monkeypatch.setenv(f"AIRFLOW_CONN_{MASTER_CONN_ID.upper()}", _login("masteruser", MASTER_PASSWORD))
    monkeypatch.setenv(f"AIRFLOW_CONN_{JOBUSER_CONN_ID.upper()}", _login("jobuser", JOBUSER_PASSWORD))
    yield names


def build_agent(names: Names) -> ElasticJobsHook:
    """Both servers, the job and target databases and a Ready agent, through the hook (fast setup)."""
    hook = ElasticJobsHook(CONN_ID)
    for server in (names.agent_server, names.target_server):
        hook.create_or_get_server(
            server, location=LOCATION, admin_login="sqladmin", admin_password="Adm1n-Secret!"
        )
    hook.create_or_get_database(names.agent_server, "JobDatabase")
    for database in ("TargetDb1", "TargetDb2"):
        hook.create_or_get_database(names.target_server, database)
    hook.create_or_update_agent("JobDatabase", poll_interval=0.5)
    return hook


def server_member(names: Names) -> dict[str, str]:
    """The tutorial's whole-server member (refreshed through masteruser)."""
    return {"type": "SqlServer", "server_name": names.target_server, "refresh_credential": "masteruser"}


def excluded_db2(names: Names) -> dict[str, str]:
    """The tutorial's exclusion of TargetDb2."""
    return {
        "type": "SqlDatabase",
        "server_name": names.target_server,
        "database_name": "TargetDb2",
        "membership_type": "Exclude",
    }


def tutorial_steps() -> list[dict[str, Any]]:
    """Job1's two steps from the tutorial."""
    return [
        {
            "name": "step1",
            "target_group": "ServerGroup",
            "credential": "jobuser",
            "command": TUTORIAL_SQL.format(table="Step1Table"),
            "retry_attempts": 0,
        },
        {
            "name": "step2",
            "target_group": "ServerGroupExcludingDb2",
            "credential": "jobuser",
            "command": TUTORIAL_SQL.format(table="Step2Table"),
            "retry_attempts": 0,
        },
    ]
