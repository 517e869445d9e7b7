"""Bearer-token authentication and ``api-version`` checks for the emulator's ARM surface.

A pure ASGI middleware, so it answers before routing exactly like ARM does: a request without a
valid token gets 401 even for a path that does not exist. The health endpoint is public and the
SQL data plane authenticates SQL logins itself (Basic auth), so both are let through.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from airflow_elasticjobs.emulator import errors
from airflow_elasticjobs.emulator.context import API_VERSION

ARM_PREFIX = "/subscriptions/"
HEALTH_PATH = "/_emulator/health"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def check_api_version(query_string: bytes) -> None:
    """Raise the ARM error for a missing or unsupported ``api-version`` query parameter."""
    values = parse_qs(query_string.decode("latin-1")).get("api-version")
    if not values:
        raise errors.missing_api_version()
    if values[0] != API_VERSION:
        raise errors.invalid_api_version(values[0], API_VERSION)


class ArmAuthMiddleware:
    """Reject ARM and test-control requests that lack the configured bearer token."""

    def __init__(self, app: ASGIApp, token: str, unauthenticated_prefixes: Iterable[str] = ()) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._open = (HEALTH_PATH, *unauthenticated_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it to the app or answer with the ARM error."""
        if scope["type"] != "http" or scope["path"].startswith(self._open):
            await self.app(scope, receive, send)
            return
        try:
            self._authenticate(scope)
            if scope["path"].startswith(ARM_PREFIX):
                check_api_version(scope.get("query_string", b""))
        except errors.ArmError as error:
            await JSONResponse(error.body(), error.status, headers=error.headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> None:
        authorization = _header(scope, b"authorization")
        if authorization is None:
            raise errors.unauthorized()
        if not hmac.compare_digest(authorization.encode("latin-1"), self._expected):
            raise errors.unauthorized(
                "The access token is invalid. Send 'Authorization: Bearer <token>' with the token "
                "the emulator was started with (--token / ELASTIC_JOBS_EMULATOR_TOKEN)."
            )
