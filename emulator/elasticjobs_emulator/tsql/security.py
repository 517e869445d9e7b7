"""The security catalog kept inside each database file, and permission checks.

Tables (hidden from ``sys.tables`` and from user statements by the ``__emulator_`` prefix):
``__emulator_principals`` (users and fixed roles of the database), ``__emulator_role_members``,
``__emulator_permissions`` (GRANTs) and, in ``master`` only, ``__emulator_logins`` (server logins
with the keyed digest of their password — never the password).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

INTERNAL_PREFIX = "__emulator_"

# Fixed principals with SQL Server's principal ids.
FIXED_USERS = {
    "public": (0, "R"),
    "dbo": (1, "S"),
    "guest": (2, "S"),
    "INFORMATION_SCHEMA": (3, "S"),
    "sys": (4, "S"),
}
FIXED_ROLES = {
    "db_owner": 16384,
    "db_accessadmin": 16385,
    "db_securityadmin": 16386,
    "db_ddladmin": 16387,
    "db_backupoperator": 16389,
    "db_datareader": 16390,
    "db_datawriter": 16391,
    "db_denydatareader": 16392,
    "db_denydatawriter": 16393,
}
MASTER_ROLES = {"dbmanager": 16394, "loginmanager": 16395}  # Azure SQL's server-level roles in master
# sys.database_principals.type of a Microsoft Entra user (CREATE USER … FROM EXTERNAL PROVIDER)
EXTERNAL_USER = "E"
USER_TYPES = ("S", EXTERNAL_USER)  # principal types that are users (a role is "R")

# What membership in a fixed role implies (db_owner implies everything).
ROLE_PERMISSIONS = {
    "db_ddladmin": frozenset(
        {"CREATE TABLE", "ALTER", "ALTER ANY SCHEMA", "CREATE VIEW", "CREATE PROCEDURE"}
    ),
    "db_datareader": frozenset({"SELECT"}),
    "db_datawriter": frozenset({"INSERT", "UPDATE", "DELETE"}),
    "db_accessadmin": frozenset({"ALTER ANY USER", "CONNECT"}),
    "db_securityadmin": frozenset({"ALTER ANY ROLE"}),
    "loginmanager": frozenset({"ALTER ANY LOGIN"}),
    "dbmanager": frozenset({"CREATE DATABASE"}),
}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {INTERNAL_PREFIX}principals (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    principal_id INTEGER NOT NULL UNIQUE,
    type TEXT NOT NULL,
    login TEXT COLLATE NOCASE,
    create_date TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {INTERNAL_PREFIX}role_members (
    role TEXT NOT NULL COLLATE NOCASE,
    member TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (role, member)
);
CREATE TABLE IF NOT EXISTS {INTERNAL_PREFIX}permissions (
    grantee TEXT NOT NULL COLLATE NOCASE,
    permission TEXT NOT NULL,
    class TEXT NOT NULL,
    securable TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (grantee, permission, class, securable)
);
"""
_MASTER_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {INTERNAL_PREFIX}logins (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    principal_id INTEGER NOT NULL UNIQUE,
    password_digest TEXT NOT NULL,
    create_date TEXT NOT NULL,
    modify_date TEXT NOT NULL
);
"""


def now() -> str:
    """Current UTC time as SQL Server prints a datetime."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def ensure_schema(conn: sqlite3.Connection, *, master: bool) -> None:
    """Create the security catalog of a database file on first use (safe under concurrency)."""
    marker = f"{INTERNAL_PREFIX}logins" if master else f"{INTERNAL_PREFIX}principals"
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (marker,)).fetchone():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for ddl in (_SCHEMA + (_MASTER_SCHEMA if master else "")).split(";"):
            if ddl.strip():
                conn.execute(ddl)
        fixed = dict(FIXED_USERS) | {r: (i, "R") for r, i in FIXED_ROLES.items()}
        if master:
            fixed |= {r: (i, "R") for r, i in MASTER_ROLES.items()}
        conn.executemany(
            f"INSERT OR IGNORE INTO {INTERNAL_PREFIX}principals(name, principal_id, type, create_date) "
            "VALUES (?, ?, ?, ?)",
            [(name, pid, kind, now()) for name, (pid, kind) in fixed.items()],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def login_digest(master: sqlite3.Connection, login: str) -> tuple[str, str] | None:
    """(canonical name, password digest) of a login created with CREATE LOGIN, or None."""
    row = master.execute(
        f"SELECT name, password_digest FROM {INTERNAL_PREFIX}logins WHERE name = ?", (login,)
    ).fetchone()
    return (row[0], row[1]) if row else None


def principal(conn: sqlite3.Connection, name: str) -> tuple[str, str, str | None] | None:
    """(canonical name, type 'S'/'E'/'R', mapped login) of a database principal, or None."""
    row = conn.execute(
        f"SELECT name, type, login FROM {INTERNAL_PREFIX}principals WHERE name = ?", (name,)
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def is_droppable_user(found: tuple[str, str, str | None]) -> bool:
    """Whether a :func:`principal` is a user DROP USER may remove: one made by CREATE USER (mapped to
    a login, or an Entra user), not a fixed user such as ``dbo`` or a role."""
    _, kind, login = found
    return (kind == "S" and login is not None) or kind == EXTERNAL_USER


def external_user(conn: sqlite3.Connection, name: str) -> str | None:
    """Canonical name of the Entra user ``name`` (CREATE USER … FROM EXTERNAL PROVIDER), or None."""
    row = conn.execute(
        f"SELECT name FROM {INTERNAL_PREFIX}principals WHERE name = ? AND type = ?", (name, EXTERNAL_USER)
    ).fetchone()
    return row[0] if row else None


def user_for_login(conn: sqlite3.Connection, login: str) -> str | None:
    """Name of the database user mapped to ``login``, or None."""
    row = conn.execute(
        f"SELECT name FROM {INTERNAL_PREFIX}principals WHERE login = ? AND type = 'S'", (login,)
    ).fetchone()
    return row[0] if row else None


def next_principal_id(conn: sqlite3.Connection, table: str) -> int:
    """The next free principal id of a principals/logins table (user ids start at 5)."""
    row = conn.execute(
        f"SELECT MAX(principal_id) FROM {INTERNAL_PREFIX}{table} WHERE principal_id < 16384"
    ).fetchone()
    return max(int(row[0] or 0), 4) + 1


def roles_of(conn: sqlite3.Connection, user: str) -> set[str]:
    """Lower-cased names of the roles ``user`` belongs to (always including ``public``)."""
    rows = conn.execute(
        f"SELECT role FROM {INTERNAL_PREFIX}role_members WHERE member = ?", (user,)
    ).fetchall()
    return {"public"} | {r[0].lower() for r in rows}


def has_permission(
    conn: sqlite3.Connection, user: str, permission: str, securable_class: str, securable: str
) -> bool:
    """Whether ``user`` holds ``permission`` on a securable, via db_owner, a fixed role or a GRANT.

    A GRANT (or CONTROL) on the database covers every schema and object; one on ``SCHEMA::dbo``
    covers every table; one on an object covers that object.
    """
    roles = roles_of(conn, user)
    if "db_owner" in roles or any(permission in ROLE_PERMISSIONS.get(role, ()) for role in roles):
        return True
    grantees = [user, *roles]
    scopes = ["(class = 'DATABASE')"]
    params: list[str] = []
    if securable_class in ("SCHEMA", "OBJECT"):
        scopes.append("(class = 'SCHEMA' AND securable = 'dbo')")
    if securable_class == "OBJECT":
        scopes.append("(class = 'OBJECT' AND securable = ?)")
        params.append(securable)
    marks = ", ".join("?" for _ in grantees)
    row = conn.execute(
        f"SELECT 1 FROM {INTERNAL_PREFIX}permissions WHERE grantee IN ({marks}) "
        f"AND permission IN (?, 'CONTROL') AND ({' OR '.join(scopes)}) LIMIT 1",
        (*grantees, permission, *params),
    ).fetchone()
    return row is not None
