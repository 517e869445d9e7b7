"""ARM list paging: ``{"value": [...], "nextLink": ...}`` honouring ``$skip`` and ``$top``.

The ``nextLink`` keeps every other query parameter (filters, api-version) so the SDK's pager keeps
filtering on later pages, as ARM does, and asks for the next page with ``$skip`` (the spec's example
``ListJobExecutionsByAgent.json`` shows ``…&%24skip=2``).

A list whose source can read a slice (the execution lists: ``LIMIT``/``OFFSET`` in the store) asks
:func:`window` which items a page needs and hands :func:`page_body` only those, so a page costs
O(page size) however long the list; :func:`paged` slices a list already in memory.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import urlencode

from fastapi import Request

from elasticjobs_emulator.errors import invalid


class PageWindow(NamedTuple):
    """Which items one page request covers: from ``skip``, at most ``top`` in all, ``size`` a page."""

    skip: int
    top: int | None
    size: int

    @property
    def fetch(self) -> int:
        """Items to read from ``skip`` on: one beyond the page tells whether another page follows."""
        return self.size + 1 if self.top is None else min(self.size + 1, self.top)


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


def window(request: Request, page_size: int) -> PageWindow:
    """The ``$skip``/``$top`` window of this request (400 naming a bad parameter)."""
    return PageWindow(_non_negative_int(request, "$skip") or 0, _non_negative_int(request, "$top"), page_size)


def page_body(request: Request, page: PageWindow, fetched: list[dict[str, Any]]) -> dict[str, Any]:
    """One ARM page from ``fetched``: the list's items from ``page.skip`` on, at least ``page.fetch``
    of them when that many remain (more are ignored)."""
    body: dict[str, Any] = {"value": fetched[: page.size]}
    if len(fetched[: page.fetch]) > page.size:
        params = {k: v for k, v in request.query_params.items() if k not in ("$skip", "$top")}
        params["$skip"] = str(page.skip + page.size)
        if page.top is not None:
            params["$top"] = str(page.top - page.size)
        body["nextLink"] = f"{str(request.url).split('?')[0]}?{urlencode(params)}"
    return body


def paged(request: Request, items: list[dict[str, Any]], page_size: int) -> dict[str, Any]:
    """Return one ARM page of ``items`` for this request, with a ``nextLink`` when more remain."""
    page = window(request, page_size)
    return page_body(request, page, items[page.skip : page.skip + page.fetch])
