"""Deterministic execution ids."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from airflow_elasticjobs.execution_id import ExecutionKey, attempt_execution_id

JOB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/jobAgents/a/jobs/Job1"


def key(**changes) -> ExecutionKey:
    base = {"job_id": JOB, "dag_id": "dag", "run_id": "manual__1", "task_id": "start", "map_index": -1}
    return ExecutionKey(**{**base, **changes})


def test_same_task_instance_same_id():
    assert attempt_execution_id(key(), 0) == attempt_execution_id(key(), 0)


def test_ids_are_guids():
    assert uuid.UUID(attempt_execution_id(key(), 3)).version == 5


def test_job_id_case_does_not_matter():
    assert attempt_execution_id(key(job_id=JOB.upper()), 0) == attempt_execution_id(key(), 0)


@pytest.mark.parametrize(
    "change",
    [
        {"dag_id": "dag2"},
        {"run_id": "manual__2"},
        {"task_id": "start2"},
        {"map_index": 0},
        {"job_id": JOB + "2"},
    ],
)
def test_every_key_part_changes_the_id(change):
    assert attempt_execution_id(key(**change), 0) != attempt_execution_id(key(), 0)


def test_attempts_differ():
    ids = {attempt_execution_id(key(), n) for n in range(50)}
    assert len(ids) == 50


def test_parts_cannot_collide_by_concatenation():
    assert attempt_execution_id(key(dag_id="ab", run_id="c"), 0) != attempt_execution_id(
        key(dag_id="a", run_id="bc"), 0
    )


def test_negative_attempt_rejected():
    with pytest.raises(ValueError, match="attempt"):
        attempt_execution_id(key(), -1)


def test_from_context_uses_the_task_instance():
    ti = SimpleNamespace(dag_id="dag", run_id="manual__1", task_id="start", map_index=None, try_number=4)
    assert ExecutionKey.from_context({"ti": ti}, JOB) == key()
