"""The plugin's fleet picture and filtered pages of a 1,000-database execution with failures.

The execution was created by the start operator through the real ``azure-mgmt-sql`` client on the
emulator process (two servers of 500 databases, a step that THROWs on names ending in 7); the
api-server reads it through the task's connection. What the plugin answers is compared with what
ARM itself lists for the same execution.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.integration.ui.conftest import FLEET_DATABASES, FLEET_FAILURE, START_TASK, ApiServer, FleetRun

#: The first test of the folder to ask for the api-server also waits for the three DAG runs behind it.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _get(api: ApiServer, fleet: FleetRun, endpoint: str, **params: Any) -> dict[str, Any]:
    run = fleet.run
    query = {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": START_TASK, "map_index": -1, **params}
    response = httpx.get(
        f"{api.url}/elastic-jobs/{endpoint}",
        params=query,
        headers={"Authorization": f"Bearer {api.token()}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _arm_targets(fleet: FleetRun) -> list[Any]:
    """Per-database target executions as ARM lists them (any expansion row of a server left out)."""
    return [t for t in fleet.arm_targets() if t.target.database_name]


def test_fleet_picture_has_one_cell_per_database_matching_arm(
    api_server: ApiServer, fleet_run: FleetRun
) -> None:
    picture = _get(api_server, fleet_run, "fleet")
    arm = {(t.target.server_name, t.target.database_name): t.lifecycle for t in _arm_targets(fleet_run)}
    assert len(arm) == 2 * len(FLEET_DATABASES)

    cells = {
        (group["server_name"], cell[0]): picture["lifecycles"][cell[1]]
        for group in picture["groups"]
        for cell in group["cells"]
    }
    assert cells == arm
    assert {key for key, lifecycle in cells.items() if lifecycle == "Failed"} == fleet_run.failed
    assert picture["counts"] == dict(Counter(cells.values())) == {"Failed": 100, "Succeeded": 900}
    assert sorted(g["server_name"] for g in picture["groups"]) == sorted(fleet_run.servers)
    assert {len(g["cells"]) for g in picture["groups"]} == {len(FLEET_DATABASES)}
    failed_messages = {
        picture["messages"][cell[2]]
        for group in picture["groups"]
        for cell in group["cells"]
        if picture["lifecycles"][cell[1]] == "Failed"
    }
    assert failed_messages and all(FLEET_FAILURE in m for m in failed_messages), failed_messages
    assert sum(picture["histogram"]["counts"]) == 1000  # every target ended, so every one has a duration
    assert picture["active"] is False


def test_pages_and_filters_cut_the_same_execution(api_server: ApiServer, fleet_run: FleetRun) -> None:
    first = _get(api_server, fleet_run, "execution")
    assert first["counts"] == {"Failed": 100, "Succeeded": 900}
    total = len(fleet_run.arm_targets())  # every row ARM lists, expansion rows included
    assert first["total"] == total >= 1000 and len(first["targets"]) == 100
    fleet = _get(api_server, fleet_run, "fleet")
    assert fleet["version"] == first["version"]

    rows = []
    for offset in range(0, total, 500):
        rows += _get(api_server, fleet_run, "execution", offset=offset, limit=500)["targets"]
    keys = [(r["server_name"], r["database_name"], r["target_type"]) for r in rows]
    assert len(keys) == len(set(keys)) == total

    server = fleet_run.servers[0]
    failed_here = _get(api_server, fleet_run, "execution", lifecycle="Failed", server=server, limit=500)
    assert failed_here["total"] == 50
    assert {(r["server_name"], r["database_name"]) for r in failed_here["targets"]} == {
        f for f in fleet_run.failed if f[0] == server
    }
    by_name = _get(api_server, fleet_run, "execution", name="FLEETDB00", server=server)
    assert sorted(r["database_name"] for r in by_name["targets"]) == [f"fleetdb00{i}" for i in range(10)]
    one_step = _get(api_server, fleet_run, "execution", step=first["steps"][0]["step_id"], limit=1)
    assert one_step["total"] == total
    assert _get(api_server, fleet_run, "execution", step=99)["total"] == 0
