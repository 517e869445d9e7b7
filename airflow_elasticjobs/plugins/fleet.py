"""The fleet picture of one execution: a cell per target database, grouped by step and server.

Compact on purpose (10,000 targets fit in a few hundred kilobytes): a cell is
``[database, lifecycle index, message index, seconds]`` with the lifecycle names and the distinct
last messages listed once. Rows without a database name (a server or pool member's expansion) are
not cells, as they are not counted (:func:`airflow_elasticjobs.execution_state.count_targets`).
"""

from __future__ import annotations

import json
import threading
import weakref
from datetime import datetime
from typing import Any

from airflow_elasticjobs.plugins.execution_view import ExecutionSnapshot

#: Characters of a last message kept for the hover text (the table shows it whole).
MESSAGE_CHARS = 300
#: Bars of the duration histogram at most.
HISTOGRAM_BINS = 20


def duration_seconds(row: dict[str, Any]) -> float | None:
    """Seconds from start to end of a finished target execution; ``None`` while it has no end."""
    if not (row["start_time"] and row["end_time"]):
        return None
    start, end = (datetime.fromisoformat(row[key]) for key in ("start_time", "end_time"))
    return max(0.0, (end - start).total_seconds())


def histogram(durations: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Equal-width bins from 0 to the longest duration.

    ``edges`` are ``len(counts) + 1`` bin bounds in seconds; ``counts`` the durations in each bin.
    """
    if not durations:
        return {"edges": [], "counts": []}
    top = max(durations)
    width = top / bins if top > 0 else 1.0
    counts = [0] * bins
    for value in durations:
        counts[min(int(value / width), bins - 1)] += 1
    return {"edges": [round(width * i, 3) for i in range(bins + 1)], "counts": counts}


def fleet_picture(snap: ExecutionSnapshot) -> dict[str, Any]:
    """The JSON answer of the plugin's ``fleet`` endpoint for one snapshot."""
    lifecycles: dict[str, int] = {}
    messages: dict[str, int] = {}
    groups: dict[tuple[Any, Any], dict[str, Any]] = {}
    durations: list[float] = []
    for row in snap.targets:
        if not row["database_name"]:
            continue
        key = (row["step_id"], row["server_name"])
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "step_id": row["step_id"],
                "step_name": row["step_name"],
                "server_name": row["server_name"],
                "cells": [],
            }
        lifecycle = lifecycles.setdefault(row["lifecycle"] or "", len(lifecycles))
        message = messages.setdefault((row["last_message"] or "")[:MESSAGE_CHARS], len(messages))
        seconds = duration_seconds(row)
        if seconds is not None:
            durations.append(seconds)
        group["cells"].append([row["database_name"], lifecycle, message, seconds])
    return {
        "version": snap.version,
        "active": snap.active,
        "counts": snap.counts,
        "lifecycles": list(lifecycles),
        "messages": list(messages),
        "groups": list(groups.values()),
        "histogram": histogram(durations),
    }


_ENCODED: weakref.WeakKeyDictionary[ExecutionSnapshot, bytes] = weakref.WeakKeyDictionary()
_ENCODED_LOCK = threading.Lock()


def fleet_json(snap: ExecutionSnapshot) -> bytes:
    """:func:`fleet_picture` as JSON bytes, built once per snapshot (kept while the snapshot lives).

    Every open tab asks for the picture of the same snapshot; encoding 10,000 cells is the costly part.
    """
    with _ENCODED_LOCK:
        encoded = _ENCODED.get(snap)
    if encoded is None:
        encoded = json.dumps(fleet_picture(snap), separators=(",", ":")).encode()
        with _ENCODED_LOCK:
            _ENCODED[snap] = encoded
    return encoded
