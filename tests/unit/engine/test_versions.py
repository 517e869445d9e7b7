"""Job versioning (engine/versions.py): step order, a new version with its snapshot per change."""

from __future__ import annotations

from typing import Any

import pytest

from elasticjobs_emulator.engine.versions import (
    StepPositionError,
    delete_step,
    ordered_steps,
    place,
    put_step,
    version_steps,
)
from elasticjobs_emulator.resource_ids import new_doc
from elasticjobs_emulator.store import Store

JOB = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x/jobAgents/a/jobs/J"


def _step(value: str) -> dict[str, Any]:
    return {"action": {"type": "TSql", "source": "Inline", "value": value}}


@pytest.fixture
def job_store(store: Store) -> Store:
    store.put(JOB, new_doc(JOB, {"version": 0}))
    return store


@pytest.mark.parametrize(
    ("names", "name", "step_id", "expected"),
    [
        ([], "a", None, ["a"]),
        (["a", "b"], "c", None, ["a", "b", "c"]),
        (["a", "b"], "c", 1, ["c", "a", "b"]),
        (["a", "b"], "c", 3, ["a", "b", "c"]),
        (["a", "b", "c"], "a", 3, ["b", "c", "a"]),
        (["a", "b", "c"], "C", 1, ["C", "a", "b"]),
        (["a", "b", "c"], "b", None, ["a", "b", "c"]),
    ],
)
def test_place(names: list[str], name: str, step_id: int | None, expected: list[str]) -> None:
    assert place(names, name, step_id) == expected


@pytest.mark.parametrize(
    ("names", "name", "step_id", "fits"),
    [([], "a", 2, "1..1"), (["a", "b"], "c", 4, "1..3"), (["a", "b"], "a", 3, "1..2")],
)
def test_place_refuses_gaps(names: list[str], name: str, step_id: int, fits: str) -> None:
    with pytest.raises(StepPositionError, match=f"step ids are {fits} here"):
        place(names, name, step_id)


def test_each_change_makes_a_version_with_a_snapshot_of_its_steps(job_store: Store) -> None:
    first, created = put_step(job_store, f"{JOB}/steps/one", _step("SELECT 1"), None)
    assert created and first["properties"]["stepId"] == 1
    put_step(job_store, f"{JOB}/steps/two", _step("SELECT 2"), 1)

    job = job_store.get(JOB)
    assert job is not None and job["properties"]["version"] == 2
    assert [s["name"] for s in ordered_steps(job_store, JOB)] == ["two", "one"]
    assert [s["name"] for s in version_steps(job_store, job)] == ["two", "one"]
    version_one = ordered_steps(job_store, f"{JOB}/versions/1")
    assert [(s["name"], s["properties"]["stepId"]) for s in version_one] == [("one", 1)]
    assert version_one[0]["id"] == f"{JOB}/versions/1/steps/one"
    assert version_one[0]["type"] == "Microsoft.Sql/servers/jobAgents/jobs/versions/steps"
    assert job_store.get(f"{JOB}/versions/2") == {
        "id": f"{JOB}/versions/2",
        "name": "2",
        "type": "Microsoft.Sql/servers/jobAgents/jobs/versions",
    }


def test_a_put_that_changes_nothing_makes_no_version(job_store: Store) -> None:
    put_step(job_store, f"{JOB}/steps/one", _step("SELECT 1"), None)
    again, created = put_step(job_store, f"{JOB}/steps/ONE", _step("SELECT 1"), 1)
    assert not created and again["name"] == "one"
    assert job_store.get(JOB)["properties"]["version"] == 1  # type: ignore[index]
    put_step(job_store, f"{JOB}/steps/one", _step("SELECT 9"), None)
    assert job_store.get(JOB)["properties"]["version"] == 2  # type: ignore[index]


def test_a_refused_position_changes_nothing(job_store: Store) -> None:
    with pytest.raises(StepPositionError):
        put_step(job_store, f"{JOB}/steps/one", _step("SELECT 1"), 2)
    assert job_store.get(JOB)["properties"]["version"] == 0  # type: ignore[index]
    assert ordered_steps(job_store, JOB) == []


def test_delete_renumbers_in_a_new_version_and_keeps_old_snapshots(job_store: Store) -> None:
    for name in ("one", "two", "three"):
        put_step(job_store, f"{JOB}/steps/{name}", _step(name), None)
    assert delete_step(job_store, f"{JOB}/steps/one")
    assert not delete_step(job_store, f"{JOB}/steps/one")
    job = job_store.get(JOB)
    assert job is not None and job["properties"]["version"] == 4
    assert [(s["name"], s["properties"]["stepId"]) for s in version_steps(job_store, job)] == [
        ("two", 1),
        ("three", 2),
    ]
    assert len(ordered_steps(job_store, f"{JOB}/versions/3")) == 3
    assert job_store.get(f"{JOB}/steps/one") is None
