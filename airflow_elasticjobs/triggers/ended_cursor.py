"""Where the poller's ended list starts: a cursor in ARM's clock, not the triggerer's.

The triggerer's clock and the one that stamps ``endTime`` may differ. An execution listed with
``endTime`` e when our clock read t proves ARM's clock was at least e - t ahead (negative: behind);
:class:`EndedCursor` keeps the largest such bound and lists from the previous listing's start plus
that bound, minus :data:`ENDED_OVERLAP`; before any end was seen, from the previous listing's start
minus :data:`ENDED_LOOKBACK`. The bound only grows, so the cursor never jumps back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

#: How far before the previous listing the ended list reaches while the ARM clock's lead is unknown.
ENDED_LOOKBACK = timedelta(minutes=2)
#: How far before the previous listing (in ARM's clock) the ended list reaches once that lead is known:
#: an execution whose end is written with an earlier ``endTime`` but becomes visible a little later.
ENDED_OVERLAP = timedelta(seconds=15)


class EndedCursor:
    """The ``endTimeMin`` of one agent's next ended list.

    :param wall_clock: UTC wall clock (injectable for tests).
    """

    def __init__(self, wall_clock: Callable[[], datetime]) -> None:
        self._wall_clock = wall_clock
        #: When the previous ended list started (our clock); ``None`` before the first round.
        self.previous_listing: datetime | None = None
        self._arm_lead: timedelta | None = None

    def since(self, started: datetime) -> datetime:
        """The ``endTimeMin`` of a listing starting now (``started``, our clock)."""
        previous = self.previous_listing or started
        if self._arm_lead is None:
            return previous - ENDED_LOOKBACK
        return previous + self._arm_lead - ENDED_OVERLAP

    def learn(self, ended: Iterable[Any]) -> None:
        """Raise the lower bound of ARM's clock lead from executions just read (their ``end_time``)."""
        arrived = self._wall_clock()
        leads = [e.end_time - arrived for e in ended if e.end_time is not None]
        if self._arm_lead is not None:
            leads.append(self._arm_lead)
        self._arm_lead = max(leads, default=None)

    def reach_back_from(self, began: datetime) -> None:
        """The first ended list reaches back from the first round (``began``), not only its own start."""
        self.previous_listing = self.previous_listing or began
