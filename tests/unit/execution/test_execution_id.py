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
        {"generation": 1},
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


def test_generation_zero_keeps_the_ids_earlier_versions_derived():
    """Executions started before clears were part of the key stay reachable."""
    assert attempt_execution_id(key(), 0) == "938198fe-b3bf-5a45-ab11-544f10b28d02"
    assert attempt_execution_id(key(generation=0), 1) == "c760f9c0-3c77-51a3-8693-cf55565e7db3"


def test_each_clear_is_its_own_sequence():
    ids = {attempt_execution_id(key(generation=g), n) for g in range(5) for n in range(5)}
    assert len(ids) == 25


def test_from_context_takes_the_generation_from_the_dag_runs_clear_number():
    ti = SimpleNamespace(dag_id="dag", run_id="manual__1", task_id="start", map_index=-1)
    assert ExecutionKey.from_context({"ti": ti, "dag_run": SimpleNamespace(clear_number=3)}, JOB) == key(
        generation=3
    )
    assert ExecutionKey.from_context({"ti": ti, "dag_run": SimpleNamespace(clear_number=None)}, JOB) == key()
