"""What the task-instance view shows: one execution's steps and per-target rows, as plain JSON.

Pure conversion of ``azure.mgmt.sql.models.JobExecution`` objects (root, step and target executions
as the SDK returns them) into the JSON the browser view renders. No I/O, no secrets: only names,
lifecycles, attempts, times and ARM's own messages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_elasticjobs.execution_state import ACTIVE, Lifecycle
from airflow_elasticjobs.plugins.task_definition import ExecutionRef

#: Target rows per page at most (the tab asks for fewer).
MAX_PAGE = 500


def _enum_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _row(execution: Any) -> dict[str, Any]:
    """Fields common to root, step and target executions."""
    return {
        "lifecycle": _enum_text(execution.lifecycle),
        "attempts": execution.current_attempts,
        "create_time": _time(execution.create_time),
        "start_time": _time(execution.start_time),
        "end_time": _time(execution.end_time),
        "last_message": execution.last_message,
    }


def _target_row(execution: Any) -> dict[str, Any]:
    target = execution.target
    return {
        "step_id": execution.step_id,
        "step_name": execution.step_name,
        "server_name": getattr(target, "server_name", None),
        "database_name": getattr(target, "database_name", None),
        "target_type": _enum_text(getattr(target, "type", None)),
        **_row(execution),
    }


def _target_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Step, server, database, then type and time: a stable order, so pages neither repeat nor skip."""
    keys = ("server_name", "database_name", "target_type", "create_time")
    return (row["step_id"] or 0, *(row[key] or "" for key in keys))


def _is_active(lifecycle: str | None) -> bool:
    try:
        return Lifecycle.observed(lifecycle) in ACTIVE
    except ValueError:
        return True  # a lifecycle this version does not know: keep refreshing rather than freeze


@dataclass(frozen=True)
class TargetPage:
    """Which target rows to return: filters first, then ``offset``/``limit`` over what matched."""

    offset: int = 0
    limit: int = 100
    lifecycle: str | None = None
    step_id: int | None = None

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise ValueError(f"offset={self.offset!r} is invalid: use 0 or more")
        if not 1 <= self.limit <= MAX_PAGE:
            raise ValueError(f"limit={self.limit!r} is invalid: use 1 to {MAX_PAGE}")

    def select(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """The page of ``rows`` (already sorted) and how many rows matched the filters."""
        matched = [
            r
            for r in rows
            if (self.lifecycle is None or r["lifecycle"] == self.lifecycle)
            and (self.step_id is None or r["step_id"] == self.step_id)
        ]
        return matched[self.offset : self.offset + self.limit], len(matched)


def build_view(
    ref: ExecutionRef,
    agent: Any,
    root: Any,
    steps: list[Any],
    targets: list[Any],
    portal_or_emulator_url: str | None,
    page: TargetPage,
) -> dict[str, Any]:
    """The JSON answer of the plugin's endpoint for one execution.

    ``agent`` is the hook's :class:`~airflow_elasticjobs.hooks.resource_ids.AgentRef` (the names in
    use after the connection's defaults). ``targets`` are per-target executions of every step; the
    answer holds the ``page`` of them, ``total`` (rows matching the page's filters) and ``counts``
    over every target. Rows without a database name (the execution that expands a server or pool
    member into databases) are listed but not counted, as in
    :class:`airflow_elasticjobs.execution_state.ExecutionSummary`.
    """
    target_rows = sorted((_target_row(execution) for execution in targets), key=_target_order)
    step_rows = sorted(
        ({"step_id": s.step_id, "step_name": s.step_name, **_row(s)} for s in steps),
        key=lambda r: r["step_id"] or 0,
    )
    counts = Counter(r["lifecycle"] for r in target_rows if r["database_name"])
    execution = {"job_name": ref.job_name, "execution_id": ref.execution_id, **_row(root)}
    execution["job_version"] = root.job_version
    rows, total = page.select(target_rows)
    return {
        "execution": execution,
        "agent": {
            "resource_group_name": agent.resource_group_name,
            "server_name": agent.server_name,
            "agent_name": agent.agent_name,
        },
        "active": _is_active(execution["lifecycle"]),
        "counts": dict(sorted(counts.items())),
        "steps": step_rows,
        "targets": rows,
        "total": total,
        "offset": page.offset,
        "limit": page.limit,
        "url": portal_or_emulator_url,
    }
