"""ARM routes of ``Microsoft.Sql/servers/jobAgents/jobs``.

A new job has ``version`` 0; only step changes make new versions (``engine/versions.py``): description
and schedule changes do not. Schedule defaults follow Azure's examples (type Once, disabled,
start ``0001-01-01T00:00:00Z``, end ``9999-12-31T11:59:59Z``); ``interval`` is an ISO 8601
duration, required for Recurring. Deleting a job cancels its active executions first, then
removes the job, its steps, versions and executions (documented choice).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm, validation

router = APIRouter()
_PATH = arm.AGENT_PREFIX + "/jobs"
DEFAULT_START = "0001-01-01T00:00:00Z"
DEFAULT_END = "9999-12-31T11:59:59Z"


def _schedule(properties: dict[str, Any]) -> dict[str, Any]:
    where = "properties.schedule."
    raw = validation.sub_object(properties, "schedule", "properties.") or {}
    kind = validation.choice(raw, "type", where, ["Once", "Recurring"], "Once")
    enabled = validation.boolean(raw, "enabled", where, False)
    start = validation.timestamp(raw.get("startTime") or DEFAULT_START, f"{where}startTime")
    end = validation.timestamp(raw.get("endTime") or DEFAULT_END, f"{where}endTime")
    if end <= start:
        raise errors.invalid(f"{where}endTime", "must be later than startTime; move it after the start.")
    schedule: dict[str, Any] = {
        "startTime": validation.format_timestamp(start),
        "endTime": validation.format_timestamp(end),
        "type": kind,
        "enabled": enabled,
    }
    interval = raw.get("interval")
    if kind == "Recurring" and interval is None:
        raise errors.invalid(
            f"{where}interval", "is required for a Recurring schedule; pass e.g. PT1H or P1D."
        )
    if interval is not None:
        schedule["interval"] = validation.duration(interval, f"{where}interval")
    return schedule


@router.get(_PATH)
def list_jobs(request: Request) -> dict[str, Any]:
    """Jobs of a job agent."""
    return arm.list_children(request, "jobs")


@router.get(_PATH + "/{job}")
def get_job(request: Request) -> dict[str, Any]:
    """One job."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(_PATH + "/{job}")
def put_job(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Create (201) or update (200) a job's description and schedule; its version is kept."""
    context, job_id = arm.addressed(request)
    properties = arm.properties_of(arm.object_body(body))
    description = properties.get("description", "")
    if not isinstance(description, str):
        raise errors.invalid("properties.description", "must be a string.")
    existing = context.store.get(job_id)
    version = existing["properties"]["version"] if existing else 0
    doc = arm.new_doc(
        existing["id"] if existing else job_id,
        {"description": description, "version": version, "schedule": _schedule(properties)},
    )
    return arm.put_answer(doc, context.store.put(job_id, doc))


@router.delete(_PATH + "/{job}")
def delete_job(request: Request) -> Response:
    """Cancel the job's active executions, then delete it (200; 204 when absent)."""
    context, job_id = arm.addressed(request)
    if not context.store.exists(job_id):
        return arm.delete_answer(False)
    context.engine.cancel_active(job_id)
    return arm.delete_answer(context.store.delete(job_id))
