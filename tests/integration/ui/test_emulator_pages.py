"""Who may read the emulator's web pages, and what they never show.

The running emulator process is bound to 127.0.0.1, so every request reaching it comes from the
loopback interface; the remote-browser path (token form → session cookie) is exercised on the same
app built in-process with ``create_app``, where the test client can present a non-loopback address.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from elasticjobs_emulator.api.app import create_app
from elasticjobs_emulator.api.ui import LOGIN_PATH, SESSION_COOKIE, UI_PREFIX
from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.targets import Target
from tests.support.emulator import EmulatorProcess

pytestmark = pytest.mark.integration

TOKEN = "ui-pages-token"
AGENT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/agentsrv/jobAgents/agent"
JOB = f"{AGENT}/jobs/Job1"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The emulator app seen from a non-loopback browser, with one failed execution stored."""
    app = create_app(tmp_path, TOKEN)
    with TestClient(app, client=("192.0.2.10", 50000)) as client:
        store = app.state.emulator.store
        store.put(AGENT, {"id": AGENT, "name": "agent", "properties": {"state": "Ready"}})
        store.put(JOB, {"id": JOB, "name": "Job1", "properties": {"version": 1}})
        records = rec.ExecutionRecords(store)
        root = rec.new_root({"id": JOB, "properties": {"version": 1}}, "exec-1", [], 0.0)
        step = rec.new_step(root, {"name": "step1", "properties": {"stepId": 1}}, 0.0)
        target = rec.new_target(step, Target("SqlDatabase", "targetsrv", "TargetDb1"), 0.0)
        rec.transition(target, "Failed", 1.0, "<script>alert('x')</script> failed")
        records.save_all([root, step, target])
        yield client, f"{UI_PREFIX}{root['id']}"


def _login(client: TestClient, token: str, next_path: str) -> Any:
    return client.post(
        LOGIN_PATH, content=f"token={token}&next={next_path}", headers=FORM, follow_redirects=False
    )


def test_remote_browser_gets_the_sign_in_form_and_no_data(remote: tuple[TestClient, str]) -> None:
    client, page = remote
    response = client.get(page)
    assert response.status_code == 401
    assert 'name="token"' in response.text and "TargetDb1" not in response.text


def test_posted_token_becomes_a_session_cookie_that_is_not_the_token(remote: tuple[TestClient, str]) -> None:
    client, page = remote
    assert _login(client, "wrong", page).status_code == 401
    response = _login(client, TOKEN, page)
    assert response.status_code == 303 and response.headers["location"] == page
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"Path={UI_PREFIX}" in cookie
    assert TOKEN not in cookie
    shown = client.get(page, cookies={SESSION_COOKIE: response.cookies[SESSION_COOKIE]})
    assert shown.status_code == 200 and "<td>TargetDb1</td>" in shown.text
    assert client.get(page, cookies={SESSION_COOKIE: "forged"}).status_code == 401


def test_scripts_may_send_the_bearer_token(remote: tuple[TestClient, str]) -> None:
    client, page = remote
    assert client.get(page, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get(page, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_login_never_redirects_off_the_emulator_pages(remote: tuple[TestClient, str]) -> None:
    client, _page = remote
    response = _login(client, TOKEN, "https://evil.example/")
    assert response.headers["location"] == UI_PREFIX


def test_messages_are_escaped(remote: tuple[TestClient, str]) -> None:
    client, page = remote
    text = client.get(page, headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text
    assert '<p id="counts">Target databases: 1; <span class="lc Failed">Failed</span> 1</p>' in text


def test_loopback_reads_without_token_and_the_token_never_reaches_the_log(emulator: EmulatorProcess) -> None:
    import httpx

    missing = f"{UI_PREFIX}{emulator.arm_path('rg-none', 'servers', 's', 'jobAgents', 'a', 'jobs', 'j')}"
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path)) as browser:
        not_found = browser.get(f"{missing}/executions/00000000-0000-0000-0000-000000000000")
        signed_in = browser.post(
            LOGIN_PATH, content=f"token={emulator.token}&next={missing}", headers=FORM, follow_redirects=False
        )
    assert not_found.status_code == 404 and "has no agent, job or execution" in not_found.text
    assert signed_in.status_code == 303
    assert signed_in.cookies[SESSION_COOKIE] != emulator.token
    assert emulator.token not in emulator.log_text()


def test_index_agent_and_job_pages_link_down_to_the_execution(remote: tuple[TestClient, str]) -> None:
    client, page = remote
    headers = {"Authorization": f"Bearer {TOKEN}"}
    execution_link = f'href="{page}"'
    index = client.get(UI_PREFIX, headers=headers)
    assert index.status_code == 200 and f'href="{UI_PREFIX}{AGENT}"' in index.text
    assert client.get(UI_PREFIX).status_code == 401  # the index is no more public than the pages
    agent = client.get(f"{UI_PREFIX}{AGENT}", headers=headers)
    job = client.get(f"{UI_PREFIX}{JOB}", headers=headers)
    assert (
        agent.status_code == 200 and execution_link in agent.text and f'href="{UI_PREFIX}{JOB}"' in agent.text
    )
    assert job.status_code == 200 and execution_link in job.text
    assert '<span class="lc Created">Created</span>' in job.text  # the root execution's own lifecycle
