"""ARM routes of ``Microsoft.Sql/servers/jobAgents/privateEndpoints`` (from api-version 2023-05-01-preview).

The contract is ``JobPrivateEndpoints.json`` of the REST spec (``Azure/azure-rest-api-specs``,
``specification/sql/resource-manager/Microsoft.Sql/{preview/2023-05-01-preview,stable/2025-01-01}/``):
PUT and DELETE are long-running operations (``final-state-via: location``) answered with 202 and the
polling headers of ``api/lro.py`` (``…/locations/{location}/jobAgentPrivateEndpointOperationResults/{id}``
as in the spec's examples); DELETE of a missing endpoint is 204. A private endpoint has two properties:
``targetServerAzureResourceId`` (required, the id of a ``Microsoft.Sql/servers`` resource) and the
read-only ``privateEndpointId``, ``EJ_{guid}_{name}`` as in the spec's examples (the guid is derived
from the agent's id, so it is stable). The spec defines no state for it.

What the emulator decides where the spec only lists error codes:

- a target id that is not a server id, or a server that does not exist: 400 ``InvalidParameterValue``;
- another endpoint of the same agent already targets that server: 400
  ``ElasticJobAgentResourceAlreadyExists`` (one managed private endpoint per target server);
- a PUT that changes the target of an existing endpoint: 400 ``PropertyChangeUnsupported``; a PUT with
  the same target: 200 with the endpoint (nothing to do);
- a PUT or DELETE while the agent or the endpoint has an operation in progress: 400
  ``ElasticJobAgentIsBusy``.

In Azure the managed private endpoint becomes a *pending* private endpoint connection of the target
server that the server's owner approves; the emulator has no network, so nothing waits on that approval
and the target server's ``privateEndpointConnections`` are not changed (docs/emulator.md "Private
endpoints"). Deleting the agent deletes its private endpoints (they are its children in the store).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm, lro, validation
from elasticjobs_emulator.context import EmulatorContext

router = APIRouter()
_PATH = arm.AGENT_PREFIX + "/privateEndpoints"
_TARGET = "properties.targetServerAzureResourceId"
_SERVER_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Sql/servers/[^/]+$", re.IGNORECASE
)
_ENDPOINT_NAMESPACE = uuid.UUID("0b7c6f2e-3d5a-4e1f-9a8b-7c6d5e4f3a2b")


def _agent_id(endpoint_id: str) -> str:
    return endpoint_id.rsplit("/privateEndpoints/", 1)[0]


def _busy(agent_id: str, detail: str) -> errors.ArmError:
    """400 ``ElasticJobAgentIsBusy`` in the spec's wording, with what keeps the agent busy."""
    return errors.bad_request(
        "ElasticJobAgentIsBusy",
        f"The Elastic Job Agent '{arm.resource_name(agent_id)}' is currently busy processing another request "
        f"({detail}). Please retry operation later.",
    )


def _refuse_if_busy(context: EmulatorContext, endpoint_id: str) -> None:
    agent_id = _agent_id(endpoint_id)
    action = lro.pending_action(context.store, agent_id)
    if action is not None:
        raise _busy(agent_id, f"the job agent is {lro.running_state(action).lower()}")
    action = lro.pending_action(context.store, endpoint_id)
    if action is not None:
        verb = "deleted" if action == "delete" else "created"
        raise _busy(agent_id, f"private endpoint '{arm.resource_name(endpoint_id)}' is being {verb}")


def _target_server(context: EmulatorContext, properties: dict[str, Any]) -> str:
    """The validated ``targetServerAzureResourceId`` (the caller's casing)."""
    target = validation.text(properties, "targetServerAzureResourceId", "properties.")
    assert target is not None
    if not _SERVER_ID.match(target):
        raise errors.invalid(
            _TARGET,
            f"'{target}' is not the resource id of a server; pass an id like "
            "'/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Sql/servers/<name>'.",
            code="InvalidParameterValue",
        )
    if not context.store.exists(target):
        raise errors.invalid(
            _TARGET,
            f"server '{arm.resource_name(target)}' does not exist in resource group "
            f"'{target.split('/')[4]}'; "
            "create it first or pass the id of an existing server.",
            code="InvalidParameterValue",
        )
    return target


def _refuse_second_endpoint_to(context: EmulatorContext, endpoint_id: str, target: str) -> None:
    for other in context.store.children(_agent_id(endpoint_id), "privateEndpoints"):
        if other["properties"]["targetServerAzureResourceId"].lower() == target.lower():
            raise errors.bad_request(
                "ElasticJobAgentResourceAlreadyExists",
                f"Elastic job agent '{arm.resource_name(_agent_id(endpoint_id))}' already contains the "
                f"resource '{other['name']}', a private endpoint to server '{arm.resource_name(target)}'; "
                "use it, or delete it before creating another one.",
            )


def _settled(context: EmulatorContext, endpoint_id: str) -> dict[str, Any] | None:
    lro.settle_agent(context.store, endpoint_id)
    return context.store.get(endpoint_id)


@router.get(_PATH)
def list_private_endpoints(request: Request) -> dict[str, Any]:
    """Private endpoints of a job agent."""
    context, agent_id = arm.collection_parent(request)
    for endpoint in context.store.children(agent_id, "privateEndpoints"):
        lro.settle_agent(context.store, endpoint["id"])
    return arm.list_answer(request, context.store.children(agent_id, "privateEndpoints"))


@router.get(_PATH + "/{private_endpoint}")
def get_private_endpoint(request: Request) -> dict[str, Any]:
    """One private endpoint."""
    context = arm.ctx(request)
    _settled(context, arm.path_id(request))
    return arm.require(context, arm.path_id(request))


@router.put(_PATH + "/{private_endpoint}")
def put_private_endpoint(request: Request, body: Annotated[Any, Body()] = None) -> Response:
    """Create a private endpoint (202 and a long-running operation); 200 when it exists with that target."""
    context, endpoint_id = arm.addressed(request)
    properties = arm.properties_of(arm.object_body(body), required=True)
    target = _target_server(context, properties)
    _refuse_if_busy(context, endpoint_id)
    existing = _settled(context, endpoint_id)
    if existing is not None:
        current = existing["properties"]["targetServerAzureResourceId"]
        if current.lower() != target.lower():
            raise errors.bad_request(
                "PropertyChangeUnsupported",
                f"Property '{_TARGET}' cannot be modified (it is '{current}'); "
                "create another private endpoint for another server.",
            )
        return JSONResponse(existing)
    _refuse_second_endpoint_to(context, endpoint_id, target)
    agent_id = _agent_id(endpoint_id)
    agent = context.store.get(agent_id)
    assert agent is not None
    guid = uuid.uuid5(_ENDPOINT_NAMESPACE, agent_id.lower())
    name = arm.resource_name(endpoint_id)
    doc = arm.new_doc(
        endpoint_id, {"targetServerAzureResourceId": target, "privateEndpointId": f"EJ_{guid}_{name}"}
    )
    context.store.put(endpoint_id, doc)
    return lro.start_operation(request, context, doc, "create", location=agent["location"])


@router.delete(_PATH + "/{private_endpoint}")
def delete_private_endpoint(request: Request) -> Response:
    """Delete a private endpoint: 202 and a long-running operation, or 204 if absent."""
    context, endpoint_id = arm.addressed(request)
    endpoint = _settled(context, endpoint_id)
    if endpoint is None:
        return Response(status_code=204)
    _refuse_if_busy(context, endpoint_id)
    agent = context.store.get(_agent_id(endpoint_id))
    assert agent is not None
    return lro.start_operation(request, context, endpoint, "delete", location=agent["location"])
