"""Field checks for ARM request bodies; every error names the property path and the fix."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

from elasticjobs_emulator import errors
from elasticjobs_emulator.api.arm import is_child_of, resource_name
from elasticjobs_emulator.context import EmulatorContext


def text(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    """A non-empty string field (None when absent and optional)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise errors.invalid(f"{where}{key}", "is required; pass a non-empty string.")
        return None
    if not isinstance(value, str) or not value.strip():
        raise errors.invalid(f"{where}{key}", "must be a non-empty string.")
    return value


def location(obj: dict[str, Any], *, required: bool) -> str | None:
    """``obj["location"]`` as Azure stores it: lower case without spaces ("Japan East" -> "japaneast")."""
    value = text(obj, "location", "", required=required)
    return None if value is None else value.replace(" ", "").lower()


def choice(obj: dict[str, Any], key: str, where: str, choices: Sequence[str], default: str | None) -> str:
    """One of ``choices`` (matched case-insensitively, returned in canonical casing)."""
    value = obj.get(key, default)
    if value is None:
        raise errors.invalid(f"{where}{key}", f"is required; use one of {', '.join(choices)}.")
    for candidate in choices:
        if isinstance(value, str) and value.lower() == candidate.lower():
            return candidate
    raise errors.invalid(f"{where}{key}", f"'{value}' is not supported; use one of {', '.join(choices)}.")


def integer(obj: dict[str, Any], key: str, where: str, default: int, minimum: int) -> int:
    """A whole number >= ``minimum`` (``default`` when absent)."""
    value = obj.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise errors.invalid(f"{where}{key}", f"'{value}' is not a whole number.")
    if value < minimum:
        raise errors.invalid(f"{where}{key}", f"{int(value)} is too small; pass a whole number >= {minimum}.")
    return int(value)


def number(obj: dict[str, Any], key: str, where: str, default: float, minimum: float) -> float:
    """A number >= ``minimum`` (``default`` when absent)."""
    value = obj.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.invalid(f"{where}{key}", f"'{value}' is not a number.")
    if value < minimum:
        raise errors.invalid(f"{where}{key}", f"{value} is too small; pass a number >= {minimum}.")
    return float(value)


def boolean(obj: dict[str, Any], key: str, where: str, default: bool) -> bool:
    """A JSON boolean (``default`` when absent)."""
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise errors.invalid(f"{where}{key}", f"'{value}' is not a boolean; pass true or false.")
    return value


def sub_object(obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> dict[str, Any] | None:
    """A nested JSON object (None when absent and optional)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise errors.invalid(f"{where}{key}", "is required; pass a JSON object.")
        return None
    if not isinstance(value, dict):
        raise errors.invalid(f"{where}{key}", "must be a JSON object.")
    return value


def child_reference(
    context: EmulatorContext, value: Any, where: str, parent_id: str, child_type: str, label: str
) -> str:
    """The id of an existing ``{parent_id}/{child_type}/{name}`` resource, as stored."""
    if not isinstance(value, str) or not value:
        raise errors.invalid(where, f"is required; pass the resource id of a {label} of '{parent_id}'.")
    if not is_child_of(value, parent_id, child_type):
        raise errors.invalid(
            where,
            f"'{value}' is not a {label} id of job agent '{resource_name(parent_id)}'; "
            f"pass an id like '{parent_id}/{child_type}/<name>'.",
            code="InvalidResourceId",
        )
    doc = context.store.get(value)
    if doc is None:
        raise errors.invalid(
            where,
            f"{label} '{resource_name(value)}' does not exist; create it first.",
            code="InvalidResourceId",
        )
    return doc["id"]


_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def duration(value: Any, where: str) -> str:
    """An ISO 8601 duration such as ``PT15M``, ``PT1H``, ``P1D``, ``P1W`` or ``P1M`` (not zero)."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or not any(int(part) for part in match.groupdict(default="0").values()):
        raise errors.invalid(
            where,
            f"'{value}' is not a positive ISO 8601 duration; use e.g. PT15M, PT1H, P1D, P1W or P1M.",
            code="InvalidDuration",
        )
    return value


def timestamp(value: Any, where: str) -> datetime.datetime:
    """An ISO 8601 date-time with a UTC offset (``Z`` or ``±hh:mm``), as an aware datetime."""
    if isinstance(value, str):
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if parsed.tzinfo is not None:
                return parsed.astimezone(datetime.UTC)
        except (ValueError, OverflowError):
            pass
    raise errors.invalid(
        where, f"'{value}' is not an ISO 8601 date-time with offset, e.g. 2025-01-01T00:00:00Z."
    )


def format_timestamp(value: datetime.datetime) -> str:
    """ARM's UTC form: ``2025-01-01T00:00:00Z`` (fractions kept when present)."""
    text_value = value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat()
    return f"{text_value}Z"
