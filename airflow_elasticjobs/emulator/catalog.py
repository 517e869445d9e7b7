"""Where the databases of one emulated server live, which exist, and who its admin is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_elasticjobs.emulator.passwords import PasswordHasher
from airflow_elasticjobs.emulator.store import Store

if TYPE_CHECKING:
    from airflow_elasticjobs.emulator.context import EmulatorContext


@dataclass(frozen=True)
class ServerCatalog:
    """The catalog of one emulated ``Microsoft.Sql/servers`` resource."""

    server_id: str
    name: str
    store: Store
    hasher: PasswordHasher
    directory: Path

    @classmethod
    def from_store(cls, store: Store, hasher: PasswordHasher, state_dir: Path, server_id: str) -> ServerCatalog:
        """Build the catalog of the server with ARM id ``server_id``."""
        name = server_id.rstrip("/").rsplit("/", 1)[-1]
        return cls(server_id, name, store, hasher, state_dir / "databases" / name.lower())

    @classmethod
    def from_context(cls, context: EmulatorContext, server_id: str) -> ServerCatalog:
        """Build the catalog of a server from the emulator's shared context."""
        return cls.from_store(context.store, context.hasher, context.state_dir, server_id)

    def database_names(self) -> list[str]:
        """Names of the server's databases (including ``master``), in creation order."""
        raise NotImplementedError

    def database_file(self, name: str) -> Path:
        """SQLite file of database ``name`` (its directory is created on demand)."""
        raise NotImplementedError

    def drop_database_file(self, name: str) -> None:
        """Delete the SQLite file of database ``name`` if it exists."""
        raise NotImplementedError

    @property
    def admin_login(self) -> str | None:
        """The server admin login (``properties.administratorLogin``)."""
        raise NotImplementedError

    def admin_password_digest(self) -> str | None:
        """Digest of the server admin password, or None."""
        raise NotImplementedError
