"""ARM routes of job executions, step executions and target executions (api-version 2025-01-01).

Shapes and status codes follow the REST spec (``JobExecutions.json`` and its examples) and the
recorded PowerShell sessions: ``POST …/start`` answers 200 with the new Created execution and a
``Location`` to it; ``PUT …/executions/{id}`` 201 when it starts one and 200 with the existing one;
``POST …/cancel`` 200 with an empty body, also when repeated. The start/PUT answers also carry
``Retry-After: 1`` so the SDK's LRO poller checks back after one second instead of its 30-second
default (real Azure sends no Retry-After on start).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api.arm import AGENT_PREFIX, JOB_PREFIX, ctx, require
from elasticjobs_emulator.api.paging import PageWindow, page_body, window
from elasticjobs_emulator.api.versioning import request_version
from elasticjobs_emulator.context import EmulatorContext
from elasticjobs_emulator.engine import (
    ROOT_TYPE,
    STEP_TYPE,
    TARGET_TYPE,
    ExecutionFilter,
    parse_iso,
)

router = APIRouter()

EXECUTION = JOB_PREFIX + "/executions/{execution_id}"
STEP = EXECUTION + "/steps/{step}"
_TIME_FILTERS = (
    ("createTimeMin", "create_time_min"),
    ("createTimeMax", "create_time_max"),
    ("endTimeMin", "end_time_min"),
    ("endTimeMax", "end_time_max"),
)


def _job_id(request: Request) -> str:
    path = request.url.path
    return path[: path.lower().index("/jobs/") + len("/jobs/")] + request.path_params["job"]


def _agent_id(request: Request) -> str:
    path = request.url.path
    return path[: path.lower().index("/jobagents/") + len("/jobagents/")] + request.path_params["agent"]


def _job(request: Request) -> tuple[EmulatorContext, dict[str, Any]]:
    context = ctx(request)
    return context, require(context, _job_id(request))


def _location_headers(request: Request, execution_id: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {"Location": f"{base}{execution_id}?api-version={request_version(request)}", "Retry-After": "1"}


def _filters(request: Request) -> tuple[ExecutionFilter, PageWindow]:
    """The list filters of the request (``createTimeMin`` … ``isActive``), 400 naming a bad one,
    with the page it asks for: the store reads only that page's executions (O(page), not O(list))."""
    page = window(request, ctx(request).page_size)
    query = request.query_params
    times: dict[str, float] = {}
    for name, field in _TIME_FILTERS:
        raw = query.get(name)
        if raw is None:
            continue
        try:
            times[field] = parse_iso(raw)
        except ValueError:
            raise errors.invalid(
                name, f"'{raw}' is not an ISO 8601 date-time; pass e.g. 2025-01-01T00:00:00Z."
            ) from None
    raw_active = query.get("isActive")
    is_active = None
    if raw_active is not None:
        if raw_active.lower() not in ("true", "false"):
            raise errors.invalid("isActive", f"'{raw_active}' is not a boolean; pass true or false.")
        is_active = raw_active.lower() == "true"
    return ExecutionFilter(**times, is_active=is_active, skip=page.skip, limit=page.fetch), page


def _page(request: Request, read: Callable[[ExecutionFilter], list[dict[str, Any]]]) -> dict[str, Any]:
    """One ARM page of an execution list: ``read`` returns the matches of the filter's slice."""
    where, page = _filters(request)
    return page_body(request, page, read(where))


def _execution(context: EmulatorContext, resource_id: str, resource_type: str) -> dict[str, Any]:
    doc = context.engine.execution(resource_id)
    if doc is None:
        raise errors.not_found(resource_type, resource_id.rsplit("/", 1)[-1], resource_id.split("/")[4])
    return doc


def _root(request: Request) -> tuple[EmulatorContext, dict[str, Any]]:
    context, job = _job(request)
    execution_id = request.path_params["execution_id"]
    return context, _execution(context, f"{job['id']}/executions/{execution_id}", ROOT_TYPE)


@router.post(JOB_PREFIX + "/start")
def start_job(request: Request) -> JSONResponse:
    """Start a new execution of the job (200, lifecycle Created, ``Location`` to it)."""
    context, job = _job(request)
    doc, _created = context.engine.create_execution(job["id"])
    return JSONResponse(doc, status_code=200, headers=_location_headers(request, doc["id"]))


@router.put(EXECUTION)
def create_or_update_execution(request: Request, execution_id: str) -> JSONResponse:
    """Start an execution with a caller-chosen id (201), or return the existing one (200)."""
    try:
        uuid.UUID(execution_id)
    except ValueError:
        raise errors.invalid(
            "jobExecutionId",
            f"'{execution_id}' is not a UUID; pass an id like 3fa85f64-5717-4562-b3fc-2c963f66afa6.",
        ) from None
    context, job = _job(request)
    doc, created = context.engine.create_execution(job["id"], execution_id)
    return JSONResponse(
        doc, status_code=201 if created else 200, headers=_location_headers(request, doc["id"])
    )


@router.get(EXECUTION)
def get_execution(request: Request) -> dict[str, Any]:
    """One job execution."""
    return _root(request)[1]


@router.post(EXECUTION + "/cancel")
def cancel_execution(request: Request) -> Response:
    """Request cancellation (200, empty body; idempotent)."""
    context, root = _root(request)
    context.engine.cancel(root["id"].rsplit("/executions/", 1)[0], root["name"])
    return Response(status_code=200)


@router.get(JOB_PREFIX + "/executions")
def list_job_executions(request: Request) -> dict[str, Any]:
    """Executions of one job, filtered and paged."""
    context, job = _job(request)
    return _page(request, lambda where: context.engine.job_executions(job["id"], where))


@router.get(AGENT_PREFIX + "/executions")
def list_agent_executions(request: Request) -> dict[str, Any]:
    """Executions of every job of one agent, filtered and paged."""
    context = ctx(request)
    agent = require(context, _agent_id(request))
    return _page(request, lambda where: context.engine.agent_executions(agent["id"], where))


@router.get(EXECUTION + "/steps")
def list_step_executions(request: Request) -> dict[str, Any]:
    """Step executions of one job execution."""
    context, root = _root(request)
    return _page(request, lambda where: context.engine.step_executions(_job_id(request), root["name"], where))


@router.get(STEP)
def get_step_execution(request: Request, step: str) -> dict[str, Any]:
    """One step execution."""
    context, root = _root(request)
    return _execution(context, f"{root['id']}/steps/{step}", STEP_TYPE)


@router.get(STEP + "/targets")
def list_step_target_executions(request: Request, step: str) -> dict[str, Any]:
    """Target executions of one step of a job execution."""
    context, root = _root(request)
    _execution(context, f"{root['id']}/steps/{step}", STEP_TYPE)
    return _page(
        request, lambda where: context.engine.target_executions(_job_id(request), root["name"], step, where)
    )


@router.get(STEP + "/targets/{target_id}")
def get_target_execution(request: Request, step: str, target_id: str) -> dict[str, Any]:
    """One target execution."""
    context, root = _root(request)
    return _execution(context, f"{root['id']}/steps/{step}/targets/{target_id}", TARGET_TYPE)


@router.get(EXECUTION + "/targets")
def list_target_executions(request: Request) -> dict[str, Any]:
    """Target executions of every step of a job execution."""
    context, root = _root(request)
    return _page(
        request, lambda where: context.engine.target_executions(_job_id(request), root["name"], where=where)
    )
