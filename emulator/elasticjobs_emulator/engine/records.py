"""Execution documents (root, step, target) and their write-through persistence.

A document is the ARM JSON body of the execution resource plus private engine fields under
``"_engine"`` (stripped by :func:`public`). Lifecycle changes go through :func:`transition`, which
keeps Azure's invariants: ``startTime`` absent exactly while Created, ``endTime`` set exactly when
terminal, no property ever null.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from elasticjobs_emulator.engine import lifecycle as lc
from elasticjobs_emulator.engine.clock import to_iso
from elasticjobs_emulator.engine.group_commit import GroupCommit
from elasticjobs_emulator.engine.targets import Target
from elasticjobs_emulator.store import ExecutionRow, Store, resource_key

ROOT_TYPE = "Microsoft.Sql/servers/jobAgents/jobs/executions"
STEP_TYPE = "Microsoft.Sql/servers/jobAgents/jobs/executions/steps"
TARGET_TYPE = "Microsoft.Sql/servers/jobAgents/jobs/executions/steps/targets"
PRIVATE = "_engine"
_TARGET_NAMESPACE = uuid.UUID("6f1d2c1e-5d0b-4a8e-9a51-3c3c8f0e2b7a")


def agent_id_of(job_id: str) -> str:
    """ARM id of the job agent owning ``job_id``."""
    return job_id.rsplit("/jobs/", 1)[0]


def target_id(target: Target) -> str:
    """Stable target execution name: the same database gets the same id in every execution."""
    return str(uuid.uuid5(_TARGET_NAMESPACE, "/".join(target.key)))


def internal_execution_id(target_doc: dict[str, Any]) -> str:
    """The id a target execution writes into ``internal_execution_id`` of its step's output table.

    One per (job execution, step, target): ``uuid5(<target namespace>, "<jobExecutionId>/<stepName>/
    <target execution name>")`` lower-cased, so every attempt of that target execution (also after a
    restart) replaces the same rows, and another execution gets other ids (docs/emulator-engine.md).
    """
    props = target_doc["properties"]
    key = "/".join((props["jobExecutionId"], props["stepName"], target_doc["name"])).lower()
    return str(uuid.uuid5(_TARGET_NAMESPACE, key))


def new_root(
    job_doc: dict[str, Any], execution_id: str, steps: list[dict[str, Any]], now: float
) -> dict[str, Any]:
    """A Created root execution of ``job_doc`` that will run ``steps`` (its version's snapshot)."""
    job_id = job_doc["id"]
    return {
        "properties": {
            "jobVersion": int(job_doc.get("properties", {}).get("version", 0)),
            "jobExecutionId": execution_id,
            "lifecycle": lc.CREATED,
            "provisioningState": lc.provisioning_state(lc.CREATED),
            "createTime": to_iso(now),
            "currentAttempts": 0,
            "lastMessage": lc.root_message(lc.CREATED),
        },
        "id": f"{job_id}/executions/{execution_id}",
        "name": execution_id,
        "type": ROOT_TYPE,
        PRIVATE: {"kind": "job", "job_id": job_id, "steps": steps, "cancel_requested": False},
    }


def new_step(root: dict[str, Any], step_doc: dict[str, Any], now: float) -> dict[str, Any]:
    """A Created step execution of ``step_doc`` under ``root``."""
    step_id = int(step_doc["properties"]["stepId"])
    name = step_doc["name"]
    return {
        "properties": {
            "jobVersion": root["properties"]["jobVersion"],
            "stepName": name,
            "stepId": step_id,
            "jobExecutionId": root["properties"]["jobExecutionId"],
            "lifecycle": lc.CREATED,
            "provisioningState": lc.provisioning_state(lc.CREATED),
            "createTime": to_iso(now),
            "currentAttempts": 0,
            "lastMessage": lc.step_message(step_id, lc.CREATED),
        },
        "id": f"{root['id']}/steps/{name}",
        "name": name,
        "type": STEP_TYPE,
        PRIVATE: {"kind": "step", "job_id": root[PRIVATE]["job_id"], "step": step_doc},
    }


def new_target(step: dict[str, Any], target: Target, now: float) -> dict[str, Any]:
    """A Created target execution of ``target`` under step execution ``step``."""
    props = step["properties"]
    name = target_id(target)
    target_body = {"type": target.type, "serverName": target.server}
    if target.database is not None:
        target_body["databaseName"] = target.database
    return {
        "properties": {
            "jobVersion": props["jobVersion"],
            "stepName": props["stepName"],
            "stepId": props["stepId"],
            "jobExecutionId": props["jobExecutionId"],
            "lifecycle": lc.CREATED,
            "provisioningState": lc.provisioning_state(lc.CREATED),
            "createTime": to_iso(now),
            "currentAttempts": 0,
            "lastMessage": lc.target_message(props["stepId"], lc.CREATED, target.server, target.database),
            "target": target_body,
        },
        "id": f"{step['id']}/targets/{name}",
        "name": name,
        "type": TARGET_TYPE,
        PRIVATE: {"kind": "target", "job_id": step[PRIVATE]["job_id"], "failed_attempts": 0},
    }


def transition(doc: dict[str, Any], lifecycle: str, now: float, message: str) -> None:
    """Move ``doc`` to ``lifecycle`` with ``message``, maintaining start/end times."""
    props = doc["properties"]
    props["lifecycle"] = lifecycle
    props["provisioningState"] = lc.provisioning_state(lifecycle)
    props["lastMessage"] = message
    stamp = to_iso(now)
    if lifecycle != lc.CREATED:
        props.setdefault("startTime", stamp)
    if lc.is_terminal(lifecycle):
        props["endTime"] = stamp


def begin_attempt(doc: dict[str, Any], now: float, *, counted: bool = True) -> None:
    """Start a new attempt on an execution: stamp ``currentAttemptStartTime`` and, when ``counted``
    (steps and targets), add one to ``currentAttempts``. A root execution's one attempt is stamped
    but not counted: its ``currentAttempts`` stays 0 (recorded traffic) while it shows the start
    time (spec example ``GetJobExecution.json``).
    """
    props = doc["properties"]
    if counted:
        props["currentAttempts"] = int(props.get("currentAttempts", 0)) + 1
    props["currentAttemptStartTime"] = to_iso(now)


def lifecycle_of(doc: dict[str, Any]) -> str:
    """Current lifecycle of an execution document."""
    return str(doc["properties"]["lifecycle"])


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The ARM body of an execution document (private engine fields removed)."""
    return {key: value for key, value in doc.items() if key != PRIVATE}


@dataclass(frozen=True)
class ExecutionFilter:
    """The filters of ARM's execution lists (``createTimeMin`` … ``isActive``); None matches any.

    Times are epoch seconds; an execution that has not ended never matches an end-time bound.
    ``skip`` and ``limit`` keep a slice of the matches, oldest first (one list page; ``None``: all).
    """

    create_time_min: float | None = None
    create_time_max: float | None = None
    end_time_min: float | None = None
    end_time_max: float | None = None
    is_active: bool | None = None
    skip: int = 0
    limit: int | None = None

    def store_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``Store.find_executions`` for these filters."""
        times = {
            "create_time_min": self.create_time_min,
            "create_time_max": self.create_time_max,
            "end_time_min": self.end_time_min,
            "end_time_max": self.end_time_max,
        }
        arguments: dict[str, Any] = {name: to_iso(t) for name, t in times.items() if t is not None}
        arguments["active"] = self.is_active
        return arguments | {"offset": self.skip, "limit": self.limit}


ANY = ExecutionFilter()


def _row(doc: dict[str, Any]) -> ExecutionRow:
    private = doc[PRIVATE]
    props = doc["properties"]
    job_id = private["job_id"]
    return ExecutionRow(
        key=resource_key(doc["id"]),
        agent_id=agent_id_of(job_id),
        job_id=job_id,
        execution_id=props["jobExecutionId"],
        kind=private["kind"],
        step_name=props.get("stepName"),
        create_time=props["createTime"],
        end_time=props.get("endTime"),
        active=props["lifecycle"] in lc.ACTIVE,
        doc=doc,
    )


class ExecutionRecords:
    """Write-through persistence of execution documents in the store.

    Saves from concurrent threads are group-committed (:mod:`group_commit`): one transaction per
    batch, each save returning once its document is committed.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._commits: GroupCommit[dict[str, Any]] = GroupCommit(self.save_all)

    def save(self, doc: dict[str, Any]) -> None:
        """Persist one document (committed before this returns).

        Nothing is written once the job is gone: deleting a job deletes its executions, and a
        still-running attempt must not bring them back.
        """
        self._commits.commit(doc)

    def save_then(self, doc: dict[str, Any], then: Callable[[], None]) -> None:
        """Persist one document without waiting; ``then()`` runs once it is committed (see
        :meth:`GroupCommit.submit`: not at all when the write fails)."""
        self._commits.submit(doc, then)

    def save_all(self, docs: Iterable[dict[str, Any]]) -> None:
        """Persist several documents in one transaction (those of deleted jobs are dropped)."""
        jobs: dict[str, bool] = {}
        with self._store.transaction():
            rows = []
            for doc in docs:
                job_id = doc[PRIVATE]["job_id"]
                if job_id not in jobs:
                    jobs[job_id] = self._store.exists(job_id)
                if jobs[job_id]:
                    rows.append(_row(doc))
            self._store.put_executions(rows)

    def get(self, execution_resource_id: str) -> dict[str, Any] | None:
        """The stored document of an execution resource, or None."""
        return self._store.get_execution(resource_key(execution_resource_id))

    def children(
        self,
        job_id: str,
        execution_id: str,
        kind: str,
        *,
        step_name: str | None = None,
        where: ExecutionFilter = ANY,
    ) -> list[dict[str, Any]]:
        """Step (``kind="step"``) or target documents of one execution (of one step), oldest first."""
        return self._store.find_executions(
            kind, job_id=job_id, execution_id=execution_id, step_name=step_name, **where.store_arguments()
        )

    def roots_of_job(self, job_id: str, where: ExecutionFilter = ANY) -> list[dict[str, Any]]:
        """Root executions of one job, oldest first."""
        return self._store.find_executions("job", job_id=job_id, **where.store_arguments())

    def roots_of_agent(self, agent_id: str, where: ExecutionFilter = ANY) -> list[dict[str, Any]]:
        """Root executions of every job of one agent, oldest first."""
        return self._store.find_executions("job", agent_id=agent_id, **where.store_arguments())

    def active_roots(self, under: str | None = None) -> list[dict[str, Any]]:
        """Root executions that are not finished, of every job or of the jobs at or below ``under``."""
        return self._store.find_executions("job", active=True, under=under)
