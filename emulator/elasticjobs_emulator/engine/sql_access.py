"""The engine's door to the emulated databases: logins and T-SQL batches through ``tsql``.

Kept behind a small interface (:class:`SqlAccess`) so engine tests can fake the databases.
Servers named by target group members are found by name: in the job agent's resource group
first, else in any resource group (Azure server names are global, as the SQL data plane assumes).

A step, output or refresh "credential" that is empty means the job agent's user-assigned managed
identity: the agent logs in with its Microsoft Entra token, which a database accepts only where it
has a user for the identity's name (``CREATE USER [name] FROM EXTERNAL PROVIDER``; Microsoft Learn,
"Elastic jobs in Azure SQL Database", section "Elastic job authentication").
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from elasticjobs_emulator import open_files, tsql
from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.engine.targets import MemberError, ServerView
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store

_T = TypeVar("_T")


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

    def for_step(self) -> SqlAccess:
        """An accessor for the first attempts of one step's targets.

        What does not depend on the target (the server's id and admin login, the credential, the
        agent's identity) may be resolved once and reused for every target it runs on.
        """


@contextmanager
def database_files(server: str, database: str) -> Iterator[None]:
    """Turn SQLite failing below the T-SQL layer (a database file it cannot open, e.g. out of file
    descriptors) into the attempt's failure, naming the database and the emulator's file use."""
    try:
        yield
    except sqlite3.Error as exc:
        raise AttemptError(
            f"The emulator could not use the file of database '{database}' on server '{server}' ({exc}). "
            f"{open_files.describe_use()}"
        ) from None


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

    def __init__(self, store: Store, state_dir: Path, hasher: PasswordHasher, *, memo: bool = False) -> None:
        self._store = store
        self._state_dir = state_dir
        self._hasher = hasher
        # With ``memo`` (one step's first attempts, see :meth:`for_step`): lookups that succeeded,
        # by their arguments. Failures are not kept: each target reports its own.
        self._memo: dict[tuple[str, ...], Any] | None = {} if memo else None
        # Held while a lookup runs: the step's first attempts start together, and each would
        # otherwise repeat the lookups the first has not finished (hundreds of store reads).
        self._memo_lock = threading.Lock()

    def for_step(self) -> TsqlAccess:
        """An accessor that resolves server, admin login, credential and identity once (see
        :meth:`SqlAccess.for_step`); a target's database, login mapping and batch stay per target."""
        return TsqlAccess(self._store, self._state_dir, self._hasher, memo=True)

    def _remember(self, key: tuple[str, ...], lookup: Callable[[], _T]) -> _T:
        if self._memo is None:
            return lookup()
        with self._memo_lock:
            if key not in self._memo:
                self._memo[key] = lookup()
            return cast(_T, self._memo[key])

    def _server_id(self, agent_id: str, server: str) -> str:
        server_id = server_id_for(self._store, agent_id, server)
        if server_id is None:
            raise MemberError(
                f"Failed to determine members of target (server '{server}'): the server does not exist; "
                "create it (Microsoft.Sql/servers PUT) or fix the target group member's serverName."
            )
        return server_id

    def _catalog(self, agent_id: str, server: str) -> ServerCatalog:
        def build() -> ServerCatalog:
            catalog = ServerCatalog.from_store(
                self._store, self._hasher, self._state_dir, self._server_id(agent_id, server)
            )
            return catalog if self._memo is None else catalog.pinned()

        return self._remember(("catalog", agent_id, server.lower()), build)

    def _identity_name(self, agent_id: str) -> str:
        return self._remember(("identity", agent_id), lambda: self._read_identity_name(agent_id))

    def _read_identity_name(self, agent_id: str) -> str:
        """Name of the agent's user-assigned managed identity (the last segment of its resource id)."""
        agent = self._store.get(agent_id) or {}
        assigned = (agent.get("identity") or {}).get("userAssignedIdentities") or {}
        if not assigned:
            raise AttemptError(
                f"No credential was given and job agent '{agent_id.rsplit('/', 1)[-1]}' has no managed "
                "identity; give the step (or the target group member, or the output) a job credential, or "
                "assign a user-assigned managed identity to the agent (identity)."
            )
        return str(next(iter(assigned))).rstrip("/").rsplit("/", 1)[-1]

    def _login(
        self, agent_id: str, catalog: ServerCatalog, database: str, credential_id: str
    ) -> tsql.Principal:
        """Log in to ``database`` as the credential, or as the agent's identity when there is none.

        Raises :class:`AttemptError` for a missing credential or identity, :class:`tsql.TsqlError`
        when the server refuses the login.
        """
        if not credential_id:
            return tsql.connect_identity(catalog, database, self._identity_name(agent_id))
        username, digest = self._credential(credential_id)
        return tsql.connect(catalog, database, username, digest)

    def _credential(self, credential_id: str) -> tuple[str, str | None]:
        return self._remember(("credential", credential_id), lambda: self._read_credential(credential_id))

    def _read_credential(self, credential_id: str) -> tuple[str, str | None]:
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
        """Log in to ``database`` as the credential (the agent's identity when empty), run ``sql``
        (cancellable); its first result set."""
        try:
            catalog = self._catalog(agent_id, server)
        except MemberError as exc:
            raise AttemptError(str(exc)) from None
        with database_files(server, database):
            try:
                principal = self._login(agent_id, catalog, database, credential_id)
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
        catalog = ServerCatalog.from_store(self._store, self._hasher, self._state_dir, server_id)
        with database_files(server, database):
            try:
                principal = self._login(agent_id, catalog, database, str(output.get("credential") or ""))
                tsql.write_output(catalog, database, principal, target, result, internal_execution_id, cancel)
            except AttemptError as exc:  # only the login raises it: the output credential is missing
                raise AttemptError(f"{where}: output credential: {exc}") from None
            except tsql.TsqlError as exc:
                failure = f"{exc.message} (Msg {exc.number}, Level {exc.severity})"
                raise AttemptError(f"{where}: {failure}") from None

    def server_view(self, agent_id: str) -> ServerView:
        """Databases of, and refresh-credential logins to, servers next to the agent."""

        def databases(server: str) -> list[tuple[str, dict[str, Any]]]:
            server_id = self._server_id(agent_id, server)
            return [
                (d["name"], d.get("properties", {})) for d in self._store.children(server_id, "databases")
            ]

        def check_refresh_login(server: str, credential_id: str) -> None:
            failed = f"Failed to determine members of target (server '{server}')"
            catalog = self._catalog(agent_id, server)
            try:
                self._login(agent_id, catalog, "master", credential_id)
            except AttemptError as exc:
                raise MemberError(f"{failed}: {exc}") from None
            except tsql.TsqlError as exc:
                needs = (
                    "The refresh credential must be a login in the server's master database "
                    "(CREATE LOGIN ... in master)."
                    if credential_id
                    else "Without a refresh credential the agent's managed identity lists the databases: "
                    "it needs a user in the server's master database (CREATE USER [name] FROM EXTERNAL "
                    "PROVIDER in master)."
                )
                raise MemberError(f"{failed}: {exc.message} {needs}") from None

        return ServerView(databases=databases, check_refresh_login=check_refresh_login)
