"""Shared plumbing of the ARM routers: resource ids and types, parents, bodies, answers.

A resource id is the request path itself (``/subscriptions/…/providers/Microsoft.Sql/servers/s/…``),
so ids keep the caller's casing while the store matches them case-insensitively. Types, names and
document shells of ids come from ``resource_ids.py`` (``new_doc`` is re-exported for the routers).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import lro
from elasticjobs_emulator.api.paging import paged
from elasticjobs_emulator.context import EmulatorContext
from elasticjobs_emulator.resource_ids import new_doc as new_doc
from elasticjobs_emulator.resource_ids import resource_name, resource_type, split
from elasticjobs_emulator.store import resource_key

RG_PREFIX = "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/Microsoft.Sql"
SERVER_PREFIX = RG_PREFIX + "/servers/{server}"
AGENT_PREFIX = SERVER_PREFIX + "/jobAgents/{agent}"
JOB_PREFIX = AGENT_PREFIX + "/jobs/{job}"


def ctx(request: Request) -> EmulatorContext:
    """The emulator context of the app serving ``request``."""
    return request.app.state.emulator


def path_id(request: Request) -> str:
    """The ARM id addressed by the request (its path without a trailing slash)."""
    return request.url.path.rstrip("/")


def require_ancestors(context: EmulatorContext, resource_id: str) -> None:
    """Raise 404 for the first missing ancestor of ``resource_id``.

    A missing server or job agent has the codes the 2025-01-01 spec lists for them
    (``ServerNotInSubscriptionResourceGroup``, ``JobAgentNotFound``); deeper parents
    ``ParentResourceNotFound``.
    """
    current, segments = split(resource_id)
    for index in range(0, len(segments) - 2, 2):
        current = f"{current}/{segments[index]}/{segments[index + 1]}"
        _settle_if_agent(context, current)
        if not context.store.exists(current):
            raise _missing(current, parent=True)


def _missing(resource_id: str, parent: bool) -> errors.ArmError:
    """The 404 for a missing ``resource_id`` (itself addressed, or a parent of what is)."""
    segments = resource_id.split("/")
    kind = segments[-2].lower()
    if kind == "servers":
        return errors.server_not_found(segments[-1], segments[4])
    if kind == "jobagents":
        return errors.job_agent_not_found(segments[-1], segments[-3])
    if parent:
        return errors.parent_not_found(resource_type(resource_id), segments[-1])
    return errors.not_found(resource_type(resource_id), resource_name(resource_id), segments[4])


def _settle_if_agent(context: EmulatorContext, resource_id: str) -> None:
    """Apply a due long-running operation of a job agent before it is read."""
    if resource_id.rsplit("/", 2)[-2].lower() == "jobagents":
        lro.settle_agent(context.store, resource_id)


def current(context: EmulatorContext, resource_id: str) -> dict[str, Any] | None:
    """The stored document of ``resource_id`` (after any due agent operation), or None."""
    _settle_if_agent(context, resource_id)
    return context.store.get(resource_id)


def require(context: EmulatorContext, resource_id: str) -> dict[str, Any]:
    """The stored document of ``resource_id``; 404 for it or its first missing ancestor."""
    require_ancestors(context, resource_id)
    doc = current(context, resource_id)
    if doc is None:
        raise _missing(resource_id, parent=False)
    return doc


def object_body(body: Any, where: str = "body") -> dict[str, Any]:
    """The request body as a JSON object, else 400 naming it."""
    if not isinstance(body, dict):
        raise errors.invalid(
            where, "the request body must be a JSON object.", code="InvalidResourceRequestBody"
        )
    return body


def properties_of(body: dict[str, Any], required: bool = False) -> dict[str, Any]:
    """``body["properties"]`` as an object (``{}`` when absent and not required)."""
    properties = body.get("properties")
    if properties is None:
        if required:
            raise errors.invalid("properties", 'is required; send {"properties": {...}}.')
        return {}
    return object_body(properties, "properties")


def put_answer(doc: dict[str, Any], created: bool) -> JSONResponse:
    """201 with the body when the PUT created the resource, else 200."""
    return JSONResponse(doc, status_code=201 if created else 200)


def delete_answer(existed: bool) -> Response:
    """200 when something was deleted, 204 when it did not exist (as the Azure spec answers)."""
    return Response(status_code=200 if existed else 204)


def list_answer(request: Request, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One ARM page of ``docs`` for this request."""
    return paged(request, docs, ctx(request).page_size)


def addressed(request: Request) -> tuple[EmulatorContext, str]:
    """For a PUT or DELETE route: the context and the addressed id (404 when a parent is missing)."""
    context = ctx(request)
    resource_id = path_id(request)
    require_ancestors(context, resource_id)
    return context, resource_id


def collection_parent(request: Request) -> tuple[EmulatorContext, str]:
    """For a list route: the context and the id owning the addressed collection (404 when missing)."""
    context = ctx(request)
    parent_id = path_id(request).rsplit("/", 1)[0]
    require(context, parent_id)
    return context, parent_id


def list_children(request: Request, child_type: str) -> dict[str, Any]:
    """One ARM page of the collection's ``child_type`` resources, in creation order."""
    context, parent_id = collection_parent(request)
    return list_answer(request, context.store.children(parent_id, child_type))


def is_child_of(resource_id: str, parent_id: str, child_type: str) -> bool:
    """Whether ``resource_id`` is ``{parent_id}/{child_type}/{name}`` (case-insensitive)."""
    key = resource_key(resource_id)
    prefix = f"{resource_key(parent_id)}/{child_type.lower()}/"
    return key.startswith(prefix) and "/" not in key[len(prefix) :] and len(key) > len(prefix)
