"""How every wait survives transient faults: what is worth retrying, how long to back off, when to give up.

What happens on a 503 (or a 429, another 5xx, a dropped connection, a read timeout, an expired token)?

1. azure-core's ``RetryPolicy`` (configured in :mod:`airflow_elasticjobs.hooks.connection`) retries
   the single request first.
2. When the SDK gives up, the *wait* around it does not: :func:`is_transient` calls the error
   transient, :class:`Backoff` picks the delay (exponential with jitter, never shorter than the
   server's ``Retry-After``) and the wait tries again.
3. :class:`FaultBudget` counts the time since the last successful call; only when transient
   failures outlast it (``error_budget``, default 900 s) does the wait give up with
   :class:`GaveUp`, and the caller fails the task or fires an ``error`` event. A transient fault
   never cancels an execution (``docs/execution-semantics.md``, ``docs/reliability.md``).
4. A permanent error (400, 403, 404, a rejected identity, …) gives up at once.

Transient: HTTP 408, 429 (honouring ``Retry-After``), 5xx, dropped or refused connections, read
timeouts, and authentication failures (an expired or not-yet-refreshed token; the credential
fetches a new one on the next call) except an identity Entra ID rejects or that does not exist
(:func:`~airflow_elasticjobs.hooks.errors.is_rejected_identity`). Everything else (400, 403, 404, …)
is permanent. In the triggerer a rejected identity is retried instead: the agent poller
(:mod:`airflow_elasticjobs.triggers.poller`) reads the connection again at each try (a changed
connection gets a new client and credential), within the error budget, because the worker started
the job with that connection moments before deferring (a client secret rotated and revoked before
the connection was updated).

Who waits with it:

* :func:`wait_until` / :func:`await_until` with a :class:`Patience` — the start operator's
  worker-slot polling, the trigger's cancel request and its lookup of the latest execution;
* :class:`LatestExecution` — "the latest execution of a job created at or after a time", for the
  sensor's pokes and the trigger;
* the triggerer's shared per-agent poller charges each watch's :class:`FaultBudget` and backs off
  with one :class:`Backoff` per agent;
* the sensor's poke is one attempt: a transient fault makes it return "not yet" and Airflow's
  poke schedule is the retry, charged to the sensor's :class:`FaultBudget` like the operator's
  (and bounded by the sensor's ``timeout``).

(Plain classes here, not dataclasses: the trigger imports this module, and defining a dataclass
costs import time every DAG-file parse or triggerer start pays; benchmarks/import_cost.py.)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from airflow_elasticjobs.http_date import parse_http_date

_T = TypeVar("_T")

TRANSIENT_STATUS = frozenset({401, 408, 429, 500, 502, 503, 504})


def is_transient(err: BaseException) -> bool:
    """Whether ``err`` (from azure-core, aiohttp or the OS) is worth retrying later."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from airflow_elasticjobs.hooks.errors import is_rejected_identity

    if isinstance(err, ClientAuthenticationError):
        return not is_rejected_identity(err)
    if isinstance(err, ServiceRequestError | ServiceResponseError):
        return True
    if isinstance(err, ResourceNotFoundError):
        return False
    if isinstance(err, HttpResponseError):
        # No status: the response broke off mid-body (e.g. a dropped connection while decoding).
        return err.status_code is None or err.status_code in TRANSIENT_STATUS
    return isinstance(err, ConnectionError | TimeoutError | _aiohttp_error())


def _aiohttp_error() -> type[BaseException]:
    try:
        from aiohttp import ClientError
    except ImportError:  # aiohttp is only needed by the async client
        return ConnectionError
    return ClientError


def retry_after_seconds(err: BaseException, now: float | None = None) -> float | None:
    """The server's ``Retry-After`` (seconds or HTTP date) on an HTTP error, else ``None``."""
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_http_date(value)
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Backoff:
    """Exponential backoff with jitter that never waits less than the server asked (``Retry-After``).

    :param initial: seconds before the first retry.
    :param maximum: cap of the exponential part.
    :param multiplier: growth per consecutive failure.
    :param jitter: fraction of random spread (0.1 = ±10 %), so many waiters don't retry in lockstep.
    :param rng: random source of the jitter (injectable for tests).
    """

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 60.0,
        multiplier: float = 2.0,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
        self.rng = rng or random.Random()
        self.failures = 0

    def next_delay(self, err: BaseException | None = None) -> float:
        """Seconds to wait after one more consecutive failure (``err`` may carry ``Retry-After``)."""
        base = min(self.maximum, self.initial * self.multiplier**self.failures)
        self.failures += 1
        delay = base * (1 + self.rng.uniform(-self.jitter, self.jitter))
        asked = retry_after_seconds(err) if err is not None else None
        return max(delay, asked or 0.0)

    def reset(self) -> None:
        """Forget earlier failures after a success."""
        self.failures = 0


class FaultBudget:
    """How long waiting may go on without one successful poll before it is reported as an error.

    :param seconds: the budget; time counts from the first failure after the last success.
    :param clock: monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.failing_since: float | None = None

    def record_success(self) -> None:
        """A poll succeeded: the budget is full again."""
        self.failing_since = None

    def record_failure(self) -> None:
        """A poll failed transiently; starts the budget clock if it is not running."""
        if self.failing_since is None:
            self.failing_since = self.clock()

    def charge(self, err: BaseException, *, transient: bool | None = None) -> None:
        """Record a failed call; raise :class:`GaveUp` if ``err`` is permanent or the budget is spent.

        :param transient: the caller's own judgement of ``err``; ``None`` asks :func:`is_transient`.
        """
        self.record_failure()
        if not (is_transient(err) if transient is None else transient):
            raise GaveUp(err, self, permanent=True) from err
        if self.exhausted():
            raise GaveUp(err, self, permanent=False) from err

    def exhausted(self) -> bool:
        """Whether failures have lasted longer than the budget."""
        return self.failing_since is not None and self.clock() - self.failing_since > self.seconds

    def failing_for(self) -> float:
        """Seconds since the first failure after the last success (0 when healthy)."""
        return 0.0 if self.failing_since is None else self.clock() - self.failing_since


class GaveUp(Exception):
    """A wait stopped retrying: ``error`` was permanent, or transient failures outlasted the budget.

    :ivar error: the last error.
    :ivar permanent: ``True`` when ``error`` is not worth retrying at all.
    :ivar failing_for: seconds without a successful call when the wait gave up.
    :ivar budget_seconds: the budget that was spent.
    """

    def __init__(self, error: BaseException, budget: FaultBudget, *, permanent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.permanent = permanent
        self.failing_for = budget.failing_for()
        self.budget_seconds = budget.seconds


class DeadlinePassed(Exception):
    """The deadline of a :class:`Patience` passed before the wait ended."""


class Patience:
    """One wait's policy: what to do after each try of :func:`wait_until` / :func:`await_until`.

    A try that returns ``None`` ("not yet") is followed by another ``interval`` seconds later; a
    transient failure by another after :class:`Backoff`'s delay (``on_retry`` is told first); a
    permanent failure, or transient ones outlasting ``budget``, raise :class:`GaveUp`.

    :param interval: seconds between "not yet" tries, or a :class:`Backoff` whose delays grow with
        each one (the start operator's first checks before it defers).
    :param deadline: epoch seconds; checked after every try, failed or not, and no sleep reaches
        past it (:class:`DeadlinePassed`).
    :param wall_clock: epoch-seconds clock of ``deadline`` (injectable for tests).
    """

    def __init__(
        self,
        budget: FaultBudget,
        backoff: Backoff,
        *,
        interval: float | Backoff = 0.0,
        deadline: float | None = None,
        on_retry: Callable[[BaseException], None] = lambda err: None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.budget = budget
        self.backoff = backoff
        self.interval = interval
        self.deadline = deadline
        self.on_retry = on_retry
        self.wall_clock = wall_clock

    def delay_after(self, result: object, err: BaseException | None) -> float | None:
        """``None`` when ``result`` ends the wait; else seconds to sleep before the next try.

        :raises GaveUp: ``err`` is permanent or the budget is spent (chained to ``err``).
        :raises DeadlinePassed: the deadline passed.
        """
        if err is None:
            self.budget.record_success()
            self.backoff.reset()
            if result is not None:
                return None
            delay = self.interval.next_delay() if isinstance(self.interval, Backoff) else self.interval
        else:
            self.budget.charge(err)
            self.on_retry(err)
            delay = self.backoff.next_delay(err)
        if self.deadline is None:
            return delay
        remaining = self.deadline - self.wall_clock()
        if remaining <= 0:
            raise DeadlinePassed
        return min(delay, remaining)


def _outcome(attempt: Callable[[], _T | None]) -> tuple[_T | None, Exception | None]:
    try:
        return attempt(), None
    except Exception as err:
        return None, err


async def _aoutcome(attempt: Callable[[], Awaitable[_T | None]]) -> tuple[_T | None, Exception | None]:
    try:
        return await attempt(), None
    except Exception as err:
        return None, err


def wait_until(
    attempt: Callable[[], _T | None], patience: Patience, sleep: Callable[[float], None] = time.sleep
) -> _T:
    """Call ``attempt`` until it returns something other than ``None``, as ``patience`` says.

    :raises GaveUp: a permanent error, or transient ones outlasting the budget.
    :raises DeadlinePassed: the deadline passed first.
    """
    result, err = _outcome(attempt)
    while (delay := patience.delay_after(result, err)) is not None:
        sleep(delay)
        result, err = _outcome(attempt)
    return result  # type: ignore[return-value]  # not None: delay_after ended the loop on it


async def await_until(attempt: Callable[[], Awaitable[_T | None]], patience: Patience) -> _T:
    """The async :func:`wait_until` (``asyncio.sleep`` between tries)."""
    result, err = await _aoutcome(attempt)
    while (delay := patience.delay_after(result, err)) is not None:
        await asyncio.sleep(delay)
        result, err = await _aoutcome(attempt)
    return result  # type: ignore[return-value]


#: How far before an empty latest-execution listing the next one reaches (clock skew, slow listings).
LISTING_LOOKBACK = timedelta(minutes=2)


class LatestExecution:
    """The search for the latest execution of a job created at or after ``created_after``.

    Each listing asks only for what may have appeared since the previous empty one
    (:meth:`created_since`, with :data:`LISTING_LOOKBACK` for clock skew between this machine and
    ARM); :meth:`pick` chooses from what a listing returned. Sync and async callers list with their
    own hook, so the search itself does no I/O.
    """

    def __init__(self, created_after: datetime | None) -> None:
        self.created_after = created_after
        self._since: datetime | None = None
        self._listed_at: datetime | None = None

    def created_since(self, now: datetime) -> datetime | None:
        """The ``create_time_min`` of a listing made at ``now`` (wall clock, UTC)."""
        self._listed_at = now
        return self._since or self.created_after

    def pick(self, found: Iterable[Any]) -> Any | None:
        """The latest of ``found`` by ``create_time``; ``None`` (and a narrower next listing) if empty."""
        found = list(found)
        if found:
            return max(found, key=lambda e: e.create_time)
        if self._listed_at is not None:
            narrowed = self._listed_at - LISTING_LOOKBACK
            self._since = narrowed if self.created_after is None else max(self.created_after, narrowed)
        return None
