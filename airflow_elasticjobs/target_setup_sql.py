"""T-SQL of the target setup: idempotent, quoted logins, users, grants and role memberships.

Every identifier goes through :func:`quote_identifier` (``QUOTENAME``: ``[a]]b]``) and every
string through :func:`quote_literal` (``N'…'`` with ``''``), after :func:`validate_name` has
checked it locally, so no name or password can change the statement. Each batch ends with one
``SELECT`` of the outcome (``created`` / ``existed`` / ``updated``) so the caller can report
what changed. A batch that carries a password also has a ``display`` form with the password
replaced by ``'***'``, the only form that may be logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_elasticjobs.validation import invalid

MAX_NAME_LENGTH = 128
REDACTED = "N'***'"
DEFAULT_GRANTS = ("ALTER ON SCHEMA::dbo", "CREATE TABLE")
_PERMISSION = re.compile(r"^[A-Z]+(?: [A-Z]+)*$")
_GRANT = re.compile(
    r"^\s*(?P<permission>[A-Za-z ]+?)\s*(?:\bON\s+(?:(?P<cls>SCHEMA|OBJECT|DATABASE)::)?(?P<name>.+?))?\s*$",
    re.I,
)


@dataclass(frozen=True)
class Batch:
    """One T-SQL batch to run, and the form of it that may be logged."""

    sql: str
    display: str


def validate_name(value: object, field: str) -> str:
    """Check a login/user/role/database name: a non-empty string of at most 128 printable characters."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, value, "give a non-empty name")
    if len(value) > MAX_NAME_LENGTH:
        raise invalid(
            field, value[:30] + "…", f"SQL names have at most {MAX_NAME_LENGTH} characters; shorten it"
        )
    if any(not ch.isprintable() for ch in value):
        raise invalid(field, value, "remove the control characters")
    if value != value.strip():
        raise invalid(field, value, "remove the leading or trailing spaces")
    return value


def quote_identifier(name: str) -> str:
    """``QUOTENAME(name)``: bracket an identifier, doubling ``]``."""
    return "[" + name.replace("]", "]]") + "]"


def quote_literal(value: str) -> str:
    """A Unicode T-SQL string literal, doubling ``'``."""
    if "\x00" in value:
        raise ValueError("A string for T-SQL contains a NUL character; remove it.")
    return "N'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Grant:
    """One permission, optionally on a securable: ``ALTER ON SCHEMA::dbo``, ``CREATE TABLE``."""

    permission: str
    securable_class: str | None = None
    securable: str | None = None

    @classmethod
    def parse(cls, text: str, field: str = "grants") -> Grant:
        """Parse ``PERMISSION [ON [SCHEMA|OBJECT|DATABASE::]name]``; the error names the fix."""
        match = _GRANT.match(text) if isinstance(text, str) else None
        if not match:
            raise invalid(field, text, "write a grant like 'CREATE TABLE' or 'ALTER ON SCHEMA::dbo'")
        permission = " ".join(match["permission"].upper().split())
        if not _PERMISSION.match(permission):
            raise invalid(field, text, "the permission must be words like 'SELECT' or 'CREATE TABLE'")
        name = match["name"]
        if name is None:
            return cls(permission)
        if "::" in name:
            raise invalid(field, text, "write the securable as SCHEMA::name, OBJECT::name or DATABASE::name")
        name = re.sub(r"^(?:dbo|\[dbo\])\.", "", name.strip(), flags=re.I)
        if name.startswith("[") and name.endswith("]"):
            name = name[1:-1].replace("]]", "]")
        return cls(permission, (match["cls"] or "OBJECT").upper(), validate_name(name, f"{field} securable"))

    def render(self, grantee: str) -> str:
        """``GRANT … TO [grantee];`` with every name quoted."""
        target = ""
        if self.securable is not None:
            target = f" ON {self.securable_class}::{quote_identifier(self.securable)}"
        return f"GRANT {self.permission}{target} TO {quote_identifier(grantee)};"


def _outcome_if(condition: str, then: list[str], otherwise: str = "SELECT N'existed' AS outcome;") -> str:
    body = "\n    ".join(then)
    return f"SET NOCOUNT ON;\nIF {condition}\nBEGIN\n    {body}\nEND\nELSE\n    {otherwise}"


def login_batch(login: str, password: str, update_password: bool = False) -> Batch:
    """Create ``login`` in master unless it exists (then optionally reset its password)."""
    validate_name(login, "login")
    if not password:
        raise invalid(
            "password", "", f"login {login!r} has an empty password; set it on its Airflow connection"
        )
    exists = f"NOT EXISTS (SELECT 1 FROM sys.sql_logins WHERE name = {quote_literal(login)})"

    def render(secret: str) -> str:
        create = f"CREATE LOGIN {quote_identifier(login)} WITH PASSWORD = {secret};"
        otherwise = "SELECT N'existed' AS outcome;"
        if update_password:
            otherwise = (
                f"BEGIN\n    ALTER LOGIN {quote_identifier(login)} WITH PASSWORD = {secret};\n"
                "    SELECT N'updated' AS outcome;\nEND"
            )
        return _outcome_if(exists, [create, "SELECT N'created' AS outcome;"], otherwise)

    return Batch(render(quote_literal(password)), render(REDACTED))


def user_batch(user: str, login: str | None, grants: list[Grant], roles: list[str]) -> Batch:
    """Create ``user`` for ``login`` unless it exists; then apply grants and role memberships.

    With ``login=None`` the user is a Microsoft Entra one, ``CREATE USER [user] FROM EXTERNAL
    PROVIDER``: the user of a managed identity named ``user`` (Microsoft Learn, "Elastic jobs in Azure
    SQL Database", "Elastic job authentication"). GRANT and ``ALTER ROLE … ADD MEMBER`` are
    idempotent in SQL Server, so they run every time.
    """
    validate_name(user, "user")
    source = "FROM EXTERNAL PROVIDER"
    if login is not None:
        source = f"FROM LOGIN {quote_identifier(validate_name(login, 'login'))}"
    exists = f"NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = {quote_literal(user)})"
    create = f"CREATE USER {quote_identifier(user)} {source};"
    lines = [_outcome_if(exists, [create, "SELECT N'created' AS outcome;"])]
    lines += [grant.render(user) for grant in grants]
    lines += [
        f"ALTER ROLE {quote_identifier(validate_name(role, 'roles'))} ADD MEMBER {quote_identifier(user)};"
        for role in roles
    ]
    sql = "\n".join(lines)
    return Batch(sql, sql)
