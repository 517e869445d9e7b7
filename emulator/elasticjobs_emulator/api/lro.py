"""Long-running operations of job agents: 202 + ``Azure-AsyncOperation`` + ``Location`` + ``Retry-After``.

An operation is stored as a private document keyed by its ``jobAgentOperationResults`` id, with
the wall-clock time it completes. Transitions are data (``_TRANSITIONS``): when an operation is
due, the agent moves to its final state (``Ready``) or is deleted. Operations settle lazily on
every read of the agent or of the operation, so a restart (even after ``kill -9``) keeps them
consistent without a background task.

URL shapes follow Azure SQL, under ``…/providers/Microsoft.Sql/locations/{location}/``:
``jobAgentAzureAsyncOperation/{id}`` (status ``{"name", "status", "startTime"}``) and
``jobAgentOperationResults/{id}`` (202 while running, then the resource or 204).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.context import API_VERSION, EmulatorContext
from elasticjobs_emulator.store import Store, resource_key, utc_now_iso

AGENT_PROVISIONING_SECONDS_KEY = "agent_provisioning_seconds"
_PENDING_META = "pending-operation:"
# action -> (state while running, state when done; None = resource deleted)
_TRANSITIONS: dict[str, tuple[str, str | None]] = {
    "create": ("Creating", "Ready"),
    "update": ("Updating", "Ready"),
    "delete": ("Deleting", None),
}
# The ``operation`` of the 202 body, named as Azure SQL names its management operations
# (``UpsertLogicalServer`` / ``DropLogicalServer`` in Azure SQL's recorded 202 bodies).
_OPERATION_NAMES = {"create": "UpsertJobAgent", "update": "UpsertJobAgent", "delete": "DropJobAgent"}
_LOCATIONS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/locations/{location}"

router = APIRouter(prefix=_LOCATIONS)


def running_state(action: str) -> str:
    """The agent ``state`` shown while an operation of this action runs."""
    return _TRANSITIONS[action][0]


def start_operation(
    request: Request, context: EmulatorContext, agent: dict[str, Any], action: str
) -> Response:
    """Record an operation on ``agent`` and return the 202 answer pointing at its status URLs."""
    parts = agent["id"].split("/")
    base = _LOCATIONS.format(sub=parts[2], rg=parts[4], location=agent.get("location", "local"))
    op_name = str(uuid.uuid4())
    delay = float(context.extras.get(AGENT_PROVISIONING_SECONDS_KEY, 1.0))
    operation = {
        "name": op_name,
        "status": "InProgress",
        "startTime": utc_now_iso(),
        "resourceId": agent["id"],
        "action": action,
        "dueAt": time.time() + delay,
    }
    results_id = f"{base}/jobAgentOperationResults/{op_name}"
    context.store.put(results_id, operation)
    context.store.set_meta(_PENDING_META + resource_key(agent["id"]), results_id)
    body = {"operation": _OPERATION_NAMES[action], "startTime": operation["startTime"]}
    return JSONResponse(body, status_code=202, headers=_headers(request, base, op_name, delay))


def _headers(request: Request, base: str, op_name: str, remaining: float) -> dict[str, str]:
    root = str(request.base_url).rstrip("/")
    query = f"?api-version={request.query_params.get('api-version', API_VERSION)}"
    return {
        "Azure-AsyncOperation": f"{root}{base}/jobAgentAzureAsyncOperation/{op_name}{query}",
        "Location": f"{root}{base}/jobAgentOperationResults/{op_name}{query}",
        "Retry-After": str(max(1, round(remaining))),
    }


def _settle(store: Store, results_id: str) -> dict[str, Any] | None:
    """Complete the operation if it is due; return its (possibly updated) document."""
    operation = store.get(results_id)
    if operation is None or operation["status"] != "InProgress" or time.time() < operation["dueAt"]:
        return operation
    final_state = _TRANSITIONS[operation["action"]][1]
    with store.transaction():
        agent = store.get(operation["resourceId"])
        if agent is not None and final_state is None:
            store.delete(operation["resourceId"])
        elif agent is not None:
            agent["properties"]["state"] = final_state
            store.put(operation["resourceId"], agent)
        operation["status"] = "Succeeded"
        operation["endTime"] = utc_now_iso()
        store.put(results_id, operation)
        store.set_meta(_PENDING_META + resource_key(operation["resourceId"]), "")
    return operation


def settle_agent(store: Store, agent_id: str) -> None:
    """Apply a due operation of this agent, so reads see ``Ready`` (or no agent) on time."""
    results_id = store.get_meta(_PENDING_META + resource_key(agent_id))
    if results_id:
        _settle(store, results_id)


def pending_action(store: Store, agent_id: str) -> str | None:
    """The action of the agent's operation still in progress, if any."""
    settle_agent(store, agent_id)
    results_id = store.get_meta(_PENDING_META + resource_key(agent_id))
    operation = store.get(results_id) if results_id else None
    return operation["action"] if operation and operation["status"] == "InProgress" else None


def _operation(request: Request, op_name: str) -> dict[str, Any]:
    context: EmulatorContext = request.app.state.emulator
    base = request.url.path.rsplit("/", 2)[0]
    operation = _settle(context.store, f"{base}/jobAgentOperationResults/{op_name}")
    if operation is None:
        raise errors.not_found("Microsoft.Sql/locations/jobAgentOperationResults", op_name)
    return operation


@router.get("/jobAgentAzureAsyncOperation/{op_name}")
def get_operation_status(request: Request, op_name: str) -> JSONResponse:
    """Status of an agent operation, polled by the SDK's ARMPolling."""
    operation = _operation(request, op_name)
    body = {key: operation[key] for key in ("name", "status", "startTime", "endTime") if key in operation}
    headers = {"Retry-After": "1"} if operation["status"] == "InProgress" else {}
    return JSONResponse(body, headers=headers)


@router.get("/jobAgentOperationResults/{op_name}")
def get_operation_result(request: Request, op_name: str) -> Response:
    """202 while the operation runs; then the agent (200) or 204 once deleted."""
    operation = _operation(request, op_name)
    if operation["status"] == "InProgress":
        base = request.url.path.rsplit("/", 2)[0]
        remaining = operation["dueAt"] - time.time()
        return Response(status_code=202, headers=_headers(request, base, op_name, remaining))
    context: EmulatorContext = request.app.state.emulator
    agent = context.store.get(operation["resourceId"])
    if agent is None:
        return Response(status_code=204)
    return JSONResponse(agent)
