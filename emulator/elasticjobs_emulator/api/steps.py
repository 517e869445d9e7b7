"""ARM routes of ``Microsoft.Sql/servers/jobAgents/jobs/steps``.

Step order and job versions (a new version with its snapshot on every change, none for a PUT that
changes nothing) are the engine's rules (``engine/versions.py``); this module validates the request
and answers it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm
from elasticjobs_emulator.api.step_body import requested_step_id, step_properties
from elasticjobs_emulator.engine import StepPositionError

router = APIRouter()
_PATH = arm.JOB_PREFIX + "/steps"


@router.get(_PATH)
def list_steps(request: Request) -> dict[str, Any]:
    """Steps of the job's current version, ordered by ``stepId``."""
    context, job_id = arm.collection_parent(request)
    return arm.list_answer(request, context.engine.steps(job_id))


@router.get(_PATH + "/{step}")
def get_step(request: Request) -> dict[str, Any]:
    """One step of the job's current version."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(_PATH + "/{step}")
def put_step(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Create (201) or update (200) a step; a new job version when anything changed."""
    context, step_id = arm.addressed(request)
    agent_id = step_id.rsplit("/steps/", 1)[0].rsplit("/jobs/", 1)[0]
    properties = arm.properties_of(arm.object_body(body), required=True)
    requested = requested_step_id(properties)
    checked = step_properties(request, context, agent_id, properties)
    try:
        doc, created = context.engine.put_step(step_id, checked, requested)
    except StepPositionError as exc:
        raise errors.invalid("properties.stepId", str(exc)) from None
    return arm.put_answer(doc, created=created)


@router.delete(_PATH + "/{step}")
def delete_step(request: Request) -> Response:
    """Delete a step, renumber the rest and make a new job version (200; 204 when absent)."""
    context, step_id = arm.addressed(request)
    return arm.delete_answer(context.engine.delete_step(step_id))
