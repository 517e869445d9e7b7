"""ARM routes of ``Microsoft.Sql/servers`` (the minimum the tutorial needs).

Creating a server creates its ``master`` database. Resource groups are not emulated: any name is
accepted. Server names are global (as in Azure, where they are DNS names), so a name already used
in another resource group or subscription is refused with 409.
The admin password is write-only: only its keyed digest is stored (``Store.set_secret``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm, validation
from elasticjobs_emulator.api.databases import create_master, drop_database_files
from elasticjobs_emulator.context import EmulatorContext

router = APIRouter()
_NAME_INDEX = "server-name:"
# What Azure returns for a new server with no private endpoint, Entra admin or outbound rules (the
# spec's ServerGet.json has these keys; Terraform azurerm's mssql_server defaults: network access
# on, outbound restriction off, TLS 1.2). ``administrators`` is only returned once an Entra admin is
# set, which the emulator does not model.
_NEW_SERVER_DEFAULTS: dict[str, Any] = {
    "minimalTlsVersion": "1.2",
    "publicNetworkAccess": "Enabled",
    "restrictOutboundNetworkAccess": "Disabled",
    "isIPv6Enabled": "Disabled",
    "workspaceFeature": "Connected",
    "retentionDays": 7,
    "externalGovernanceStatus": "Disabled",
    "privateEndpointConnections": [],
}


# Properties a caller may set on PUT or PATCH, kept as sent (``administrators``: the Entra admin of
# ServerCreate.json, stored, not used for sign-in).
_SETTABLE_TEXT = (
    "minimalTlsVersion",
    "publicNetworkAccess",
    "restrictOutboundNetworkAccess",
    "isIPv6Enabled",
)


def _settings(properties: dict[str, Any]) -> dict[str, Any]:
    """The settable properties the request carries, validated."""
    settings: dict[str, Any] = {}
    for key in _SETTABLE_TEXT:
        value = validation.text(properties, key, "properties.", required=False)
        if value is not None:
            settings[key] = value
    retention = properties.get("retentionDays")
    if retention is not None:
        if isinstance(retention, bool) or not isinstance(retention, int) or retention < 0:
            raise errors.invalid("properties.retentionDays", "must be a whole number of days (0 or more).")
        settings["retentionDays"] = retention
    administrators = validation.sub_object(properties, "administrators", "properties.")
    if administrators is not None:
        settings["administrators"] = administrators
    return settings


def _checked_login(existing: dict[str, Any], login: str | None) -> str:
    """The server's login: it cannot change once the server exists."""
    current_login = existing["properties"]["administratorLogin"]
    if login is not None and login != current_login:
        raise errors.invalid(
            "properties.administratorLogin",
            f"cannot change from '{current_login}'; omit it or send the current login.",
        )
    return str(current_login)


def _owner_of_name(context: EmulatorContext, name: str) -> str | None:
    return context.store.get_meta(_NAME_INDEX + name.lower()) or None


@router.get(arm.RG_PREFIX + "/servers")
def list_servers(request: Request) -> dict[str, Any]:
    """Servers of a resource group."""
    parent = arm.path_id(request).rsplit("/", 1)[0]
    return arm.list_answer(request, arm.ctx(request).store.children(parent, "servers"))


@router.get("/subscriptions/{subscription_id}/providers/Microsoft.Sql/servers")
def list_subscription_servers(request: Request, subscription_id: str) -> dict[str, Any]:
    """Servers of a subscription (every resource group)."""
    prefix = f"/subscriptions/{subscription_id}/".lower()
    servers = arm.ctx(request).store.resources_of_type("servers")
    return arm.list_answer(request, [doc for doc in servers if doc["id"].lower().startswith(prefix)])


@router.get(arm.SERVER_PREFIX)
def get_server(request: Request) -> dict[str, Any]:
    """One server."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(arm.SERVER_PREFIX)
def put_server(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Create (201) or update (200) a server; it is ready at once."""
    context = arm.ctx(request)
    server_id = arm.path_id(request)
    body = arm.object_body(body)
    properties = arm.properties_of(body, required=True)
    existing = context.store.get(server_id)
    owner = _owner_of_name(context, arm.resource_name(server_id))
    if existing is None and owner is not None:
        raise errors.conflict(
            "NameAlreadyExists",
            f"The server name '{arm.resource_name(server_id)}' is already in use (server names are global); "
            "choose another name.",
        )
    location = validation.location(body, required=existing is None) or existing["location"]
    login = validation.text(properties, "administratorLogin", "properties.", required=existing is None)
    password = validation.text(
        properties, "administratorLoginPassword", "properties.", required=existing is None
    )
    if existing is not None:
        login = _checked_login(existing, login)
    tags = validation.sub_object(body, "tags", "")
    version = validation.text(properties, "version", "properties.", required=False) or "12.0"
    name = arm.resource_name(server_id)
    doc = arm.new_doc(
        server_id,
        {
            "administratorLogin": login,
            "version": version,
            "state": "Ready",
            "fullyQualifiedDomainName": f"{name.lower()}.database.windows.net",
            **_NEW_SERVER_DEFAULTS,
            **_settings(properties),
        },
        location=location,
        tags=tags,
        kind="v12.0",
    )
    if existing is not None:
        doc["id"], doc["name"] = existing["id"], existing["name"]
    with context.store.transaction():
        context.store.put(server_id, doc)
        if password is not None:
            context.store.set_secret(server_id, context.hasher.digest(password))
        if existing is None:
            context.store.set_meta(_NAME_INDEX + name.lower(), server_id)
            create_master(context, doc)
    return arm.put_answer(doc, created=existing is None)


@router.patch(arm.SERVER_PREFIX)
def patch_server(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Update a server's tags, password and settable properties (200 with the server)."""
    context = arm.ctx(request)
    server_id = arm.path_id(request)
    doc = arm.require(context, server_id)
    body = arm.object_body(body)
    properties = arm.properties_of(body)
    _checked_login(doc, validation.text(properties, "administratorLogin", "properties.", required=False))
    password = validation.text(properties, "administratorLoginPassword", "properties.", required=False)
    tags = validation.sub_object(body, "tags", "")
    if tags is not None:
        doc["tags"] = tags
    doc["properties"].update(_settings(properties))
    with context.store.transaction():
        context.store.put(server_id, doc)
        if password is not None:
            context.store.set_secret(server_id, context.hasher.digest(password))
    return JSONResponse(doc)


@router.delete(arm.SERVER_PREFIX)
def delete_server(request: Request) -> Response:
    """Delete a server with its databases (and their files), agents and jobs."""
    context = arm.ctx(request)
    server_id = arm.path_id(request)
    server = context.store.get(server_id)
    if server is None:
        return arm.delete_answer(False)
    context.engine.cancel_active(server_id)
    databases = [doc["name"] for doc in context.store.children(server_id, "databases")]
    with context.store.transaction():
        context.store.delete(server_id)
        context.store.set_meta(_NAME_INDEX + server["name"].lower(), "")
    drop_database_files(context, server_id, databases)
    return arm.delete_answer(True)
