"""SQL data plane: T-SQL batches to an emulated database, authenticated as a SQL login.

``POST /_emulator/sql/servers/{server}/databases/{database}/query`` with HTTP Basic auth (SQL
login and password) and the JSON body ``{"batch": "<T-SQL>", "timeout": <seconds, optional>}``
answers ``{"result_sets": [{"columns": [...], "rows": [[...]]}], "messages": [...], "rowcount": n}``.
Errors answer ``{"error": {"number", "severity", "message", "messages"}}``: 401 for a failed
login (Msg 18456 / 4060), 404 for an unknown server, 400 for any T-SQL error. The password is
digested at once with the emulator's hasher; it is never stored, logged or echoed.

This is how ``elasticjobs_emulator.dbapi`` (and so the target-setup operator) reaches the emulator
in local mode; Azure is reached through ODBC instead. Server names are global in Azure, so the
server is found by name in any resource group.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from elasticjobs_emulator import tsql
from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.context import EmulatorContext

SQLPLANE_PREFIX = "/_emulator/sql/"
_REALM = {"WWW-Authenticate": 'Basic realm="emulator-sql", charset="UTF-8"'}

router = APIRouter(prefix=SQLPLANE_PREFIX.rstrip("/"))


class QueryRequest(BaseModel):
    """Body of a query request."""

    batch: str = Field(description="One T-SQL batch (no GO separators).")
    timeout: float | None = Field(default=None, gt=0, description="Cancel the batch after this many seconds.")


def _error(
    status: int, number: int, severity: int, message: str, messages: list[str] | None = None
) -> JSONResponse:
    body = {"number": number, "severity": severity, "message": message, "messages": messages or []}
    return JSONResponse({"error": body}, status, headers=_REALM if status == 401 else None)


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (login, password) if sep and login else None


def _catalog(context: EmulatorContext, server: str) -> ServerCatalog | None:
    for doc in context.store.resources_of_type("servers"):
        if doc.get("name", "").lower() == server.lower():
            return context.catalog(doc["id"])
    return None


def _json_value(value: Any) -> Any:
    return "0x" + value.hex().upper() if isinstance(value, bytes) else value


def _result_body(result: tsql.BatchResult) -> dict[str, Any]:
    return {
        "result_sets": [
            {"columns": rs.columns, "rows": [[_json_value(v) for v in row] for row in rs.rows]}
            for rs in result.result_sets
        ],
        "messages": result.messages,
        "rowcount": result.rowcount,
    }


@router.post("/servers/{server}/databases/{database}/query")
def query(server: str, database: str, body: QueryRequest, request: Request) -> JSONResponse:
    """Run one T-SQL batch in ``database`` of ``server`` as the Basic-auth SQL login."""
    credentials = _credentials(request)
    if credentials is None:
        return _error(401, 18456, 14, "Login failed: send the SQL login and password with HTTP Basic auth.")
    context: EmulatorContext = request.app.state.emulator
    catalog = _catalog(context, server)
    if catalog is None:
        return _error(404, 40532, 20, f'Cannot open server "{server}" requested by the login. '
                      "Create the server first (Microsoft.Sql/servers PUT).")  # fmt: skip
    login, password = credentials
    digest = context.hasher.digest(password)
    del password
    cancel = threading.Event()
    timer = threading.Timer(body.timeout, cancel.set) if body.timeout else None
    try:
        principal = tsql.connect(catalog, database, login, digest)
        if timer is not None:
            timer.start()
        result = tsql.execute_batch(catalog, database, principal, body.batch, cancel=cancel)
    except tsql.LoginFailed as error:
        return _error(401, error.number, error.severity, error.message)
    except tsql.TsqlError as error:
        return _error(400, error.number, error.severity, error.message, error.messages)
    finally:
        if timer is not None:
            timer.cancel()
    return JSONResponse(_result_body(result))
