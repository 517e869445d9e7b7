"""Execution engine of the emulator: fan-out, retries, timeouts, cancel, schedules, recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_elasticjobs.emulator.passwords import PasswordHasher
from airflow_elasticjobs.emulator.store import Store


class Engine:
    """Runs job executions of one emulator (skeleton; filled in next)."""

    def __init__(self, store: Store, state_dir: Path, hasher: PasswordHasher) -> None:
        self.store = store
        self.state_dir = Path(state_dir)
        self.hasher = hasher

    def start(self) -> None:
        """Start the scheduler and resume executions that were in flight."""

    def stop(self) -> None:
        """Stop running executions' workers and the scheduler."""

    def create_execution(self, job_id: str, execution_id: str | None = None) -> tuple[dict[str, Any], bool]:
        """Create (or return the existing) root execution of a job; True when created."""
        raise NotImplementedError

    def cancel(self, job_id: str, execution_id: str) -> None:
        """Cancel an execution (idempotent)."""
        raise NotImplementedError
