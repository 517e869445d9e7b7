"""Which ends the poller's next ended list reads: a window in ARM's clock, not the triggerer's.

The triggerer's clock and the one that stamps ``endTime`` may differ. An execution listed with
``endTime`` e when our clock read t proves ARM's clock was at least e - t ahead (negative: behind),
and so does a response's ``Date`` header d (ARM's clock, whole seconds) read by t;
:class:`EndedCursor` keeps the largest such bound. A listing reads the ends from the previous
listing's start (in ARM's clock, by that bound) minus :data:`ENDED_OVERLAP`, and never from later
than where the previous window stopped; before any bound was learnt, from the previous listing's
start minus :data:`ENDED_LOOKBACK`. Once ``Date`` headers give ARM's clock, the
window stops at the listing's own start (plus :data:`ARM_CLOCK_SLACK`), so executions that end while
a long list is read are left to the next round instead of being chased page after page. Without
them (a bound learnt from ends alone may lag ARM's clock, and an upper bound would keep it from
learning more) it has no upper bound. The bound only grows, so the window never jumps back.

While many end together (the previous listing's newest part took more than one page), a listing
is read in two parts, newest first: the ends since the previous window stopped, then the part of
the window the previous listing read already (its overlap and slack, reread only for ends that
became visible late), so the ends not yet delivered do not wait behind pages of delivered ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

#: How far before the previous listing the ended list reaches while the ARM clock's lead is unknown.
ENDED_LOOKBACK = timedelta(minutes=2)
#: How far before the previous listing's start (in ARM's clock) the ended list reaches: an execution
#: whose end is written with an earlier ``endTime`` but becomes visible a little later. Every round
#: rereads the ends of this window, so it is short: when thousands end together, a long one made
#: each round reread thousands of ends already delivered before it reached the newest. An end that
#: becomes visible later still is found by the next active list (missing from it: one ``GET``), as
#: an end before the lookback is.
ENDED_OVERLAP = timedelta(seconds=1)
#: How far past the bound learnt from ``Date`` headers ARM's clock may be: they count whole seconds,
#: and a server may refresh the header once a second (uvicorn, the emulator's server, does).
ARM_CLOCK_SLACK = timedelta(seconds=2)


class EndedCursor:
    """The ``endTimeMin`` and ``endTimeMax`` of one agent's next ended list.

    :param wall_clock: UTC wall clock (injectable for tests).
    """

    def __init__(self, wall_clock: Callable[[], datetime]) -> None:
        self._wall_clock = wall_clock
        #: When the previous ended list started (our clock); ``None`` before the first round.
        self._previous_listing: datetime | None = None
        self._arm_lead: timedelta | None = None
        #: Whether a ``Date`` header taught the bound (it then follows ARM's clock within ARM_CLOCK_SLACK).
        self._dated = False
        #: Where the previous listing's window stopped (ARM's clock); ``None``: it had no upper bound.
        self._previous_until: datetime | None = None
        #: Pages the previous listing's newest part took.
        self._previous_pages = 1

    def window(self, started: datetime) -> tuple[datetime, datetime | None]:
        """``endTimeMin`` and ``endTimeMax`` of a listing starting now (``started``, our clock).

        The upper bound is ARM's clock at ``started`` as ``Date`` headers told it (``None`` while
        they did not); the next window starts no later than it, so nothing after it is missed.
        """
        previous = self._previous_listing or started
        if self._arm_lead is None:
            return previous - ENDED_LOOKBACK, None
        since = previous + self._arm_lead - ENDED_OVERLAP
        if self._previous_until is not None:
            since = min(since, self._previous_until)
        until = started + self._arm_lead + self._slack() if self._dated else None
        return since, until

    def _slack(self) -> timedelta:
        """:data:`ARM_CLOCK_SLACK`; none while many end together (the previous listing's newest part
        took more than one page): ends listed moments ago then bound ARM's clock more tightly than
        ``Date``, and an end the window stops short of is the next listing's first."""
        return ARM_CLOCK_SLACK if self._previous_pages <= 1 else timedelta(0)

    def parts(self, started: datetime) -> list[tuple[datetime, datetime | None]]:
        """The :meth:`window` of a listing starting now, as the ``endTimeMin``/``endTimeMax`` of the
        listings to read in turn: newest first (ends since the previous window stopped, then the
        rest) when the previous listing's newest part took more than one page, else one."""
        since, until = self.window(started)
        fresh_from = self._previous_until
        if self._previous_pages > 1 and fresh_from is not None and since < fresh_from:
            return [(fresh_from, until), (since, fresh_from)]
        return [(since, until)]

    def listed(self, started: datetime, until: datetime | None, newest_pages: int = 1) -> None:
        """Record a listing that started at ``started`` (our clock) and read ends up to ``until``,
        its newest part (the first of :meth:`parts`) in ``newest_pages`` pages."""
        self._previous_listing = started
        self._previous_until = until
        self._previous_pages = newest_pages

    def learn(self, ended: Iterable[Any], server_date: datetime | None = None) -> None:
        """Raise the lower bound of ARM's clock lead from executions just read (their ``end_time``)
        and from the ``Date`` header of a response received by now (``server_date``)."""
        arrived = self._wall_clock()
        leads = [e.end_time - arrived for e in ended if e.end_time is not None]
        if server_date is not None:
            leads.append(server_date - arrived)
            self._dated = True
        if self._arm_lead is not None:
            leads.append(self._arm_lead)
        self._arm_lead = max(leads, default=None)

    def reach_back_from(self, began: datetime) -> None:
        """The first ended list reaches back from the first round (``began``), not only its own start."""
        self._previous_listing = self._previous_listing or began
