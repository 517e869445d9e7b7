"""Pieces shared by the start operator and the execution sensor: argument parsing and trigger events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from airflow_elasticjobs.compat import AirflowException, AirflowTaskTimeout
from airflow_elasticjobs.execution_state import TERMINAL, Lifecycle
from airflow_elasticjobs.validation import invalid, is_templated


def seconds(
    field: str, value: float | timedelta | None, *, allow_none: bool = True, allow_zero: bool = False
) -> float | None:
    """A positive (with ``allow_zero``: non-negative) duration in seconds from a number or a
    ``timedelta``; the error names ``field``."""
    if value is None and allow_none:
        return None
    if is_templated(value):
        raise invalid(field, value, "this argument is not templated; give a number of seconds or a timedelta")
    number = value.total_seconds() if isinstance(value, timedelta) else value
    if (
        isinstance(number, bool)
        or not isinstance(number, int | float)
        or number < 0
        or not (allow_zero or number)
    ):
        fix = "a number of seconds >= 0" if allow_zero else "a positive number of seconds"
        raise invalid(field, value, f"use {fix} or a timedelta")
    return float(number)


def lifecycles(
    field: str, values: Iterable[str | Lifecycle], *, terminal_only: bool = False
) -> frozenset[Lifecycle]:
    """Parse lifecycle names given for ``field``; with ``terminal_only``, reject active ones."""
    try:
        states = Lifecycle.parse_many(field, values)
    except ValueError as err:
        raise invalid(field, values, str(err)) from None
    if terminal_only and not states <= TERMINAL:
        active = sorted(s.value for s in states - TERMINAL)
        raise invalid(
            field, values, f"{active} are not terminal; choose from {sorted(s.value for s in TERMINAL)}"
        )
    return states


def check_event(event: Any, timeout_error: type[Exception] = AirflowTaskTimeout) -> Mapping[str, Any]:
    """Validate a trigger event payload; raise with its message unless it says ``done``.

    :param timeout_error: raised (with the event's message) for a ``timeout`` event.
    """
    if not isinstance(event, Mapping) or event.get("status") not in ("done", "timeout", "error"):
        raise AirflowException(
            f"Unexpected trigger event {event!r}; expected a status of done/timeout/error."
        )
    if event["status"] == "timeout":
        raise timeout_error(event.get("message"))
    if event["status"] == "error":
        raise AirflowException(
            f"Waiting for execution {event.get('execution_id')} failed: {event.get('message')} "
            "(the execution was not cancelled)."
        )
    return event
