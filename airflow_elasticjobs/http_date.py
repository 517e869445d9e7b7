"""HTTP dates (RFC 9110 IMF-fixdate, e.g. ``Mon, 07 Mar 2022 18:07:37 GMT``) as the provider reads
them: the ``Date`` of an ARM response (ARM's clock) and a ``Retry-After`` given as a date."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_http_date(value: str | None) -> datetime | None:
    """``value`` as an aware UTC datetime; ``None`` if absent or not an HTTP date."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None
