"""A step's ``executionOptions``: attempts, per-attempt timeout and exponential retry backoff."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Azure's defaults when a step omits ``executionOptions`` (recorded step PUT in
#: Azure/azure-powershell ``TestJobStartWait.json``).
DEFAULT_TIMEOUT_SECONDS = 43200
DEFAULT_RETRY_ATTEMPTS = 10
DEFAULT_INITIAL_RETRY_SECONDS = 1
DEFAULT_MAXIMUM_RETRY_SECONDS = 120
DEFAULT_BACKOFF_MULTIPLIER = 2.0


@dataclass(frozen=True)
class ExecutionOptions:
    """Retry and timeout policy of one job step."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    initial_retry_seconds: float = DEFAULT_INITIAL_RETRY_SECONDS
    maximum_retry_seconds: float = DEFAULT_MAXIMUM_RETRY_SECONDS
    backoff_multiplier: float = DEFAULT_BACKOFF_MULTIPLIER

    @classmethod
    def from_step(cls, step_doc: dict[str, Any]) -> ExecutionOptions:
        """Options of a step document (missing fields take Azure's defaults)."""
        raw = step_doc.get("properties", {}).get("executionOptions") or {}
        return cls(
            timeout_seconds=float(raw.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)),
            retry_attempts=int(raw.get("retryAttempts", DEFAULT_RETRY_ATTEMPTS)),
            initial_retry_seconds=float(
                raw.get("initialRetryIntervalSeconds", DEFAULT_INITIAL_RETRY_SECONDS)
            ),
            maximum_retry_seconds=float(
                raw.get("maximumRetryIntervalSeconds", DEFAULT_MAXIMUM_RETRY_SECONDS)
            ),
            backoff_multiplier=float(raw.get("retryIntervalBackoffMultiplier", DEFAULT_BACKOFF_MULTIPLIER)),
        )

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first one plus ``retryAttempts`` retries."""
        return self.retry_attempts + 1

    def retry_delay(self, failed_attempts: int) -> float:
        """Seconds to wait before the next attempt after ``failed_attempts`` (>= 1) failures.

        ``initial * multiplier^(failed_attempts - 1)``, capped at the maximum interval.
        """
        if failed_attempts < 1:
            raise ValueError(f"failed_attempts must be >= 1, got {failed_attempts}")
        delay = self.initial_retry_seconds * self.backoff_multiplier ** (failed_attempts - 1)
        return min(delay, self.maximum_retry_seconds)
