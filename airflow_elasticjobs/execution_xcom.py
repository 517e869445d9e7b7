"""The start operator's and the sensor's XCom return value: bounded whatever the number of targets."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from airflow_elasticjobs.execution_state import DEFAULT_FAIL_ON, ExecutionSummary, Lifecycle

#: Most target rows the XCom summary lists (failing ones first).
XCOM_MAX_TARGETS = 200
#: Size cap of the XCom summary, in bytes of JSON (ASCII-escaped, as Airflow serialises XComs).
XCOM_MAX_BYTES = 64 * 1024
#: Longest message (characters) kept in the XCom summary; longer ones are clipped and end with "…".
XCOM_MAX_MESSAGE = 1000


def _clip(message: str | None) -> str | None:
    if message is None or len(message) <= XCOM_MAX_MESSAGE:
        return message
    return message[: XCOM_MAX_MESSAGE - 1] + "…"


def _json_size(value: Any) -> int:
    return len(json.dumps(value))


def xcom_summary(summary: ExecutionSummary, fail_on: Iterable[Lifecycle] = DEFAULT_FAIL_ON) -> dict[str, Any]:
    """The task's XCom return value, at most :data:`XCOM_MAX_BYTES` of JSON however many targets.

    Exact counts (per lifecycle and per step), then target rows: the failing ones (lifecycle in
    ``fail_on``) first, then the others, at most :data:`XCOM_MAX_TARGETS` rows and as many as fit
    the byte cap, each message clipped to :data:`XCOM_MAX_MESSAGE` characters.
    ``targets_total`` and ``targets_truncated`` tell whether rows were left out (every target is
    listed in the task's Elastic Jobs tab).
    """
    failing = summary.failing_targets(fail_on)
    listed_first = {id(t) for t in failing}
    ordered = failing + [t for t in summary.targets if id(t) not in listed_first]
    result: dict[str, Any] = {
        "execution_id": summary.execution_id,
        "job_name": summary.job_name,
        "lifecycle": summary.lifecycle.value,
        "last_message": _clip(summary.last_message),
        "counts": summary.counts(),
        "step_counts": summary.step_counts(),
        "failing_total": len(failing),
        "targets_total": len(summary.targets),
        "targets_truncated": False,
        "targets": [],
    }
    room = XCOM_MAX_BYTES - _json_size(result)
    rows = []
    for target in ordered[:XCOM_MAX_TARGETS]:
        row = target.to_dict() | {"last_message": _clip(target.last_message)}
        size = _json_size(row) + 2  # the ", " separating it from the previous row
        if size > room:
            break
        room -= size
        rows.append(row)
    result["targets"] = rows
    result["targets_truncated"] = len(rows) < len(summary.targets)
    return result
