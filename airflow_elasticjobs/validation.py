"""Argument validation shared by the operators: every error names the field, the value and the fix.

Checks run in operator ``__init__`` (DAG parse time) for literal values and again in ``execute``
after templates are rendered, always before any remote call. Values that still contain a Jinja
expression (``{{ … }}``) are skipped at parse time.

Naming rules, from Azure's resource name rules for ``Microsoft.Sql`` (learn.microsoft.com
"Naming rules and restrictions for Azure resources", mirrored by PSRule ``Azure.SQL.JobAgentNaming``):
resource groups 1-90 letters, digits and ``-_.()`` not ending with a period; servers 1-63 lowercase
letters, digits and hyphens, not starting or ending with a hyphen; databases,
job agents and the resources under an agent 1-128 characters, none of ``<>*%&:\\/?``, no control
characters, not ending with a period or a space.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

AGENT_SKUS: dict[str, int] = {"JA100": 100, "JA200": 200, "JA400": 400, "JA800": 800}
"""Elastic Job agent service tiers and their capacity (concurrent target databases)."""

_RESOURCE_GROUP = re.compile(r"^[-\w._()]{0,89}[-\w_()]$")
_SERVER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_FORBIDDEN = set("<>*%&:\\/?")
_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<Y>\d+)Y)?(?:(?P<Mo>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<H>\d+)H)?(?:(?P<Mi>\d+)M)?(?:(?P<S>\d+)S)?)?$"
)
INTERVAL_TYPES = {"Minute": "PT{n}M", "Hour": "PT{n}H", "Day": "P{n}D", "Week": "P{n}W", "Month": "P{n}M"}
"""The ``-IntervalType`` values of ``Set-AzSqlElasticJob`` and the ISO 8601 duration each makes."""


class ElasticJobsValidationError(ValueError):
    """An operator argument is invalid; the message names the field and the fix."""


def invalid(field: str, value: Any, fix: str) -> ElasticJobsValidationError:
    """Build the standard error: ``<field>=<value>: <fix>``."""
    return ElasticJobsValidationError(f"{field}={value!r} is invalid: {fix}")


def is_templated(value: Any) -> bool:
    """Whether ``value`` is only known at run time: a Jinja string or an ``XComArg``/other reference."""
    if hasattr(value, "iter_references"):
        return True
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def require(field: str, value: Any, fix: str) -> None:
    """Fail when ``value`` is missing or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise invalid(field, value, fix)


def check_name(field: str, value: Any, *, required: bool = True) -> None:
    """Validate a database, agent, credential, target group, job or step name."""
    if value is None and not required:
        return
    if is_templated(value):
        return
    if not isinstance(value, str) or not value:
        raise invalid(field, value, "give a non-empty name (1-128 characters)")
    if len(value) > 128:
        raise invalid(field, value, f"use at most 128 characters (got {len(value)})")
    bad = sorted({c for c in value if c in _FORBIDDEN or ord(c) < 32})
    if bad:
        raise invalid(field, value, f"remove the characters {''.join(bad)!r} (not allowed: <>*%&:\\/?)")
    if value[-1] in ". ":
        raise invalid(field, value, "do not end the name with a period or a space")


def check_server_name(field: str, value: Any, *, required: bool = True) -> None:
    """Validate a logical server name (1-63 lowercase letters, digits, hyphens)."""
    if (value is None and not required) or is_templated(value):
        return
    if not isinstance(value, str) or not _SERVER_NAME.match(value):
        raise invalid(
            field,
            value,
            "use 1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen "
            "(the name only, without .database.windows.net)",
        )


def check_resource_group(field: str, value: Any, *, required: bool = True) -> None:
    """Validate a resource group name (1-90 letters, digits, ``-_.()``, not ending with a period)."""
    if (value is None and not required) or is_templated(value):
        return
    if not isinstance(value, str) or not _RESOURCE_GROUP.match(value):
        raise invalid(
            field, value, "use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending with '.'"
        )


def check_conn_id(field: str, value: Any, *, required: bool = True) -> None:
    """Validate an Airflow connection id argument."""
    if (value is None and not required) or is_templated(value):
        return
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, value, "give the id of an Airflow connection holding the login and password")


def check_sku(field: str, value: Any) -> None:
    """Validate an Elastic Job agent service tier."""
    if is_templated(value):
        return
    if value not in AGENT_SKUS:
        raise invalid(field, value, f"use one of {', '.join(AGENT_SKUS)}")


def check_interval(field: str, value: Any) -> None:
    """Validate an ISO 8601 duration such as ``PT1H``, ``PT15M``, ``P1D``, ``P1W`` or ``P1M``."""
    if is_templated(value):
        return
    match = _ISO_DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(field, value, "use an ISO 8601 duration such as PT15M, PT1H, P1D, P1W or P1M")
    if not any(int(v) for v in match.groupdict().values() if v):
        raise invalid(field, value, "use a duration longer than zero, e.g. PT1H")


def interval_from_friendly(interval_type: str, interval_count: Any) -> str:
    """``("Hour", 1)`` → ``"PT1H"`` (the PowerShell ``-IntervalType/-IntervalCount`` pair)."""
    if interval_type not in INTERVAL_TYPES:
        raise invalid("interval_type", interval_type, f"use one of {', '.join(INTERVAL_TYPES)}")
    if isinstance(interval_count, bool) or not isinstance(interval_count, int) or interval_count < 1:
        raise invalid("interval_count", interval_count, "use a whole number ≥ 1")
    return INTERVAL_TYPES[interval_type].format(n=interval_count)


def parse_time(field: str, value: Any) -> datetime | None:
    """Parse an ISO 8601 timestamp (or pass a ``datetime`` through); must carry a time zone."""
    if value is None or is_templated(value):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise invalid(field, value, "use an ISO 8601 timestamp such as 2025-01-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise invalid(field, value, "add a time zone, e.g. a trailing Z for UTC")
    return parsed


def check_positive_int(field: str, value: Any, *, minimum: int = 1) -> None:
    """Validate an integer option (``None`` means the service default)."""
    if value is None or is_templated(value):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid(field, value, f"use a whole number ≥ {minimum}")
