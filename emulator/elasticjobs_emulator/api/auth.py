"""Bearer-token authentication, role checks and ``api-version`` checks for the emulator's ARM surface.

A pure ASGI middleware, so it answers before routing exactly like ARM does: a request without a
valid token gets 401 even for a path that does not exist. The health endpoint and the Entra ID
authority's endpoints are public and the SQL data plane authenticates SQL logins itself (Basic auth),
so they are let through.

ARM paths accept the static token (full rights) or a live token issued by the emulator's Entra ID
authority (:mod:`elasticjobs_emulator.api.entra`): an expired one answers 401
``ExpiredAuthenticationToken``, and a ``reader`` principal gets 403 ``AuthorizationFailed`` for
anything but GET/HEAD. Test controls (``/_emulator/``) accept only the static token.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from elasticjobs_emulator import api_versions, errors
from elasticjobs_emulator.principals import Principal, Principals

ARM_PREFIX = "/subscriptions/"
HEALTH_PATH = "/_emulator/health"
_READ_METHODS = ("GET", "HEAD")
_ACTION_VERBS = {"PUT": "write", "PATCH": "write", "DELETE": "delete"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def check_api_version(query_string: bytes, path: str) -> None:
    """Raise the ARM error for a missing ``api-version`` query parameter, a malformed one, or one
    the addressed resource type was never published in (``api_versions.PUBLISHED``)."""
    values = parse_qs(query_string.decode("latin-1")).get("api-version")
    if not values:
        raise errors.missing_api_version()
    type_name = api_versions.resource_type(path)
    supported = ", ".join(api_versions.supported(type_name))
    if not api_versions.is_well_formed(values[0]):
        raise errors.invalid_api_version(values[0], supported)
    if not api_versions.is_published(type_name, values[0]):
        raise errors.unsupported_api_version(type_name or "servers", values[0], supported)


def arm_action(method: str, path: str) -> tuple[str, str]:
    """The RBAC action and scope ARM checks for a write request, e.g. ``PUT …/jobAgents/a`` →
    (``Microsoft.Sql/servers/jobAgents/write``, the agent's id); ``POST …/jobs/j/start`` →
    (``Microsoft.Sql/servers/jobAgents/jobs/start/action``, the job's id)."""
    segments = path.rstrip("/").split("/")
    lowered = [segment.lower() for segment in segments]
    if "providers" not in lowered:
        return f"Microsoft.Resources/{_ACTION_VERBS.get(method, 'action')}", path
    at = lowered.index("providers") + 1
    namespace, rest = segments[at], segments[at + 1 :]
    types = rest[0::2]
    if method == "POST" and len(rest) % 2 == 1:  # …/{type}/{name}/{action}
        return f"{namespace}/{'/'.join(types)}/action", "/".join(segments[:-1])
    return f"{namespace}/{'/'.join(types)}/{_ACTION_VERBS.get(method, 'action')}", path


class ArmAuthMiddleware:
    """Reject ARM and test-control requests without the static token or a live issued token."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        principals: Principals,
        unauthenticated_prefixes: Iterable[str] = (),
        public_path: Callable[[str], bool] = lambda _path: False,
    ) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._principals = principals
        self._open = (HEALTH_PATH, *unauthenticated_prefixes)
        self._public_path = public_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it to the app or answer with the ARM error."""
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self._open) or self._public_path(path):
            await self.app(scope, receive, send)
            return
        try:
            principal = self._authenticate(scope)
            if path.startswith(ARM_PREFIX):
                if principal is not None and not principal.can_write and scope["method"] not in _READ_METHODS:
                    action, resource = arm_action(scope["method"], path)
                    raise errors.authorization_failed(
                        principal.object_id, principal.object_id, action, resource
                    )
                check_api_version(scope.get("query_string", b""), path)
        except errors.ArmError as error:
            await JSONResponse(error.body(), error.status, headers=error.headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authenticate(self, scope: Scope) -> Principal | None:
        """``None`` for the static token, the principal for a live issued token (ARM paths only)."""
        authorization = _header(scope, b"authorization")
        if authorization is None:
            raise errors.unauthorized()
        if hmac.compare_digest(authorization.encode("latin-1"), self._expected):
            return None
        scheme, _, token = authorization.partition(" ")
        arm_bearer = scheme.lower() == "bearer" and scope["path"].startswith(ARM_PREFIX)
        issued = self._principals.verify(token) if arm_bearer else None
        if issued is None:
            raise errors.unauthorized(
                "The access token is invalid. Send 'Authorization: Bearer <token>' with the token "
                "the emulator was started with (--token / ELASTIC_JOBS_EMULATOR_TOKEN) or one its "
                "Entra ID token endpoint issued (ARM paths only)."
            )
        arm_now = issued.expired_at(time.time())
        if arm_now is not None:
            raise errors.expired_token(issued.expires_on, arm_now, _authority(scope))
        return issued.principal


def _authority(scope: Scope) -> str:
    """This server's own URL, the ``authorization_uri`` of its 401 challenges."""
    host = _header(scope, b"host") or "127.0.0.1"
    return f"{scope.get('scheme', 'https')}://{host}/"
