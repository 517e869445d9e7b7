"""api/versioning.py: request bodies and answers shaped by their api-version, through the real ASGI stack."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from elasticjobs_emulator.api.versioning import ApiVersionShapingMiddleware

_SERVER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv"
_STORED = {
    "name": "srv",
    "location": "westus",
    "properties": {"administratorLogin": "admin", "restrictOutboundNetworkAccess": "Disabled"},
}


async def _echo(request: Request) -> Response:
    """What the router received, and the stored document (the newest shape) as the answer."""
    received = json.loads(await request.body() or b"null")
    return JSONResponse({**_STORED, "received": received})


async def _text(request: Request) -> Response:
    return Response("plain", media_type="text/plain")


@pytest.fixture
def client() -> TestClient:
    app = Starlette(routes=[Route(_SERVER, _echo, methods=["GET", "PUT"]), Route(f"{_SERVER}/text", _text)])
    return TestClient(ApiVersionShapingMiddleware(app))


def test_answer_loses_what_the_version_does_not_define(client: TestClient) -> None:
    old = client.get(_SERVER, params={"api-version": "2019-06-01-preview"})
    assert old.json()["properties"] == {"administratorLogin": "admin"}
    assert old.json()["location"] == "westus"  # base resource names are never dropped
    assert int(old.headers["content-length"]) == len(old.content)
    new = client.get(_SERVER, params={"api-version": "2025-01-01"})
    assert new.json()["properties"] == _STORED["properties"]


def test_request_properties_the_version_lacks_are_ignored(client: TestClient) -> None:
    body = {"location": "westus", "properties": {"administratorLogin": "a", "minimalTlsVersion": "1.2"}}
    old = client.put(_SERVER, params={"api-version": "2019-06-01-preview"}, json=body)
    assert old.status_code == 200
    assert old.json()["received"] == {"location": "westus", "properties": {"administratorLogin": "a"}}
    new = client.put(_SERVER, params={"api-version": "2025-01-01"}, json=body)
    assert new.json()["received"] == body


def test_bodies_that_are_not_json_objects_pass_through(client: TestClient) -> None:
    assert client.get(f"{_SERVER}/text", params={"api-version": "2019-06-01-preview"}).text == "plain"
    raw = client.put(
        _SERVER,
        params={"api-version": "2019-06-01-preview"},
        content=b"[1, 2]",
        headers={"content-type": "application/json"},
    )
    assert raw.json()["received"] == [1, 2]
