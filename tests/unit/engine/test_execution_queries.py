"""Typed execution queries of the store and the engine (what the HTTP layer lists and filters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elasticjobs_emulator.engine import Engine, ExecutionFilter
from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.clock import parse_iso
from elasticjobs_emulator.engine.lifecycle import SUCCEEDED
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.resource_ids import new_doc
from elasticjobs_emulator.store import Store

SERVER = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x"
AGENT = f"{SERVER}/jobAgents/a"
JOB_1 = f"{AGENT}/jobs/one"
JOB_2 = f"{AGENT}/jobs/two"
OTHER_SERVER_JOB = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x_y/jobAgents/a/jobs/j"
T0 = parse_iso("2025-01-01T00:00:00Z")


def _root(store: Store, job_id: str, name: str, created: float, ended: float | None) -> dict[str, Any]:
    store.put(job_id, new_doc(job_id, {"version": 0}))
    root = rec.new_root(store.get(job_id) or {}, name, [], created)
    if ended is not None:
        rec.transition(root, SUCCEEDED, ended, "done")
    rec.ExecutionRecords(store).save(root)
    return root


def test_filters_by_owner_time_and_activity(store: Store) -> None:
    records = rec.ExecutionRecords(store)
    _root(store, JOB_1, "e1", T0, T0 + 10)
    _root(store, JOB_1, "e2", T0 + 100, None)
    _root(store, JOB_2, "e3", T0 + 200, T0 + 210)

    def names(docs: list[dict[str, Any]]) -> list[str]:
        return [doc["name"] for doc in docs]

    assert names(records.roots_of_job(JOB_1.upper())) == ["e1", "e2"]
    assert names(records.roots_of_agent(AGENT)) == ["e1", "e2", "e3"]
    assert names(records.roots_of_agent(AGENT, ExecutionFilter(create_time_min=T0 + 100))) == ["e2", "e3"]
    assert names(records.roots_of_agent(AGENT, ExecutionFilter(create_time_max=T0 + 100))) == ["e1", "e2"]
    # An execution that has not ended matches no end-time bound.
    assert names(records.roots_of_agent(AGENT, ExecutionFilter(end_time_min=T0))) == ["e1", "e3"]
    assert names(records.roots_of_agent(AGENT, ExecutionFilter(end_time_max=T0 + 10))) == ["e1"]
    assert names(records.roots_of_agent(AGENT, ExecutionFilter(is_active=True))) == ["e2"]
    assert names(records.roots_of_agent(AGENT, ExecutionFilter(is_active=False))) == ["e1", "e3"]


def test_active_roots_under_a_scope_match_its_jobs_only(store: Store) -> None:
    records = rec.ExecutionRecords(store)
    _root(store, JOB_1, "e1", T0, None)
    _root(store, OTHER_SERVER_JOB, "e2", T0, None)
    # ``_`` in ``x_y`` is no LIKE wildcard, and ``servers/x`` is not a prefix of ``servers/x_y``'s jobs.
    assert [doc["name"] for doc in records.active_roots(under=SERVER)] == ["e1"]
    assert [doc["name"] for doc in records.active_roots(under=JOB_1)] == ["e1"]
    assert [doc["name"] for doc in records.active_roots()] == ["e1", "e2"]


def test_the_engine_answers_arm_bodies_without_its_private_fields(store: Store, tmp_path: Path) -> None:
    root = _root(store, JOB_1, "e1", T0, None)
    engine = Engine(store, tmp_path, PasswordHasher(b"k"))
    assert rec.PRIVATE in store.get_execution(root["id"].lower())  # type: ignore[operator]
    assert engine.execution(root["id"].upper()) == rec.public(root)
    assert engine.job_executions(JOB_1) == [rec.public(root)]
    assert engine.agent_executions(AGENT, ExecutionFilter(is_active=False)) == []
    assert engine.execution(f"{JOB_1}/executions/missing") is None
