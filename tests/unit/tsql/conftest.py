"""A real store and server catalog in a temp dir: ``master``, ``TargetDb1``, ``TargetDb2``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from elasticjobs_emulator import tsql
from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store

ADMIN, ADMIN_PASSWORD = "sqladmin", "Adm1n-Pass!"
SERVER_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/target-server"


@dataclass
class Server:
    """A server catalog plus helpers to log in and run batches."""

    catalog: ServerCatalog
    hasher: PasswordHasher

    def login(self, database: str, login: str = ADMIN, password: str = ADMIN_PASSWORD) -> tsql.Principal:
        """``tsql.connect`` with the digest of ``password``."""
        return tsql.connect(self.catalog, database, login, self.hasher.digest(password))

    def run(
        self, database: str, sql: str, login: str = ADMIN, password: str = ADMIN_PASSWORD, **kw
    ) -> tsql.BatchResult:
        """Log in and run one batch."""
        return tsql.execute_batch(self.catalog, database, self.login(database, login, password), sql, **kw)

    def rows(self, database: str, sql: str, **kw) -> list[list]:
        """Rows of the batch's first result set."""
        return self.run(database, sql, **kw).result_sets[0].rows

    def add_login(self, login: str, password: str, databases: tuple[str, ...] = (), grants: str = "") -> None:
        """CREATE LOGIN in master and a user (plus ``grants`` batch) in each database."""
        self.run("master", f"CREATE LOGIN [{login}] WITH PASSWORD = '{password}'")
        for db in databases:
            self.run(db, f"CREATE USER [{login}] FROM LOGIN [{login}]; {grants}")


@pytest.fixture
def server(tmp_path: Path) -> Server:
    """A fresh emulated server whose admin is ``sqladmin``."""
    store = Store(tmp_path / "state.sqlite")
    hasher = PasswordHasher.for_store(store)
    store.put(
        SERVER_ID, {"id": SERVER_ID, "name": "target-server", "properties": {"administratorLogin": ADMIN}}
    )
    store.set_secret(SERVER_ID, hasher.digest(ADMIN_PASSWORD))
    for db in ("master", "TargetDb1", "TargetDb2"):
        store.put(f"{SERVER_ID}/databases/{db}", {"id": f"{SERVER_ID}/databases/{db}", "name": db})
    yield Server(ServerCatalog.from_store(store, hasher, tmp_path, SERVER_ID), hasher)
    store.close()
