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


@dataclass(frozen=True)
class ExecutionRef:
    """Where a task instance's execution lives, as pushed to XCom by the execution link.

    See :attr:`airflow_elasticjobs.links.elastic_jobs.ElasticJobsExecutionLink.ref_key`.
    """

    conn_id: str
    resource_group_name: str
    server_name: str
    agent_name: str
    job_name: str
    execution_id: str

    @classmethod
    def from_xcom(cls, value: Any) -> ExecutionRef:
        """Validate the XCom value.

        :raises ValueError: naming the missing or malformed field.
        """
        if not isinstance(value, dict):
            raise ValueError(f"the execution reference must be a JSON object, got {type(value).__name__}")
        fields = {}
        for name in cls.__dataclass_fields__:
            field_value = value.get(name)
            if not isinstance(field_value, str) or not field_value:
                raise ValueError(f"the execution reference has no {name!r}; re-run the task to push it again")
            fields[name] = field_value
        return cls(**fields)


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


def _is_active(lifecycle: str | None) -> bool:
    try:
        return Lifecycle.parse(lifecycle) in ACTIVE
    except ValueError:
        return True  # a lifecycle this version does not know: keep refreshing rather than freeze


def build_view(
    ref: ExecutionRef, root: Any, steps: list[Any], targets: list[Any], portal_or_emulator_url: str | None
) -> dict[str, Any]:
    """The JSON answer of the plugin's endpoint for one execution.

    ``targets`` are per-target executions of every step. Rows without a database name (the
    execution that expands a server or pool member into databases) are listed but not counted, as in
    :class:`airflow_elasticjobs.execution_state.ExecutionSummary`.
    """
    target_rows = []
    for execution in targets:
        target = execution.target
        target_rows.append(
            {
                "step_id": execution.step_id,
                "step_name": execution.step_name,
                "server_name": getattr(target, "server_name", None),
                "database_name": getattr(target, "database_name", None),
                "target_type": _enum_text(getattr(target, "type", None)),
                **_row(execution),
            }
        )
    target_rows.sort(key=lambda r: (r["step_id"] or 0, r["server_name"] or "", r["database_name"] or ""))
    step_rows = sorted(
        ({"step_id": s.step_id, "step_name": s.step_name, **_row(s)} for s in steps),
        key=lambda r: r["step_id"] or 0,
    )
    counts = Counter(r["lifecycle"] for r in target_rows if r["database_name"])
    execution = {"job_name": ref.job_name, "execution_id": ref.execution_id, **_row(root)}
    execution["job_version"] = root.job_version
    return {
        "execution": execution,
        "agent": {
            "resource_group_name": ref.resource_group_name,
            "server_name": ref.server_name,
            "agent_name": ref.agent_name,
        },
        "active": _is_active(execution["lifecycle"]),
        "counts": dict(sorted(counts.items())),
        "steps": step_rows,
        "targets": target_rows,
        "url": portal_or_emulator_url,
    }
