"""The engine's door to the emulated databases: logins and T-SQL batches through ``tsql``.

Kept behind a small interface (:class:`SqlAccess`) so engine tests can fake the databases.
Servers named by target group members are found by name: in the job agent's resource group
first, else in any resource group (Azure server names are global, as the SQL data plane assumes).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from elasticjobs_emulator import tsql
from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.engine.targets import MemberError, ServerView
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store


class AttemptError(Exception):
    """A target attempt failed; the message is what the target execution reports."""


class SqlAccess(Protocol):
    """Runs one step's T-SQL on one database as the step's credential, and writes its output."""

    def run(
        self, agent_id: str, server: str, database: str, credential_id: str, sql: str, cancel: threading.Event
    ) -> tsql.ResultSet | None:
        """Log in and run the batch; return its first result set; raise :class:`AttemptError` on failure."""

    def write_output(
        self,
        agent_id: str,
        output: dict[str, Any],
        internal_execution_id: str,
        result: tsql.ResultSet,
        cancel: threading.Event,
    ) -> None:
        """Write ``result`` into the step's output table (``properties.output``).

        Raises :class:`AttemptError` on any failure.
        """

    def server_view(self, agent_id: str) -> ServerView:
        """What target enumeration may see of the servers next to ``agent_id``."""


def server_id_for(store: Store, agent_id: str, server_name: str) -> str | None:
    """ARM id of the server named ``server_name`` (the agent's resource group first), or None."""
    nearby = f"{agent_id.rsplit('/servers/', 1)[0]}/servers/{server_name}"
    if store.exists(nearby):
        return nearby
    for doc in store.resources_of_type("servers"):
        if str(doc.get("name", "")).lower() == server_name.lower():
            return str(doc["id"])
    return None


class TsqlAccess:
    """:class:`SqlAccess` over the emulator's T-SQL interpreter and store."""

    def __init__(self, store: Store, state_dir: Path, hasher: PasswordHasher) -> None:
        self._store = store
        self._state_dir = state_dir
        self._hasher = hasher

    def _server_id(self, agent_id: str, server: str) -> str:
        server_id = server_id_for(self._store, agent_id, server)
        if server_id is None:
            raise MemberError(
                f"Failed to determine members of target (server '{server}'): the server does not exist; "
                "create it (Microsoft.Sql/servers PUT) or fix the target group member's serverName."
            )
        return server_id

    def _catalog(self, agent_id: str, server: str) -> ServerCatalog:
        return ServerCatalog.from_store(
            self._store, self._hasher, self._state_dir, self._server_id(agent_id, server)
        )

    def _credential(self, credential_id: str) -> tuple[str, str | None]:
        doc = self._store.get(credential_id) if credential_id else None
        if doc is None:
            name = credential_id.rsplit("/", 1)[-1] or "(none)"
            raise AttemptError(
                f"The job credential '{name}' does not exist; create it on the job agent "
                "(credentials PUT) or point the step at an existing credential."
            )
        return str(doc.get("properties", {}).get("username", "")), self._store.get_secret(credential_id)

    def run(
        self, agent_id: str, server: str, database: str, credential_id: str, sql: str, cancel: threading.Event
    ) -> tsql.ResultSet | None:
        """Log in to ``database`` as the credential, run ``sql`` (cancellable); its first result set."""
        username, digest = self._credential(credential_id)
        try:
            catalog = self._catalog(agent_id, server)
        except MemberError as exc:
            raise AttemptError(str(exc)) from None
        try:
            principal = tsql.connect(catalog, database, username, digest)
        except tsql.TsqlError as exc:
            raise AttemptError(f"Failed to connect to the target database: {exc.message}") from None
        try:
            result = tsql.execute_batch(catalog, database, principal, sql, cancel=cancel)
        except tsql.TsqlError as exc:
            raise AttemptError(
                f"Command failed: {exc.message} (Msg {exc.number}, Level {exc.severity})"
            ) from None
        return result.result_sets[0] if result.result_sets else None

    def write_output(
        self,
        agent_id: str,
        output: dict[str, Any],
        internal_execution_id: str,
        result: tsql.ResultSet,
        cancel: threading.Event,
    ) -> None:
        """Log in to the output database as the output credential and write ``result`` there."""
        server, database = str(output.get("serverName", "")), str(output.get("databaseName", ""))
        target = tsql.OutputTable(str(output.get("schemaName") or "dbo"), str(output.get("tableName", "")))
        where = (
            f"Failed to write the output to table {target.display} (server '{server}', database '{database}')"
        )
        server_id = server_id_for(self._store, agent_id, server)
        if server_id is None:
            raise AttemptError(
                f"{where}: the server does not exist; create it or fix properties.output.serverName."
            )
        try:
            username, digest = self._credential(str(output.get("credential", "")))
        except AttemptError as exc:
            raise AttemptError(f"{where}: output credential: {exc}") from None
        catalog = ServerCatalog.from_store(self._store, self._hasher, self._state_dir, server_id)
        try:
            principal = tsql.connect(catalog, database, username, digest)
            tsql.write_output(catalog, database, principal, target, result, internal_execution_id, cancel)
        except tsql.TsqlError as exc:
            raise AttemptError(f"{where}: {exc.message} (Msg {exc.number}, Level {exc.severity})") from None

    def server_view(self, agent_id: str) -> ServerView:
        """Databases of, and refresh-credential logins to, servers next to the agent."""

        def databases(server: str) -> list[tuple[str, dict[str, Any]]]:
            server_id = self._server_id(agent_id, server)
            return [
                (d["name"], d.get("properties", {})) for d in self._store.children(server_id, "databases")
            ]

        def check_refresh_login(server: str, credential_id: str) -> None:
            try:
                username, digest = self._credential(credential_id)
            except AttemptError as exc:
                raise MemberError(
                    f"Failed to determine members of target (server '{server}'): {exc}"
                ) from None
            try:
                tsql.connect(self._catalog(agent_id, server), "master", username, digest)
            except tsql.TsqlError as exc:
                raise MemberError(
                    f"Failed to determine members of target (server '{server}'): {exc.message} The refresh "
                    "credential must be a login in the server's master database (CREATE LOGIN ... in master)."
                ) from None

        return ServerView(databases=databases, check_refresh_login=check_refresh_login)
