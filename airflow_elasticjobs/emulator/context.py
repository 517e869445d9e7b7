"""Shared objects of one running emulator, reachable from routes as ``request.app.state.emulator``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_elasticjobs.emulator.passwords import PasswordHasher
from airflow_elasticjobs.emulator.store import Store

if TYPE_CHECKING:
    from airflow_elasticjobs.emulator.engine import Engine

API_VERSION = "2025-01-01"
DEFAULT_PAGE_SIZE = 100


@dataclass
class EmulatorContext:
    """State directory, store, password hasher and execution engine of one emulator."""

    state_dir: Path
    store: Store
    hasher: PasswordHasher
    engine: Engine
    page_size: int = DEFAULT_PAGE_SIZE
    extras: dict[str, object] = field(default_factory=dict)

    def database_dir(self, server_name: str) -> Path:
        """Directory holding the SQLite files of one emulated server's databases."""
        return self.state_dir / "databases" / server_name.lower()
