"""SQL Server errors raised by the interpreter: one class per kind, one factory per error number.

Numbers, severities and wording follow SQL Server / Azure SQL Database (see
``docs/emulator-tsql.md`` for the table). No factory ever puts a password into a message.
"""

from __future__ import annotations


class TsqlError(Exception):
    """A SQL Server error: ``number``, ``severity`` and ``message`` (as in ``Msg 208, Level 16``).

    ``messages`` holds what the batch printed before the error (PRINT, low-severity RAISERROR).
    """

    def __init__(self, number: int, severity: int, message: str) -> None:
        super().__init__(message)
        self.number = number
        self.severity = severity
        self.message = message
        self.messages: list[str] = []

    def __str__(self) -> str:
        return f"Msg {self.number}, Level {self.severity}: {self.message}"


class UnsupportedStatement(TsqlError):
    """A statement (or option) outside the emulator's T-SQL subset."""

    def __init__(self, what: str, hint: str = "") -> None:
        message = (
            f"'{what}' is not supported by the emulator; its T-SQL subset is listed in docs/emulator-tsql.md."
        )
        super().__init__(40517, 16, f"{message} {hint}".strip())
        self.what = what


class PermissionDenied(TsqlError):
    """The principal lacks the permission a statement needs."""


class LoginFailed(TsqlError):
    """A SQL login could not open the database (wrong login, password or no user there)."""


class QueryCanceled(TsqlError):
    """The batch was cancelled by the caller (client attention, job cancel or timeout)."""


def syntax_error(near: str) -> TsqlError:
    """Msg 102: incorrect syntax near a token."""
    return TsqlError(102, 15, f"Incorrect syntax near '{near}'.")


def invalid_object(name: str) -> TsqlError:
    """Msg 208: the table does not exist."""
    return TsqlError(208, 16, f"Invalid object name '{name}'.")


def login_failed(login: str) -> LoginFailed:
    """Msg 18456, the message Azure SQL sends for any authentication failure."""
    return LoginFailed(18456, 14, f"Login failed for user '{login}'.")


#: The user name Azure SQL puts in Msg 18456 when a Microsoft Entra token (a managed identity's) was
#: refused: no user for the identity in the database (CREATE USER … FROM EXTERNAL PROVIDER).
TOKEN_PRINCIPAL = "<token-identified principal>"


def identity_login_failed() -> LoginFailed:
    """Msg 18456 for a Microsoft Entra token: the identity has no user in the database."""
    return login_failed(TOKEN_PRINCIPAL)


def cannot_open_database(database: str) -> LoginFailed:
    """Msg 4060: the database does not exist on the server."""
    return LoginFailed(
        4060, 11, f'Cannot open database "{database}" requested by the login. The login failed.'
    )


def permission_denied_database(permission: str, database: str) -> PermissionDenied:
    """Msg 262: a database-level permission (e.g. CREATE TABLE) is missing."""
    return PermissionDenied(262, 14, f"{permission} permission denied in database '{database}'.")


def permission_denied_object(permission: str, table: str, database: str) -> PermissionDenied:
    """Msg 229: an object permission (SELECT, INSERT, UPDATE, DELETE) is missing."""
    return PermissionDenied(
        229,
        14,
        f"The {permission} permission was denied on the object '{table}', "
        f"database '{database}', schema 'dbo'.",
    )


def schema_denied(schema: str) -> PermissionDenied:
    """Msg 2760: CREATE TABLE without ALTER on the schema."""
    return PermissionDenied(
        2760,
        16,
        f'The specified schema name "{schema}" either does not exist '
        "or you do not have permission to use it.",
    )


def cannot_drop_table(table: str, verb: str = "drop") -> TsqlError:
    """Msg 3701: DROP/TRUNCATE TABLE of a missing table or without ALTER on it."""
    return TsqlError(
        3701,
        11,
        f"Cannot {verb} the table '{table}', because it does not exist or you do not have permission.",
    )


def no_permission() -> PermissionDenied:
    """Msg 15247: a security statement the principal may not run."""
    return PermissionDenied(15247, 16, "User does not have permission to perform this action.")


def cannot_find(kind: str, name: str, verb: str = "find") -> TsqlError:
    """Msg 15151: a principal or securable that does not exist (or is not visible)."""
    return TsqlError(
        15151,
        16,
        f"Cannot {verb} the {kind} '{name}', because it does not exist or you do not have permission.",
    )


def canceled() -> QueryCanceled:
    """Msg 3980: the batch was aborted by an attention signal from the client."""
    return QueryCanceled(
        3980,
        16,
        "The request failed to run because the batch is aborted, this can be caused by abort signal sent "
        "from client, or another request is running in the same session, which makes the session busy.",
    )
