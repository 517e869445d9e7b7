"""The plugin's endpoint and the extra links, through a real api-server after the tutorial DAG ran.

Everything is real: the DAG ran with ``dag.test()`` on the emulator process, the api-server loads
the plugin from its entry point, logins go through ``POST /auth/token``, and the endpoint reads the
execution from the emulator through the task's connection.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.integration.ui.conftest import PLAIN_TASK, SENSOR_TASK, START_TASK, ApiServer, TutorialRun

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _endpoint(api: ApiServer, run: TutorialRun, task_id: str = START_TASK) -> str:
    query = {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": task_id, "map_index": -1}
    return f"{api.url}/elastic-jobs/execution?{httpx.QueryParams(query)}"


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


def test_a_task_without_an_execution_gets_a_clear_404(
    api_server: ApiServer, tutorial_run: TutorialRun
) -> None:
    headers = {"Authorization": f"Bearer {api_server.token()}"}
    response = httpx.get(_endpoint(api_server, tutorial_run, PLAIN_TASK), headers=headers)
    assert response.status_code == 404
    assert "has no Elastic Jobs execution" in response.json()["detail"]


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
