"""Which executions' target lists (progress) one details pass of the poller reads.

Within a budget per pass (:data:`DETAILS_PER_POLL`): first the executions whose root state changed,
oldest change first; then, only for watches that opted in with a ``progress_interval``, the running
execution whose progress is oldest, at most one such refresh per agent per ``progress_interval``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from airflow_elasticjobs.triggers.watch import Watch

#: Target lists fetched per agent per poll round (state changes first, then one progress refresh).
DETAILS_PER_POLL = 25


class DetailsChoice(NamedTuple):
    """What one details pass reads."""

    #: Every running watch whose state changed and is not detailed yet, oldest change first.
    changed: list[Watch]
    #: The watches whose target lists are read now (within the budget).
    chosen: list[Watch]
    #: When the next timed progress refresh may be read.
    next_refresh_at: float


def choose_details(
    watches: Iterable[Watch], now: float, budget: int, next_refresh_at: float
) -> DetailsChoice:
    """The target lists to read at ``now`` among ``watches``, at most ``budget`` of them."""
    running = [w for w in watches if not w.ended and w.signature is not None and not w.finished]
    changed = sorted(
        (w for w in running if w.details_wanted_since is not None), key=lambda w: w.details_wanted_since
    )
    chosen = changed[:budget]
    refreshing = [w for w in running if w.progress_interval is not None]
    if refreshing and len(chosen) < budget and now >= next_refresh_at:
        due = [w for w in refreshing if w not in chosen and now - w.details_at >= w.progress_interval]
        if due:
            chosen.append(min(due, key=lambda w: w.details_at))
            next_refresh_at = now + min(w.progress_interval for w in refreshing)
    return DetailsChoice(changed, chosen, next_refresh_at)
