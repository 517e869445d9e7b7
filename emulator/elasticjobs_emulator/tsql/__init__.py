"""T-SQL subset interpreter over one SQLite file per emulated database.

:func:`connect` authenticates a SQL login to a database and returns a :class:`Principal`
(:func:`connect_identity` a managed identity, by its user created FROM EXTERNAL PROVIDER);
:func:`execute_batch` runs one T-SQL batch as that principal and returns a :class:`BatchResult`,
raising :class:`TsqlError` (or its subclasses :class:`UnsupportedStatement`,
:class:`PermissionDenied`, :class:`LoginFailed`, :class:`QueryCanceled`); :func:`write_output`
writes a job step's first result set into its output table. The subset, the
permission model and the error numbers are documented in ``docs/emulator-tsql.md``.

Example::

    principal = connect(catalog, "TargetDb1", "jobuser", hasher.digest(password))
    result = execute_batch(catalog, "TargetDb1", principal, "SELECT COUNT(*) FROM sys.tables")
"""

from __future__ import annotations

import threading

from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.tsql import security, sysviews
from elasticjobs_emulator.tsql.errors import (
    LoginFailed,
    PermissionDenied,
    QueryCanceled,
    TsqlError,
    UnsupportedStatement,
    cannot_open_database,
    identity_login_failed,
    login_failed,
)
from elasticjobs_emulator.tsql.interpreter import Interpreter, compile_batch
from elasticjobs_emulator.tsql.output_table import OutputTable, write_result_set
from elasticjobs_emulator.tsql.session import (
    MASTER,
    BatchResult,
    Principal,
    ResultSet,
    Session,
    checkin,
    checkout,
    open_database,
)

__all__ = [
    "BatchResult",
    "LoginFailed",
    "OutputTable",
    "PermissionDenied",
    "Principal",
    "QueryCanceled",
    "ResultSet",
    "TsqlError",
    "UnsupportedStatement",
    "connect",
    "connect_identity",
    "execute_batch",
    "write_output",
]


def _canonical_database(catalog: ServerCatalog, database: str) -> str | None:
    # One keyed lookup (store keys are case-insensitive), not a scan of every database: a job
    # step fanning out over N databases would otherwise cost O(N^2).
    return catalog.store.name_of(f"{catalog.server_id}/databases/{database}")


def connect(catalog: ServerCatalog, database: str, login: str, password_digest: str | None) -> Principal:
    """Authenticate ``login`` (with the digest of the password it presented) to ``database``.

    The server admin (``administratorLogin``) maps to ``dbo`` everywhere. Any other login must
    exist in ``master`` (CREATE LOGIN) with a matching digest and have a user in ``database``
    (CREATE USER … FROM LOGIN). Raises :class:`LoginFailed`: Msg 18456 for a wrong login or
    password or no user in the database, Msg 4060 for a database the server does not have.
    """
    admin = catalog.admin_login
    if admin is not None and admin.lower() == login.lower():
        if not PasswordHasher.matches(catalog.admin_password_digest(), password_digest):
            raise login_failed(login)
        canonical = _canonical_database(catalog, database)
        if canonical is None:
            raise cannot_open_database(database)
        return Principal(login=admin, user="dbo", database=canonical, is_admin=True)
    if _canonical_database(catalog, MASTER) is None:
        raise login_failed(login)
    master = open_database(catalog.database_file(MASTER), master=True)
    try:
        found = security.login_digest(master, login)
    finally:
        master.close()
    if found is None or not PasswordHasher.matches(found[1], password_digest):
        raise login_failed(login)
    canonical = _canonical_database(catalog, database)
    if canonical is None:
        raise cannot_open_database(database)
    conn = open_database(catalog.database_file(canonical), master=canonical.lower() == MASTER)
    try:
        user = security.user_for_login(conn, found[0])
    finally:
        conn.close()
    if user is None:
        raise login_failed(login)
    return Principal(login=found[0], user=user, database=canonical, is_admin=False)


def connect_identity(catalog: ServerCatalog, database: str, identity: str) -> Principal:
    """Authenticate the managed identity named ``identity`` (its Entra token) to ``database``.

    The database must have a user for it (``CREATE USER [identity] FROM EXTERNAL PROVIDER``); if not,
    :class:`LoginFailed` Msg 18456 for ``<token-identified principal>``, as Azure SQL answers, or
    Msg 4060 for a database the server does not have.
    """
    canonical = _canonical_database(catalog, database)
    if canonical is None:
        raise cannot_open_database(database)
    conn = open_database(catalog.database_file(canonical), master=canonical.lower() == MASTER)
    try:
        user = security.external_user(conn, identity)
    finally:
        conn.close()
    if user is None:
        raise identity_login_failed()
    return Principal(login=user, user=user, database=canonical, is_admin=False)


def execute_batch(
    catalog: ServerCatalog,
    database: str,
    principal: Principal,
    sql: str,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """Run one T-SQL batch in ``database`` as ``principal`` and return what it produced.

    The whole batch is parsed first (a syntax error or unsupported statement means nothing
    runs); then statements run in order, each committing on its own; the first error ends the
    batch and is raised with the messages printed before it in ``error.messages``. ``cancel``
    is checked between statements, inside WAITFOR (every 50 ms) and during SQLite work.
    """
    batch = compile_batch(sql)
    # The database ``principal`` just logged in to (connect looked its name up) is not looked up
    # again: one keyed store read less per batch, behind the store's few read connections.
    same = principal.database.lower() == database.lower()
    canonical = principal.database if same else _canonical_database(catalog, database)
    if canonical is None:
        raise cannot_open_database(database)
    path = catalog.database_file(canonical)
    conn = checkout(path, master=canonical.lower() == MASTER)
    session = Session(catalog, canonical, principal, conn, cancel)
    if cancel is not None:
        conn.set_progress_handler(lambda: int(cancel.is_set()), 1000)
    try:
        views = sysviews.names_views(sql)
        sysviews.install(session, views=views)
        Interpreter(session, batch).run()
    except TsqlError as error:
        error.messages = session.result.messages
        raise
    finally:
        # The catalog views, or a #temp table (any "#" in the text), would stay in the connection.
        checkin(path, conn, reusable=not views and "#" not in sql)
    return session.result


def write_output(
    catalog: ServerCatalog,
    database: str,
    principal: Principal,
    target: OutputTable,
    result: ResultSet,
    internal_execution_id: str,
    cancel: threading.Event | None = None,
) -> int:
    """Write a job step's first result set into its output table in ``database`` as ``principal``.

    Creates the table when missing (result set columns plus ``internal_execution_id``), replaces
    the rows of ``internal_execution_id`` and returns how many were written. Raises
    :class:`TsqlError` (see :func:`elasticjobs_emulator.tsql.output_table.write_result_set`).
    """
    canonical = _canonical_database(catalog, database)
    if canonical is None:
        raise cannot_open_database(database)
    return write_result_set(catalog, canonical, principal, target, result, internal_execution_id, cancel)
