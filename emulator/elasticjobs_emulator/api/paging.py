"""ARM list paging: ``{"value": [...], "nextLink": ...}`` honouring ``$skip`` and ``$top``.

The ``nextLink`` keeps every other query parameter (filters, api-version) so the SDK's pager keeps
filtering on later pages, as ARM does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from elasticjobs_emulator.errors import invalid


def _non_negative_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"'{raw}' is not an integer; pass a whole number >= 0.") from None
    if value < 0:
        raise invalid(name, f"{value} is negative; pass a whole number >= 0.")
    return value


def paged(request: Request, items: list[dict[str, Any]], page_size: int) -> dict[str, Any]:
    """Return one ARM page of ``items`` for this request, with a ``nextLink`` when more remain."""
    skip = _non_negative_int(request, "$skip") or 0
    top = _non_negative_int(request, "$top")
    remaining = items[skip:]
    if top is not None:
        remaining = remaining[:top]
    page = remaining[:page_size]
    body: dict[str, Any] = {"value": page}
    if len(remaining) > page_size:
        params = {k: v for k, v in request.query_params.items() if k not in ("$skip", "$top")}
        params["$skip"] = str(skip + page_size)
        if top is not None:
            params["$top"] = str(top - page_size)
        body["nextLink"] = f"{str(request.url).split('?')[0]}?{urlencode(params)}"
    return body
