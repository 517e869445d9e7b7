"""What the task-instance view shows: one execution's steps and per-target rows, as plain JSON.

Arranges ``azure.mgmt.sql.models.JobExecution`` objects (root, step and target executions as the
SDK returns them) into an :class:`ExecutionSnapshot` (built once per read of the execution), then
answers pages of it (:func:`page_view`); the conversion, the counts and the active/terminal
judgement are :mod:`airflow_elasticjobs.execution_state`'s. No I/O, no secrets: only names,
lifecycles, attempts, times and ARM's own messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_elasticjobs.execution_state import TargetResult, count_targets, execution_values, is_terminal
from airflow_elasticjobs.plugins.task_definition import ExecutionRef

#: Target rows per page at most (the tab asks for fewer).
MAX_PAGE = 500


#: The fields of a root or step execution's row (a target row has every field of
#: :func:`~airflow_elasticjobs.execution_state.execution_values`).
_ROW_FIELDS = ("lifecycle", "attempts", "create_time", "start_time", "end_time", "last_message")


def _row(execution: Any, *extra: str) -> dict[str, Any]:
    """The plain values of ``execution`` the view shows: ``extra`` fields, then the common ones."""
    values = execution_values(execution)
    return {name: values[name] for name in (*extra, *_ROW_FIELDS)}


def target_values(execution: Any) -> dict[str, Any]:
    """:func:`~airflow_elasticjobs.execution_state.execution_values` of a target execution, fast.

    The SDK's models deserialise a field on every attribute read (about 1 ms per target execution,
    10 s for 10,000); they are mappings over ARM's JSON, read in microseconds. Same keys and
    values; times are ISO 8601 as ARM wrote them. Other objects go through ``execution_values``.
    """
    if not isinstance(execution, Mapping):
        return execution_values(execution)
    properties = execution.get("properties") or {}
    target = properties.get("target") or {}
    return {
        "step_id": properties.get("stepId"),
        "step_name": properties.get("stepName"),
        "server_name": target.get("serverName"),
        "database_name": target.get("databaseName"),
        "target_type": target.get("type"),
        "lifecycle": properties.get("lifecycle"),
        "attempts": properties.get("currentAttempts"),
        "create_time": properties.get("createTime"),
        "start_time": properties.get("startTime"),
        "end_time": properties.get("endTime"),
        "last_message": properties.get("lastMessage"),
    }


def _target_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Step, server, database, then type and time: a stable order, so pages neither repeat nor skip."""
    keys = ("server_name", "database_name", "target_type", "create_time")
    return (row["step_id"] or 0, *(row[key] or "" for key in keys))


@dataclass(frozen=True, eq=False)
class ExecutionSnapshot:
    """One read of an execution: what every page and the fleet picture are cut from.

    Compared and hashed by identity: each read is its own snapshot (the fleet's JSON is kept per
    snapshot, :func:`airflow_elasticjobs.plugins.fleet.fleet_json`).

    ``version`` changes whenever anything shown changes (a digest of the rows), so a browser that
    already has the fleet picture of this version need not fetch it again.
    """

    execution: dict[str, Any]
    agent: dict[str, Any]
    active: bool
    counts: dict[str, int]
    steps: list[dict[str, Any]]
    #: Every target row, sorted by step, server, database.
    targets: list[dict[str, Any]]
    servers: list[str]
    version: str


def snapshot(
    ref: ExecutionRef, agent: Any, root: Any, steps: list[Any], targets: list[Any]
) -> ExecutionSnapshot:
    """The snapshot of one execution read from ARM.

    ``agent`` is the hook's :class:`~airflow_elasticjobs.hooks.resource_ids.AgentRef` (the names in
    use after the connection's defaults). ``targets`` are per-target executions of every step;
    ``counts`` cover every target. Rows without a database name (the execution that expands a
    server or pool member into databases) are listed but not counted, as in
    :class:`airflow_elasticjobs.execution_state.ExecutionSummary`.
    """
    target_rows = sorted((target_values(execution) for execution in targets), key=_target_order)
    step_rows = sorted((_row(s, "step_id", "step_name") for s in steps), key=lambda r: r["step_id"] or 0)
    counts = count_targets(
        TargetResult.from_dict({**row, "lifecycle": row["lifecycle"] or ""}) for row in target_rows
    )
    execution = {"job_name": ref.job_name, "execution_id": ref.execution_id, **_row(root)}
    execution["job_version"] = root.job_version
    digest = hashlib.blake2b(
        json.dumps([execution, step_rows, target_rows], default=str).encode(), digest_size=12
    ).hexdigest()
    return ExecutionSnapshot(
        execution=execution,
        agent={
            "resource_group_name": agent.resource_group_name,
            "server_name": agent.server_name,
            "agent_name": agent.agent_name,
        },
        active=not is_terminal(execution["lifecycle"]),
        counts=dict(sorted(counts.items())),
        steps=step_rows,
        targets=target_rows,
        servers=sorted({row["server_name"] for row in target_rows if row["server_name"]}),
        version=digest,
    )


@dataclass(frozen=True)
class TargetPage:
    """Which target rows to return: filters first, then ``offset``/``limit`` over what matched.

    ``name`` matches a substring of the database name, ignoring case; the other filters match exactly.
    """

    offset: int = 0
    limit: int = 100
    lifecycle: str | None = None
    step_id: int | None = None
    server: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise ValueError(f"offset={self.offset!r} is invalid: use 0 or more")
        if not 1 <= self.limit <= MAX_PAGE:
            raise ValueError(f"limit={self.limit!r} is invalid: use 1 to {MAX_PAGE}")

    def matches(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` passes every filter that is set."""
        needle = self.name.casefold() if self.name else None
        return (
            (self.lifecycle is None or row["lifecycle"] == self.lifecycle)
            and (self.step_id is None or row["step_id"] == self.step_id)
            and (self.server is None or row["server_name"] == self.server)
            and (needle is None or needle in (row["database_name"] or "").casefold())
        )

    def select(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """The page of ``rows`` (already sorted) and how many rows matched the filters."""
        if (self.lifecycle, self.step_id, self.server, self.name) == (None, None, None, None):
            return rows[self.offset : self.offset + self.limit], len(rows)
        matched = [row for row in rows if self.matches(row)]
        return matched[self.offset : self.offset + self.limit], len(matched)


def page_view(
    snap: ExecutionSnapshot, page: TargetPage, portal_or_emulator_url: str | None
) -> dict[str, Any]:
    """The JSON answer of the plugin's ``execution`` endpoint: the snapshot's summary and one page.

    ``targets`` is the ``page``; ``total`` is how many rows match its filters; ``counts`` and
    ``steps`` always cover the whole execution.
    """
    rows, total = page.select(snap.targets)
    return {
        "execution": snap.execution,
        "agent": snap.agent,
        "active": snap.active,
        "counts": snap.counts,
        "steps": snap.steps,
        "servers": snap.servers,
        "targets": rows,
        "total": total,
        "offset": page.offset,
        "limit": page.limit,
        "url": portal_or_emulator_url,
        "version": snap.version,
    }
