"""ARM routes of ``Microsoft.Sql/servers/jobAgents``.

PUT, PATCH and DELETE are long-running operations (``api/lro.py``): 202 with
``Azure-AsyncOperation``/``Location``/``Retry-After``; ``properties.state`` is ``Creating`` /
``Updating`` / ``Deleting`` until the operation completes (then ``Ready``, or the agent is gone).
The job database (``properties.databaseId``) must be an existing user database of the same server
and cannot change. SKUs follow Azure: JA100, JA200, JA400, JA800 with capacity 100…800.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm, lro, validation
from elasticjobs_emulator.api.databases import MASTER
from elasticjobs_emulator.context import EmulatorContext

router = APIRouter()
SKU_CAPACITY = {"JA100": 100, "JA200": 200, "JA400": 400, "JA800": 800}
_DEFAULT_SKU = "JA100"
_IDENTITY_NAMESPACE = uuid.UUID("6f1d2c3e-8a4b-5c6d-9e0f-1a2b3c4d5e6f")


def _sku(body: dict[str, Any], default: str) -> dict[str, Any]:
    """``{"name", "capacity"}`` from the body's ``sku`` (``default`` when absent)."""
    sku = validation.sub_object(body, "sku", "") or {"name": default}
    name = validation.choice(sku, "name", "sku.", list(SKU_CAPACITY), default)
    capacity = sku.get("capacity")
    if capacity is not None and capacity != SKU_CAPACITY[name]:
        raise errors.invalid(
            "sku.capacity", f"{capacity} does not match sku {name}; omit it or pass {SKU_CAPACITY[name]}."
        )
    return {"name": name, "capacity": SKU_CAPACITY[name]}


def _identity(body: dict[str, Any]) -> dict[str, Any] | None:
    """The body's ``identity`` with ``clientId``/``principalId`` filled in for each user-assigned one.

    Azure answers the ids of the managed identity resource; the emulator makes stable GUIDs from
    the identity's resource id, so the same identity always shows the same ids.
    """
    identity = validation.sub_object(body, "identity", "")
    if identity is None:
        return None
    assigned = validation.sub_object(identity, "userAssignedIdentities", "identity.") or {}
    if assigned:
        identity = {
            **identity,
            "userAssignedIdentities": {
                resource_id: {
                    "clientId": str(uuid.uuid5(_IDENTITY_NAMESPACE, f"client:{resource_id.lower()}")),
                    "principalId": str(uuid.uuid5(_IDENTITY_NAMESPACE, f"principal:{resource_id.lower()}")),
                }
                for resource_id in assigned
            },
        }
    return identity


def _database_id(context: EmulatorContext, properties: dict[str, Any], server_id: str) -> str:
    value = validation.text(properties, "databaseId", "properties.")
    assert value is not None
    if not arm.is_child_of(value, server_id, "databases"):
        raise errors.invalid(
            "properties.databaseId",
            f"'{value}' is not a database of server '{arm.resource_name(server_id)}'; "
            f"pass an id like '{server_id}/databases/<name>'.",
        )
    database = context.store.get(value)
    if database is None:
        raise errors.invalid(
            "properties.databaseId", f"database '{arm.resource_name(value)}' does not exist; create it first."
        )
    if database["name"].lower() == MASTER:
        raise errors.invalid(
            "properties.databaseId", "the job database cannot be 'master'; use a user database."
        )
    return database["id"]


def _refuse_if_busy(context: EmulatorContext, agent_id: str) -> None:
    action = lro.pending_action(context.store, agent_id)
    if action is not None:
        raise errors.conflict(
            "AnotherOperationInProgress",
            f"The job agent '{arm.resource_name(agent_id)}' is {lro.running_state(action).lower()}; "
            "retry when its state is Ready.",
        )


@router.get(arm.SERVER_PREFIX + "/jobAgents")
def list_agents(request: Request) -> dict[str, Any]:
    """Job agents of a server."""
    context, server_id = arm.collection_parent(request)
    agents = context.store.children(server_id, "jobAgents")
    for agent in agents:
        lro.settle_agent(context.store, agent["id"])
    return arm.list_answer(request, context.store.children(server_id, "jobAgents"))


@router.get(arm.AGENT_PREFIX)
def get_agent(request: Request) -> dict[str, Any]:
    """One job agent (its state reflects any completed operation)."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(arm.AGENT_PREFIX)
def put_agent(request: Request, body: Annotated[Any, Body()] = None) -> Response:
    """Create or update a job agent: 202 and a long-running operation."""
    context, agent_id = arm.addressed(request)
    server_id = agent_id.rsplit("/jobAgents/", 1)[0]
    server = context.store.get(server_id)
    assert server is not None
    body = arm.object_body(body)
    properties = arm.properties_of(body, required=True)
    existing = arm.current(context, agent_id)
    database_id = _database_id(context, properties, server_id)
    if existing is None:
        location = validation.location(body, required=False) or server["location"]
        doc = arm.new_doc(
            agent_id,
            {"databaseId": database_id, "state": lro.running_state("create")},
            location=location,
            tags=validation.sub_object(body, "tags", ""),
            sku=_sku(body, _DEFAULT_SKU),
            identity=_identity(body),
        )
        context.store.put(agent_id, doc)
        return lro.start_operation(request, context, doc, "create")
    _refuse_if_busy(context, agent_id)
    if database_id.lower() != existing["properties"]["databaseId"].lower():
        raise errors.invalid(
            "properties.databaseId",
            f"the job database of an agent cannot change (it is '{existing['properties']['databaseId']}'); "
            "create a new agent for another database.",
        )
    return _update(request, context, existing, body)


@router.patch(arm.AGENT_PREFIX)
def patch_agent(request: Request, body: Annotated[Any, Body()] = None) -> Response:
    """Update sku, tags or identity of a job agent: 202 and a long-running operation."""
    context = arm.ctx(request)
    agent = arm.require(context, arm.path_id(request))
    _refuse_if_busy(context, agent["id"])
    return _update(request, context, agent, arm.object_body(body))


def _update(
    request: Request, context: EmulatorContext, agent: dict[str, Any], body: dict[str, Any]
) -> Response:
    if body.get("sku") is not None:
        agent["sku"] = _sku(body, agent["sku"]["name"])
    tags, identity = validation.sub_object(body, "tags", ""), _identity(body)
    if tags is not None:
        agent["tags"] = tags
    if identity is not None:
        agent["identity"] = identity
    agent["properties"]["state"] = lro.running_state("update")
    context.store.put(agent["id"], agent)
    return lro.start_operation(request, context, agent, "update")


@router.delete(arm.AGENT_PREFIX)
def delete_agent(request: Request) -> Response:
    """Delete a job agent with its jobs, credentials and target groups: 202, or 204 if absent."""
    context, agent_id = arm.addressed(request)
    agent = arm.current(context, agent_id)
    if agent is None:
        return Response(status_code=204)
    _refuse_if_busy(context, agent_id)
    context.engine.cancel_active(agent_id)
    agent["properties"]["state"] = lro.running_state("delete")
    context.store.put(agent_id, agent)
    return lro.start_operation(request, context, agent, "delete")
