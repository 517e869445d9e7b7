"""CREATE/ALTER/DROP LOGIN, CREATE/DROP USER, GRANT/REVOKE and ALTER ROLE (hand-parsed).

Logins live in ``master``; users, role memberships and GRANTs in each database. Passwords are
digested with the server's :class:`PasswordHasher` at once and never appear in a message.
``CREATE USER [name] FROM EXTERNAL PROVIDER`` makes a Microsoft Entra user (type ``E``, no login):
the principal a job agent's managed identity named ``name`` logs in as (``tsql.connect_identity``).
"""

from __future__ import annotations

import sqlite3

from elasticjobs_emulator.tsql import security
from elasticjobs_emulator.tsql.errors import (
    TsqlError,
    UnsupportedStatement,
    cannot_find,
    no_permission,
    syntax_error,
)
from elasticjobs_emulator.tsql.lexer import TokenCursor
from elasticjobs_emulator.tsql.parser import Simple
from elasticjobs_emulator.tsql.session import Session

P = security.INTERNAL_PREFIX
_MAX_NAME = 128
DATABASE_PERMISSIONS = frozenset(
    {"CREATE TABLE", "CREATE VIEW", "CREATE PROCEDURE", "CREATE FUNCTION", "CREATE SCHEMA", "ALTER ANY USER",
     "ALTER ANY ROLE", "ALTER ANY SCHEMA", "CONNECT", "VIEW DATABASE STATE", "SHOWPLAN"}
)  # fmt: skip
SECURABLE_PERMISSIONS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "ALTER", "CONTROL", "REFERENCES", "EXECUTE", "VIEW DEFINITION"}
)


def _checked_name(name: str, what: str) -> str:
    if len(name) > _MAX_NAME:
        raise TsqlError(
            103, 15, f"The {what} that starts with '{name[:30]}' is too long. Maximum length is 128."
        )
    return name


def _check_password_policy(password: str, login: str) -> None:
    """Azure SQL's policy: 8-128 characters, three of four character classes, not the login name."""
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if not 8 <= len(password) <= 128 or sum(classes) < 3 or login.lower() in password.lower():
        raise TsqlError(
            15118,
            16,
            "Password validation failed. The password does not meet policy requirements because it is not "
            "complex enough (8-128 characters from three of: lower case, upper case, digits, symbols; "
            "not containing the login name).",
        )


def _password_clause(cur: TokenCursor, login: str) -> str:
    cur.expect_word("WITH")
    cur.expect_word("PASSWORD")
    cur.expect_punct("=")
    password = cur.string("the password as a string literal")
    tok = cur.peek()
    if tok is not None:
        raise UnsupportedStatement(f"LOGIN option {tok.display()}", "Only WITH PASSWORD = '…' is.")
    return password


def _require_login_admin(s: Session) -> None:
    if not s.is_master:
        raise TsqlError(5001, 16, "User must be in the master database.")
    if not s.has_permission("ALTER ANY LOGIN"):
        raise no_permission()


def create_login(s: Session, st: Simple) -> None:
    """``CREATE LOGIN name WITH PASSWORD = '…'`` (master only)."""
    cur = TokenCursor(st.tokens, 2)
    login = _checked_name(cur.name("the login name"), "login name")
    password = _password_clause(cur, login)
    _require_login_admin(s)
    _check_password_policy(password, login)
    admin = s.catalog.admin_login or ""
    if admin.lower() == login.lower() or security.login_digest(s.conn, login):
        raise TsqlError(15025, 16, f"The server principal '{login}' already exists.")
    stamp = security.now()
    s.conn.execute(
        f"INSERT INTO {P}logins(name, principal_id, password_digest, create_date, modify_date) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            login,
            security.next_principal_id(s.conn, "logins"),
            s.catalog.hasher.digest(password),
            stamp,
            stamp,
        ),
    )


def alter_login(s: Session, st: Simple) -> None:
    """``ALTER LOGIN name WITH PASSWORD = '…'`` (master only; not the server admin)."""
    cur = TokenCursor(st.tokens, 2)
    login = cur.name("the login name")
    password = _password_clause(cur, login)
    _require_login_admin(s)
    _check_password_policy(password, login)
    if (s.catalog.admin_login or "").lower() == login.lower():
        raise UnsupportedStatement(
            "ALTER LOGIN of the server admin",
            "Change it through the ARM servers API (administratorLoginPassword).",
        )
    updated = s.conn.execute(
        f"UPDATE {P}logins SET password_digest = ?, modify_date = ? WHERE name = ?",
        (s.catalog.hasher.digest(password), security.now(), login),
    ).rowcount
    if not updated:
        raise cannot_find("login", login, "alter")


def drop_login(s: Session, st: Simple) -> None:
    """``DROP LOGIN name`` (master only). Users mapped to it stay behind, orphaned, as in SQL Server."""
    cur = TokenCursor(st.tokens, 2)
    login = cur.name("the login name")
    cur.expect_end()
    _require_login_admin(s)
    if not s.conn.execute(f"DELETE FROM {P}logins WHERE name = ?", (login,)).rowcount:
        raise cannot_find("login", login, "drop")


def _create_external_user(s: Session, cur: TokenCursor, user: str) -> None:
    """``CREATE USER name FROM EXTERNAL PROVIDER``: an Entra user (the emulator takes any name)."""
    cur.expect_word("PROVIDER")
    if cur.accept_word("WITH"):
        raise UnsupportedStatement("CREATE USER … FROM EXTERNAL PROVIDER WITH …")
    cur.expect_end()
    if not s.has_permission("ALTER ANY USER"):
        raise no_permission()
    if security.principal(s.conn, user):
        raise TsqlError(15023, 16, f"User, group, or role '{user}' already exists in the current database.")
    s.conn.execute(
        f"INSERT INTO {P}principals(name, principal_id, type, login, create_date) "
        f"VALUES (?, ?, '{security.EXTERNAL_USER}', NULL, ?)",
        (user, security.next_principal_id(s.conn, "principals"), security.now()),
    )


def create_user(s: Session, st: Simple) -> None:
    """``CREATE USER name [{FROM|FOR} LOGIN login | FROM EXTERNAL PROVIDER] [WITH DEFAULT_SCHEMA = dbo]``."""
    cur = TokenCursor(st.tokens, 2)
    user = _checked_name(cur.name("the user name"), "user name")
    login = user
    if cur.accept_word("FROM", "FOR"):
        if cur.accept_word("EXTERNAL"):
            _create_external_user(s, cur, user)
            return
        cur.expect_word("LOGIN")
        login = cur.name("the login name")
    elif cur.accept_word("WITHOUT"):
        raise UnsupportedStatement("CREATE USER … WITHOUT LOGIN")
    if cur.accept_word("WITH"):
        option = cur.name("an option")
        if option.upper() == "PASSWORD":
            raise UnsupportedStatement("CREATE USER … WITH PASSWORD (contained database user)")
        if option.upper() != "DEFAULT_SCHEMA":
            raise UnsupportedStatement(f"CREATE USER option {option}")
        cur.expect_punct("=")
        if cur.name("a schema").lower() != "dbo":
            raise UnsupportedStatement("a default schema other than dbo")
    cur.expect_end()
    if not s.has_permission("ALTER ANY USER"):
        raise no_permission()
    if security.principal(s.conn, user):
        raise TsqlError(15023, 16, f"User, group, or role '{user}' already exists in the current database.")
    with s.master() as master:
        found = security.login_digest(master, login)
    is_admin_login = (s.catalog.admin_login or "").lower() == login.lower()
    if is_admin_login or (found and security.user_for_login(s.conn, found[0])):
        raise TsqlError(15063, 16, "The login already has an account under a different user name.")
    if not found:
        raise TsqlError(15007, 16, f"'{login}' is not a valid login or you do not have permission.")
    s.conn.execute(
        f"INSERT INTO {P}principals(name, principal_id, type, login, create_date) VALUES (?, ?, 'S', ?, ?)",
        (user, security.next_principal_id(s.conn, "principals"), found[0], security.now()),
    )


def drop_user(s: Session, st: Simple) -> None:
    """``DROP USER [IF EXISTS] name`` (removes its role memberships and GRANTs too)."""
    cur = TokenCursor(st.tokens, 2)
    if_exists = cur.accept_word("IF") is not None
    if if_exists:
        cur.expect_word("EXISTS")
    user = cur.name("the user name")
    cur.expect_end()
    if not s.has_permission("ALTER ANY USER"):
        raise no_permission()
    found = security.principal(s.conn, user)
    if found is None or not security.is_droppable_user(found):
        if if_exists and found is None:
            return
        raise cannot_find("user", user, "drop")
    with s.conn:
        s.conn.execute("BEGIN")
        s.conn.execute(f"DELETE FROM {P}principals WHERE name = ?", (user,))
        s.conn.execute(f"DELETE FROM {P}role_members WHERE member = ?", (user,))
        s.conn.execute(f"DELETE FROM {P}permissions WHERE grantee = ?", (user,))


def _permissions(cur: TokenCursor) -> list[str]:
    permissions, words = [], []
    while (tok := cur.peek()) is not None and not tok.is_word("ON", "TO", "FROM"):
        cur.next()
        if tok.is_punct(","):
            permissions.append(" ".join(words))
            words = []
        elif tok.upper:
            words.append(tok.upper)
        else:
            raise syntax_error(tok.display())
    permissions.append(" ".join(words))
    for permission in permissions:
        if permission not in DATABASE_PERMISSIONS | SECURABLE_PERMISSIONS:
            raise UnsupportedStatement(f"permission {permission or '(none)'}")
    return permissions


def _securable(s: Session, cur: TokenCursor) -> tuple[str, str]:
    """Parse ``ON [class::]name`` into (class, name); validate it exists."""
    if not cur.accept_word("ON"):
        return "DATABASE", ""
    securable_class = "OBJECT"
    if (tok := cur.peek()) is not None and tok.is_word("SCHEMA", "OBJECT", "DATABASE"):
        securable_class = cur.expect_word("SCHEMA", "OBJECT", "DATABASE")
        cur.expect_punct("::")
    parts = cur.multipart_name()
    name = parts[-1]
    if securable_class == "DATABASE":
        if name.lower() != s.database.lower():
            raise cannot_find("database", name)
        return "DATABASE", ""
    if securable_class == "SCHEMA":
        if len(parts) > 1 or name.lower() != "dbo":
            raise cannot_find("schema", ".".join(parts))
        return "SCHEMA", "dbo"
    if len(parts) > 2 or (len(parts) == 2 and parts[0].lower() != "dbo") or not _table_exists(s.conn, name):
        raise cannot_find("object", ".".join(parts))
    return "OBJECT", name


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    if name.lower().startswith(P):
        return False
    return (
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        is not None
    )


def _principal_list(s: Session, cur: TokenCursor) -> list[str]:
    names = [cur.name("a principal")]
    while cur.accept_punct(","):
        names.append(cur.name("a principal"))
    resolved = []
    for name in names:
        found = security.principal(s.conn, name)
        if found is None:
            raise cannot_find("user", name)
        resolved.append(found[0])
    return resolved


def grant_or_revoke(s: Session, st: Simple) -> None:
    """``GRANT perm[, …] [ON [SCHEMA::|OBJECT::|DATABASE::]name] TO principal[, …]``; REVOKE … FROM."""
    grant = st.kind == "GRANT"
    cur = TokenCursor(st.tokens, 1)
    if not grant and cur.accept_word("GRANT"):
        raise UnsupportedStatement("REVOKE GRANT OPTION FOR")
    permissions = _permissions(cur)
    securable_class, securable = _securable(s, cur)
    for permission in permissions:
        if securable_class != "DATABASE" and permission in DATABASE_PERMISSIONS:
            raise TsqlError(
                4613, 16, f"Granted or revoked privilege {permission} is not compatible with object."
            )
    cur.expect_word(*(("TO",) if grant else ("TO", "FROM")))
    grantees = _principal_list(s, cur)
    if cur.accept_word("WITH"):
        raise UnsupportedStatement("GRANT … WITH GRANT OPTION")
    if cur.accept_word("CASCADE"):
        raise UnsupportedStatement("REVOKE … CASCADE")
    cur.expect_end()
    if not s.has_permission("ALTER ANY ROLE") and not s.has_permission("CONTROL", securable_class, securable):
        raise no_permission()
    rows = [(g, p, securable_class, securable) for g in grantees for p in permissions]
    if grant:
        s.conn.executemany(f"INSERT OR IGNORE INTO {P}permissions VALUES (?, ?, ?, ?)", rows)
    else:
        s.conn.executemany(
            f"DELETE FROM {P}permissions "
            "WHERE grantee = ? AND permission = ? AND class = ? AND securable = ?",
            rows,
        )


def alter_role(s: Session, st: Simple) -> None:
    """``ALTER ROLE role {ADD|DROP} MEMBER user`` for the fixed database roles."""
    cur = TokenCursor(st.tokens, 2)
    role_name = cur.name("the role name")
    action = cur.expect_word("ADD", "DROP")
    cur.expect_word("MEMBER")
    member_name = cur.name("the member name")
    cur.expect_end()
    role = security.principal(s.conn, role_name)
    if role is None or role[1] != "R" or role[0] == "public":
        raise cannot_find("role", role_name, "alter")
    if not (s.has_permission("ALTER ANY ROLE") and (role[0] != "db_owner" or s.has_permission("CONTROL"))):
        raise no_permission()
    member = security.principal(s.conn, member_name)
    if member is None or member[1] not in security.USER_TYPES or member[0] == "dbo":
        raise cannot_find("principal", member_name, "add" if action == "ADD" else "drop")
    if action == "ADD":
        s.conn.execute(f"INSERT OR IGNORE INTO {P}role_members VALUES (?, ?)", (role[0], member[0]))
    else:
        s.conn.execute(f"DELETE FROM {P}role_members WHERE role = ? AND member = ?", (role[0], member[0]))
