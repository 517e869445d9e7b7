"""Transient-fault policy for waiting on executions: what is worth retrying, and how long to wait.

azure-core's ``RetryPolicy`` (configured in :mod:`airflow_elasticjobs.hooks.connection`) already
retries single requests. This module is the layer above it for *waiting*: when a whole poll fails
after the SDK gave up, the waiter backs off and tries again instead of failing the task or
cancelling the job, until a time budget without any successful poll is spent. Only then does it
report an error — and even then it never cancels the execution.

Transient: HTTP 408, 429 (honouring ``Retry-After``), 5xx, dropped or refused connections, read
timeouts, and authentication failures (an expired or not-yet-refreshed token; the credential
fetches a new one on the next call) except an identity Entra ID rejects or that does not exist
(:func:`~airflow_elasticjobs.hooks.errors.is_rejected_identity`). Everything else (400, 403, 404, …)
is permanent. A rejected identity is final only once it is rejected with a freshly read connection:
the agent poller (:mod:`airflow_elasticjobs.triggers.poller`) reopens its hook (connection read
again, new credential) when a hook it kept open is rejected, e.g. after a client secret rotation.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

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
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class Backoff:
    """Exponential backoff with jitter that never waits less than the server asked (``Retry-After``).

    (Plain classes here, not dataclasses: the trigger imports this module, and defining a dataclass
    costs import time every DAG-file parse or triggerer start pays; benchmarks/import_cost.py.)

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

    def exhausted(self) -> bool:
        """Whether failures have lasted longer than the budget."""
        return self.failing_since is not None and self.clock() - self.failing_since > self.seconds

    def failing_for(self) -> float:
        """Seconds since the first failure after the last success (0 when healthy)."""
        return 0.0 if self.failing_since is None else self.clock() - self.failing_since
