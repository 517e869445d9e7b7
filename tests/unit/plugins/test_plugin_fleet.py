"""The fleet picture of an execution (one cell per target database), from real ``azure.mgmt.sql`` models."""

from __future__ import annotations

import json
from typing import Any

from azure.mgmt.sql.models import JobExecution

from airflow_elasticjobs.plugins.execution_view import snapshot
from airflow_elasticjobs.plugins.fleet import fleet_json, fleet_picture, histogram
from tests.unit.plugins.test_plugin_execution_view import AGENT, REF, _execution, _target


def _timed(
    step: int, server: str, database: str | None, lifecycle: str, seconds: int | None, **extra: Any
) -> JobExecution:
    times = {"startTime": "2025-01-01T00:00:00Z"}
    if seconds is not None:
        times["endTime"] = f"2025-01-01T00:{seconds // 60:02d}:{seconds % 60:02d}Z"
    return _target(step, server, database, lifecycle, **times, **extra)


def test_cells_are_grouped_by_step_and_server_with_shared_lifecycles_and_messages() -> None:
    targets = [
        _timed(1, "b", "Db2", "Failed", 30, lastMessage="Login failed for user 'jobuser'."),
        _timed(1, "a", "Db1", "Succeeded", 10, lastMessage="ok"),
        _timed(1, "a", None, "Succeeded", 1),  # the server member's expansion: not a cell
        _timed(2, "a", "Db1", "InProgress", None, lastMessage="running"),
        _timed(1, "b", "Db1", "Succeeded", 20, lastMessage="ok"),
    ]
    picture = fleet_picture(snapshot(REF, AGENT, _execution("InProgress"), [], targets))

    groups = [(g["step_id"], g["server_name"], [c[0] for c in g["cells"]]) for g in picture["groups"]]
    assert groups == [(1, "a", ["Db1"]), (1, "b", ["Db1", "Db2"]), (2, "a", ["Db1"])]
    cells = {(g["step_id"], g["server_name"], c[0]): c[1:] for g in picture["groups"] for c in g["cells"]}
    lifecycle, message, seconds = cells[(1, "b", "Db2")]
    assert picture["lifecycles"][lifecycle] == "Failed"
    assert picture["messages"][message] == "Login failed for user 'jobuser'."
    assert seconds == 30.0
    assert cells[(2, "a", "Db1")][2] is None  # no end yet: no duration
    assert sorted(picture["messages"]) == ["Login failed for user 'jobuser'.", "ok", "running"]
    # The cells and the counts agree: the same targets, counted once each.
    per_lifecycle: dict[str, int] = {}
    for lifecycle, *_ in cells.values():
        name = picture["lifecycles"][lifecycle]
        per_lifecycle[name] = per_lifecycle.get(name, 0) + 1
    assert per_lifecycle == picture["counts"] == {"Failed": 1, "InProgress": 1, "Succeeded": 2}
    assert sum(picture["histogram"]["counts"]) == 3
    assert picture["active"] is True and len(picture["version"]) == 24


def test_histogram_has_equal_bins_up_to_the_longest_duration() -> None:
    result = histogram([0.0, 1.0, 2.5, 10.0], bins=4)
    assert result == {"edges": [0.0, 2.5, 5.0, 7.5, 10.0], "counts": [2, 1, 0, 1]}
    assert histogram([]) == {"edges": [], "counts": []}
    assert histogram([0.0, 0.0], bins=2)["counts"] == [2, 0]


def test_fleet_json_is_encoded_once_per_snapshot() -> None:
    targets = [_timed(1, "a", "Db1", "Succeeded", 10)]
    first = snapshot(REF, AGENT, _execution("Succeeded"), [], targets)
    encoded = fleet_json(first)
    assert fleet_json(first) is encoded
    assert json.loads(encoded) == fleet_picture(first)
    second = snapshot(REF, AGENT, _execution("Succeeded"), [], targets)  # another read: encoded anew
    assert fleet_json(second) is not encoded and fleet_json(second) == encoded
