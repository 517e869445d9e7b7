"""Requests and responses shaped by their ``api-version``: what a version does not define is dropped.

A pure ASGI middleware inside the authentication one (which has already refused an api-version the
resource type was never published in). For a version that defines every property of the addressed
resource type (``2025-01-01`` and every later version, for every type but databases, whose versions
each lack a name another has) it passes the request through untouched; for another one it drops the
properties the version does not define (``api_versions.undefined_paths``, from the table generated
from the REST specification) from the JSON body of a PUT / PATCH before the router reads it and from
the JSON answer (a resource or a list page) before the client does.

Request properties a version does not define are ignored, not refused: Azure Resource Manager hands
the body to the resource provider unchecked, and resource providers generally ignore properties
their api-version does not have (the emulator does not claim Microsoft.Sql refuses them: that was
not verified against the real service). So an old client neither has to send nor gets back what
its version never had, nothing it sends that its version lacks reaches the router, and the routers
keep serving one shape.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from elasticjobs_emulator import api_versions

_ARM_PREFIX = "/subscriptions/"


def request_version(request: Request) -> str:
    """The request's ``api-version`` (the authentication middleware has already checked it), or the
    routers' own (``api_versions.ROUTES_VERSION``) where none was sent."""
    return request.query_params.get("api-version") or api_versions.ROUTES_VERSION


def _api_version(scope: Scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api-version")
    return values[0] if values else None


def _reshaped(raw: bytes, type_name: str | None, version: str) -> bytes | None:
    """``raw`` JSON shaped for ``version``; ``None`` when it is not a JSON object or needs no change."""
    try:
        body: Any = json.loads(raw)
    except ValueError:
        return None
    shaped = api_versions.shape(body, type_name, version)
    return None if shaped == body else json.dumps(shaped, separators=(",", ":")).encode()


class ApiVersionShapingMiddleware:
    """Drop from ARM request and response bodies the properties their ``api-version`` does not define."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, or shape the request body and the answer for an older api-version."""
        path = scope.get("path", "")
        version = _api_version(scope) if scope["type"] == "http" and path.startswith(_ARM_PREFIX) else None
        type_name = api_versions.resource_type(path) if version else None
        if version is None or not api_versions.undefined_paths(type_name, version):
            await self.app(scope, receive, send)
            return
        shaped_receive = _shaped_receive(receive, type_name, version)
        await self.app(scope, shaped_receive, _shaped_send(send, type_name, version))


def _shaped_receive(receive: Receive, type_name: str | None, version: str) -> Receive:
    """``receive`` whose request body arrives whole and shaped."""
    done = False

    async def shaped() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        done = True
        raw = b"".join(chunks)
        return {"type": "http.request", "body": _reshaped(raw, type_name, version) or raw, "more_body": False}

    return shaped


def _shaped_send(send: Send, type_name: str | None, version: str) -> Send:
    """``send`` that holds a JSON answer until it is whole, then sends it shaped."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def shaped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            if headers.get(b"content-type", b"").startswith(b"application/json"):
                start = message
                return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        raw = b"".join(chunks)
        body = _reshaped(raw, type_name, version) or raw
        headers = [(key, value) for key, value in start["headers"] if key.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return shaped
