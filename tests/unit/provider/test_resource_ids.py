"""ARM ids, portal URLs and emulator URLs are built in one place and shaped like Azure's."""

from __future__ import annotations

from airflow_elasticjobs.hooks.resource_ids import (
    AgentRef,
    emulator_ui_url,
    last_segment,
    portal_url,
    resource_url,
    same_id,
)

AGENT = AgentRef("sub", "rg", "srv", "agent")
PREFIX = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/srv"


def test_ids_under_the_agent() -> None:
    assert AGENT.server_id == PREFIX
    assert AGENT.agent_id == f"{PREFIX}/jobAgents/agent"
    assert AGENT.database_id("JobDatabase") == f"{PREFIX}/databases/JobDatabase"
    assert AGENT.credential_id("jobuser") == f"{PREFIX}/jobAgents/agent/credentials/jobuser"
    assert AGENT.target_group_id("ServerGroup") == f"{PREFIX}/jobAgents/agent/targetGroups/ServerGroup"
    assert AGENT.job_id("Job1") == f"{PREFIX}/jobAgents/agent/jobs/Job1"
    assert AGENT.step_id("Job1", "Step1") == f"{PREFIX}/jobAgents/agent/jobs/Job1/steps/Step1"
    assert AGENT.execution_id("Job1", "e1") == f"{PREFIX}/jobAgents/agent/jobs/Job1/executions/e1"
    assert last_segment(AGENT.job_id("Job1")) == "Job1"


def test_ids_compare_case_insensitively() -> None:
    assert same_id(AGENT.job_id("Job1"), AGENT.job_id("Job1").upper() + "/")
    assert not same_id(AGENT.job_id("Job1"), AGENT.job_id("Job2"))


def test_portal_urls_per_cloud() -> None:
    assert portal_url("https://management.azure.com", AGENT.agent_id) == (
        f"https://portal.azure.com/#/resource{AGENT.agent_id}/overview"
    )
    assert portal_url("https://management.chinacloudapi.cn", AGENT.agent_id, "tenant").startswith(
        "https://portal.azure.cn/#@tenant/resource/subscriptions/"
    )
    assert portal_url("https://management.usgovcloudapi.net", AGENT.agent_id).startswith(
        "https://portal.azure.us/"
    )
    assert portal_url("https://127.0.0.1:8443", AGENT.agent_id) is None


def test_emulator_links_off_azure() -> None:
    execution = AGENT.execution_id("Job1", "e1")
    assert (
        emulator_ui_url("https://127.0.0.1:8443/", execution)
        == f"https://127.0.0.1:8443/_emulator/ui{execution}"
    )
    assert resource_url("https://127.0.0.1:8443", execution) == emulator_ui_url(
        "https://127.0.0.1:8443", execution
    )
    assert resource_url("https://management.azure.com", execution).startswith("https://portal.azure.com/")


def test_browser_url_moves_emulator_links_but_not_portal_links() -> None:
    execution = AGENT.execution_id("Job1", "e1")
    assert resource_url("https://emulator:8443", execution, browser_url="https://localhost:8443") == (
        f"https://localhost:8443/_emulator/ui{execution}"
    )
    portal = resource_url("https://management.azure.com", execution, browser_url="https://localhost:8443")
    assert portal.startswith("https://portal.azure.com/")
