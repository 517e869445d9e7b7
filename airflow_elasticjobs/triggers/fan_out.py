"""The poller's two ways of asking ARM: one agent-wide list (all its pages), and one request per
watch, a few at a time, with each failure kept to the watch it concerns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from airflow_elasticjobs.triggers.watch import Watch

_T = TypeVar("_T")


async def read_pages(
    pages: AsyncIterator[list[Any]], on_page: Callable[[dict[str, Any]], None] = lambda _page: None
) -> tuple[dict[str, Any], int]:
    """Every item of a paged list by lower-case name, and how many pages (requests) it took.

    :param on_page: called with each page's items (by lower-case name) as it arrives, before the
        next page is asked for.
    """
    found: dict[str, Any] = {}
    count = 0
    async for page in pages:
        count += 1
        items = {(e.name or "").lower(): e for e in page}
        on_page(items)
        found |= items
    return found, count


async def per_watch(
    watches: list[Watch], call: Callable[[Watch], Awaitable[_T]], limit: int
) -> tuple[dict[Watch, _T], dict[Watch, Exception]]:
    """``call`` for every watch, at most ``limit`` at a time: results and failures, by watch.

    A failure that concerns the whole agent rather than this execution (authentication: the
    credential is shared) is raised after all calls finished, like a failure of the agent list.
    """
    semaphore = asyncio.Semaphore(limit)

    async def one(watch: Watch) -> _T:
        async with semaphore:
            return await call(watch)

    from azure.core.exceptions import ClientAuthenticationError

    outcomes = await asyncio.gather(*(one(w) for w in watches), return_exceptions=True)
    results: dict[Watch, _T] = {}
    failures: dict[Watch, Exception] = {}
    for watch, outcome in zip(watches, outcomes, strict=True):
        if isinstance(outcome, ClientAuthenticationError) or (
            isinstance(outcome, BaseException) and not isinstance(outcome, Exception)
        ):
            raise outcome
        if isinstance(outcome, Exception):
            failures[watch] = outcome
        else:
            results[watch] = outcome
    return results, failures
