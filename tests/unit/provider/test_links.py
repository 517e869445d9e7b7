"""Extra links: operators push the URL (portal on Azure, the emulator's page elsewhere); the link reads it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
from airflow_elasticjobs.links.elastic_jobs import ElasticJobsAgentLink, ElasticJobsExecutionLink

AGENT = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/jobAgents/agent"


class RecordingTaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def hook_for(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> ElasticJobsHook:
    extra = {
        "subscription_id": "sub",
        "resource_group_name": "rg",
        "server_name": "srv",
        "agent_name": "agent",
        **extra,
    }
    monkeypatch.setenv(
        "AIRFLOW_CONN_EJ_LINKS", json.dumps({"conn_type": "azure_elastic_jobs", "extra": extra})
    )
    return ElasticJobsHook("ej_links")


def test_links_on_azure_open_the_portal(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = hook_for(monkeypatch, tenant_id="tenant")
    ti = RecordingTaskInstance()
    agent_url = ElasticJobsAgentLink.persist({"ti": ti}, hook)  # type: ignore[arg-type]
    execution_url = ElasticJobsExecutionLink.persist({"ti": ti}, hook, "Job1", "e-1")  # type: ignore[arg-type]
    assert agent_url == f"https://portal.azure.com/#@tenant/resource{AGENT}/overview"
    assert execution_url == f"https://portal.azure.com/#@tenant/resource{AGENT}/jobs/Job1/overview"
    assert ti.pushed["elastic_jobs_agent_url"] == agent_url
    assert ti.pushed["elastic_jobs_execution_url"] == execution_url
    assert ti.pushed["elastic_jobs_execution_ref"] == {
        "conn_id": "ej_links",
        "resource_group_name": "rg",
        "server_name": "srv",
        "agent_name": "agent",
        "job_name": "Job1",
        "execution_id": "e-1",
    }


def test_links_off_azure_open_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = hook_for(monkeypatch, endpoint="https://127.0.0.1:8443", token="tok", verify="false")
    ti = RecordingTaskInstance()
    url = ElasticJobsExecutionLink.persist({"ti": ti}, hook, "Job1", "e-1")  # type: ignore[arg-type]
    assert url == f"https://127.0.0.1:8443/_emulator/ui{AGENT}/jobs/Job1/executions/e-1"
    assert ElasticJobsExecutionLink().xcom_key != ElasticJobsAgentLink().xcom_key
