"""The plugin's endpoint and the extra links, through a real api-server after the tutorial DAG ran.

Everything is real: the DAG ran with ``dag.test()`` on the emulator process, the api-server loads
the plugin from its entry point, logins go through ``POST /auth/token``, and the endpoint reads the
execution from the emulator through the task's connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from airflow_elasticjobs.links.elastic_jobs import ElasticJobsExecutionLink
from tests.integration.ui.conftest import (
    PLAIN_TASK,
    SENSOR_TASK,
    START_TASK,
    XCOM_EDITOR,
    ApiServer,
    TutorialRun,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _endpoint(api: ApiServer, run: TutorialRun, task_id: str = START_TASK, **page: Any) -> str:
    query = {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": task_id, "map_index": -1, **page}
    return f"{api.url}/elastic-jobs/execution?{httpx.QueryParams(query)}"


def _get(api: ApiServer, run: TutorialRun, task_id: str = START_TASK, **page: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.token()}"}
    return httpx.get(_endpoint(api, run, task_id, **page), headers=headers, timeout=60)


@contextmanager
def _xcom_replaced(api: ApiServer, run: TutorialRun, value: Any) -> Iterator[None]:
    """The start task's execution reference overwritten through the public API by an XCom editor."""
    path = (
        f"{api.url}/api/v2/dags/{run.dag_id}/dagRuns/{quote(run.run_id, safe='')}/taskInstances/"
        f"{START_TASK}/xcomEntries/{ElasticJobsExecutionLink.ref_key}"
    )
    headers = {"Authorization": f"Bearer {api.token(XCOM_EDITOR)}"}
    original = httpx.get(path, headers=headers, params={"deserialize": True}, timeout=60)
    assert original.status_code == 200, original.text
    patched = httpx.patch(path, headers=headers, json={"value": value}, timeout=60)
    assert patched.status_code == 200, patched.text
    try:
        yield
    finally:
        restored = httpx.patch(path, headers=headers, json={"value": original.json()["value"]}, timeout=60)
        assert restored.status_code == 200, restored.text


def test_unauthenticated_request_is_refused(api_server: ApiServer, tutorial_run: TutorialRun) -> None:
    response = httpx.get(_endpoint(api_server, tutorial_run))
    assert response.status_code == 401
    assert "execution" not in response.json()


def test_forged_token_is_refused(api_server: ApiServer, tutorial_run: TutorialRun) -> None:
    response = httpx.get(
        _endpoint(api_server, tutorial_run), headers={"Authorization": "Bearer forged.jwt.x"}
    )
    assert response.status_code in (401, 403)
    assert "execution" not in response.json()


def test_authenticated_request_lists_both_steps_and_their_targets(
    api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    token = api_server.token()
    response = httpx.get(_endpoint(api_server, tutorial_run), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    view = response.json()
    world = tutorial_run.world

    assert view["execution"]["execution_id"] == tutorial_run.execution_id
    assert view["execution"]["job_name"] == "Job1"
    assert view["execution"]["lifecycle"] == "Succeeded"
    assert view["active"] is False
    assert [(s["step_id"], s["step_name"], s["lifecycle"]) for s in view["steps"]] == [
        (1, "step1", "Succeeded"),
        (2, "step2", "Succeeded"),
    ]
    databases = [
        (t["step_name"], t["server_name"], t["database_name"], t["lifecycle"])
        for t in view["targets"]
        if t["database_name"]
    ]
    assert databases == [
        ("step1", world.target_server, "TargetDb1", "Succeeded"),
        ("step1", world.target_server, "TargetDb2", "Succeeded"),
        ("step2", world.target_server, "TargetDb1", "Succeeded"),
    ]
    assert all(t["attempts"] >= 1 and t["start_time"] and t["end_time"] for t in view["targets"])
    assert view["counts"] == {"Succeeded": 3}
    # The same numbers the task itself reported in XCom.
    assert view["counts"] == tutorial_run.result["counts"]
    # Nothing secret reaches the browser.
    assert tutorial_run.secrets()
    for secret in tutorial_run.secrets():
        assert secret not in response.text


def test_the_sensor_task_shows_the_execution_it_watched(
    api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    headers = {"Authorization": f"Bearer {api_server.token()}"}
    response = httpx.get(_endpoint(api_server, tutorial_run, SENSOR_TASK), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["execution"]["execution_id"] == tutorial_run.execution_id
    assert response.json()["counts"] == {"Succeeded": 3}


def test_the_ui_session_cookie_is_accepted_like_the_bearer_header(
    api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    response = httpx.get(_endpoint(api_server, tutorial_run), cookies={"_token": api_server.token()})
    assert response.status_code == 200, response.text


def test_a_task_that_is_no_elastic_jobs_task_is_refused(
    api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    response = _get(api_server, tutorial_run, PLAIN_TASK)
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert f"{PLAIN_TASK!r} is a _PythonDecoratedOperator, not an Elastic Jobs start operator" in detail


def test_a_forged_xcom_reference_cannot_choose_the_connection_agent_or_job(
    api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    forged = {
        "conn_id": "someone_elses_connection",
        "resource_group_name": "their-rg",
        "server_name": "their-server",
        "agent_name": "TheirAgent",
        "job_name": "TheirJob",
        "execution_id": tutorial_run.execution_id,
    }
    with _xcom_replaced(api_server, tutorial_run, forged):
        response = _get(api_server, tutorial_run)
    assert response.status_code == 200, response.text
    view = response.json()
    world = tutorial_run.world
    # Read through the task's own connection, with its own (rendered) server override and job.
    assert view["agent"] == {
        "resource_group_name": world.rg,
        "server_name": world.agent_server,
        "agent_name": world.agent,
    }
    assert view["execution"]["job_name"] == "Job1"
    assert view["execution"]["execution_id"] == tutorial_run.execution_id
    assert "someone_elses_connection" not in api_server.log_path.read_text(errors="replace")


def test_an_execution_id_that_is_no_uuid_is_refused(api_server: ApiServer, tutorial_run: TutorialRun) -> None:
    with _xcom_replaced(api_server, tutorial_run, {"execution_id": "../../jobs/Job1"}):
        response = _get(api_server, tutorial_run)
    assert response.status_code == 409
    assert "execution_id in UUID form" in response.json()["detail"]


def test_pages_return_every_target_row_exactly_once(api_server: ApiServer, tutorial_run: TutorialRun) -> None:
    whole = _get(api_server, tutorial_run, limit=500).json()
    assert whole["total"] == len(whole["targets"]) >= 3  # more than one page of 2
    rows, offset = [], 0
    while offset < whole["total"]:
        page = _get(api_server, tutorial_run, offset=offset, limit=2).json()
        assert (page["total"], page["offset"], page["limit"]) == (whole["total"], offset, 2)
        assert page["steps"] == whole["steps"] and page["counts"] == whole["counts"]
        rows += page["targets"]
        offset += 2
    assert rows == whole["targets"]
    assert _get(api_server, tutorial_run, offset=offset, limit=2).json()["targets"] == []

    step2 = _get(api_server, tutorial_run, step=2).json()
    assert step2["total"] == len([r for r in rows if r["step_id"] == 2]) >= 1
    assert {r["step_id"] for r in step2["targets"]} == {2}
    assert _get(api_server, tutorial_run, lifecycle="Failed").json()["total"] == 0
    too_big = _get(api_server, tutorial_run, limit=501)
    assert too_big.status_code == 422


def test_tab_page_is_served_and_registered_as_a_task_instance_view(api_server: ApiServer) -> None:
    page = httpx.get(f"{api_server.url}/elastic-jobs/view")
    assert page.status_code == 200 and 'id="targets"' in page.text
    assert httpx.get(f"{api_server.url}/elastic-jobs/static/view.js").status_code == 200
    plugins = httpx.get(
        f"{api_server.url}/api/v2/plugins", headers={"Authorization": f"Bearer {api_server.token()}"}
    ).json()["plugins"]
    (ours,) = [p for p in plugins if p["name"] == "elastic_jobs"]
    assert [(v["destination"], v["url_route"]) for v in ours["external_views"]] == [
        ("task_instance", "elastic-jobs")
    ]
    assert ours["fastapi_apps"][0]["url_prefix"] == "/elastic-jobs"
    errors = httpx.get(
        f"{api_server.url}/api/v2/plugins/importErrors",
        headers={"Authorization": f"Bearer {api_server.token()}"},
    ).json()["import_errors"]
    assert not [e for e in errors if "elastic" in (e["source"] + e["error"]).lower()], errors


def test_extra_links_of_the_grid_view_open_the_emulator_pages(
    api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    headers = {"Authorization": f"Bearer {api_server.token()}"}
    path = (
        f"/api/v2/dags/{tutorial_run.dag_id}/dagRuns/{quote(tutorial_run.run_id, safe='')}"
        f"/taskInstances/{START_TASK}/links"
    )
    response = httpx.get(f"{api_server.url}{path}", headers=headers)
    assert response.status_code == 200, response.text
    links = response.json()["extra_links"]
    world = tutorial_run.world
    execution_url = links["Elastic Job Execution"]
    assert execution_url == (
        f"{world.emulator.url}/_emulator/ui"
        f"{world.agent_path('jobs', 'Job1', 'executions', tutorial_run.execution_id)}"
    )
    assert links["Elastic Job Agent"] == f"{world.emulator.url}/_emulator/ui{world.agent_path()}"

    # A browser on this machine follows the link without any token (loopback, read-only).
    with httpx.Client(verify=str(world.emulator.cert_path)) as browser:
        page = browser.get(execution_url)
        agent_page = browser.get(links["Elastic Job Agent"])
    assert page.status_code == 200, page.text
    assert f"Execution {tutorial_run.execution_id}" in page.text
    assert page.text.count("<td>TargetDb1</td>") == 2 and page.text.count("<td>TargetDb2</td>") == 1
    assert agent_page.status_code == 200 and "Job1" in agent_page.text
    assert world.emulator.token not in page.text + agent_page.text
