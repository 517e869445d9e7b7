"""Long-running operations of job agents and of their private endpoints: 202 + ``Azure-AsyncOperation``
+ ``Location`` + ``Retry-After``.

An operation is stored as a private document keyed by its ``…OperationResults`` id, with the
wall-clock time it completes. Transitions are data (``_TRANSITIONS``): when an operation is due,
the resource moves to its final ``state`` (``Ready``; only job agents have a ``state``: the spec
defines none for a private endpoint) or is deleted. Operations settle lazily on every read of the
resource or of the operation, so a restart (even after ``kill -9``) keeps them consistent without
a background task.

URL shapes follow Azure SQL, under ``…/providers/Microsoft.Sql/locations/{location}/``:
``{kind}AzureAsyncOperation/{id}`` (status ``{"name", "status", "startTime"}``) and
``{kind}OperationResults/{id}`` (202 while running, then the resource or 204), where ``{kind}`` is
``jobAgent`` for a job agent and ``jobAgentPrivateEndpoint`` for a private endpoint (the ``Location``
headers of the 2023-05-01-preview examples ``DeleteJobAgent.json`` and
``CreateOrUpdateJobPrivateEndpoint.json``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api.versioning import request_version
from elasticjobs_emulator.context import EmulatorContext
from elasticjobs_emulator.store import Store, resource_key, utc_now_iso

AGENT_PROVISIONING_SECONDS_KEY = "agent_provisioning_seconds"
_PENDING_META = "pending-operation:"
# action -> (state while running, state when done; None = resource deleted)
_TRANSITIONS: dict[str, tuple[str, str | None]] = {
    "create": ("Creating", "Ready"),
    "update": ("Updating", "Ready"),
    "delete": ("Deleting", None),
}
_LOCATIONS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/locations/{location}"
_STATUS, _RESULTS = "AzureAsyncOperation", "OperationResults"


@dataclass(frozen=True)
class _Kind:
    """What the operations of one resource type are called: their URL segment prefix and the
    ``operation`` of their 202 body (named as Azure SQL names its management operations, like
    ``UpsertLogicalServer`` / ``DropLogicalServer`` in Azure SQL's recorded 202 bodies)."""

    segment: str
    upsert: str
    drop: str

    def operation_name(self, action: str) -> str:
        """The ``operation`` of the 202 body of ``action``."""
        return self.drop if action == "delete" else self.upsert


# collection segment of the resource id (lower case) -> its kind of operation
_KINDS = {
    "jobagents": _Kind("jobAgent", "UpsertJobAgent", "DropJobAgent"),
    "privateendpoints": _Kind(
        "jobAgentPrivateEndpoint", "UpsertJobAgentPrivateEndpoint", "DropJobAgentPrivateEndpoint"
    ),
}

router = APIRouter(prefix=_LOCATIONS)


def running_state(action: str) -> str:
    """The agent ``state`` shown while an operation of this action runs."""
    return _TRANSITIONS[action][0]


def start_operation(
    request: Request,
    context: EmulatorContext,
    resource: dict[str, Any],
    action: str,
    location: str | None = None,
) -> Response:
    """Record an operation on ``resource`` (a job agent or a private endpoint) and return the 202 answer
    pointing at its status URLs, under ``location`` (default: the resource's own)."""
    parts = resource["id"].split("/")
    kind = _KINDS[parts[-2].lower()]
    location = location or resource.get("location", "local")
    base = _LOCATIONS.format(sub=parts[2], rg=parts[4], location=location)
    op_name = str(uuid.uuid4())
    delay = float(context.extras.get(AGENT_PROVISIONING_SECONDS_KEY, 1.0))
    operation = {
        "name": op_name,
        "status": "InProgress",
        "startTime": utc_now_iso(),
        "resourceId": resource["id"],
        "action": action,
        "dueAt": time.time() + delay,
    }
    results_id = f"{base}/{kind.segment}{_RESULTS}/{op_name}"
    context.store.put(results_id, operation)
    context.store.set_meta(_PENDING_META + resource_key(resource["id"]), results_id)
    body = {"operation": kind.operation_name(action), "startTime": operation["startTime"]}
    headers = _headers(request, f"{base}/{kind.segment}", op_name, delay)
    return JSONResponse(body, status_code=202, headers=headers)


def _headers(request: Request, prefix: str, op_name: str, remaining: float) -> dict[str, str]:
    """The polling headers of operation ``op_name``; ``prefix`` is ``…/locations/{location}/{kind}``."""
    root = str(request.base_url).rstrip("/")
    query = f"?api-version={request_version(request)}"
    return {
        "Azure-AsyncOperation": f"{root}{prefix}{_STATUS}/{op_name}{query}",
        "Location": f"{root}{prefix}{_RESULTS}/{op_name}{query}",
        "Retry-After": str(max(1, round(remaining))),
    }


def _settle(store: Store, results_id: str) -> dict[str, Any] | None:
    """Complete the operation if it is due; return its (possibly updated) document."""
    operation = store.get(results_id)
    if operation is None or operation["status"] != "InProgress" or time.time() < operation["dueAt"]:
        return operation
    final_state = _TRANSITIONS[operation["action"]][1]
    with store.transaction():
        resource = store.get(operation["resourceId"])
        if resource is not None and final_state is None:
            store.delete(operation["resourceId"])
        elif resource is not None and "state" in resource["properties"]:
            resource["properties"]["state"] = final_state
            store.put(operation["resourceId"], resource)
        operation["status"] = "Succeeded"
        operation["endTime"] = utc_now_iso()
        store.put(results_id, operation)
        store.set_meta(_PENDING_META + resource_key(operation["resourceId"]), "")
    return operation


def settle_agent(store: Store, resource_id: str) -> None:
    """Apply a due operation of this job agent (or private endpoint), so reads see ``Ready`` (or no
    resource) on time."""
    results_id = store.get_meta(_PENDING_META + resource_key(resource_id))
    if results_id:
        _settle(store, results_id)


def pending_action(store: Store, resource_id: str) -> str | None:
    """The action of the resource's operation still in progress, if any."""
    settle_agent(store, resource_id)
    results_id = store.get_meta(_PENDING_META + resource_key(resource_id))
    operation = store.get(results_id) if results_id else None
    return operation["action"] if operation and operation["status"] == "InProgress" else None


def _prefix(request: Request) -> str:
    """``…/locations/{location}/{kind}`` of an operation URL (status or results)."""
    base, collection, _ = request.url.path.rsplit("/", 2)
    return f"{base}/{collection.removesuffix(_STATUS).removesuffix(_RESULTS)}"


def _operation(request: Request, op_name: str) -> dict[str, Any]:
    context: EmulatorContext = request.app.state.emulator
    results_id = f"{_prefix(request)}{_RESULTS}/{op_name}"
    operation = _settle(context.store, results_id)
    if operation is None:
        raise errors.not_found(f"Microsoft.Sql/locations/{results_id.rsplit('/', 2)[1]}", op_name)
    return operation


def get_operation_status(request: Request, op_name: str) -> JSONResponse:
    """Status of an agent operation, polled by the SDK's ARMPolling."""
    operation = _operation(request, op_name)
    body = {key: operation[key] for key in ("name", "status", "startTime", "endTime") if key in operation}
    headers = {"Retry-After": "1"} if operation["status"] == "InProgress" else {}
    return JSONResponse(body, headers=headers)


def get_operation_result(request: Request, op_name: str) -> Response:
    """202 while the operation runs; then the resource (200) or 204 once deleted."""
    operation = _operation(request, op_name)
    if operation["status"] == "InProgress":
        remaining = operation["dueAt"] - time.time()
        return Response(status_code=202, headers=_headers(request, _prefix(request), op_name, remaining))
    context: EmulatorContext = request.app.state.emulator
    resource = context.store.get(operation["resourceId"])
    if resource is None:
        return Response(status_code=204)
    return JSONResponse(resource)


for _kind in _KINDS.values():
    router.add_api_route(f"/{_kind.segment}{_STATUS}/{{op_name}}", get_operation_status, methods=["GET"])
    router.add_api_route(f"/{_kind.segment}{_RESULTS}/{{op_name}}", get_operation_result, methods=["GET"])
