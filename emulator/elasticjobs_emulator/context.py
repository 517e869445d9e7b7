"""Shared objects of one running emulator, reachable from routes as ``request.app.state.emulator``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.engine import Engine
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store

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

    def catalog(self, server_id: str) -> ServerCatalog:
        """The database catalog of the emulated server with ARM id ``server_id``."""
        return ServerCatalog.from_store(self.store, self.hasher, self.state_dir, server_id)
