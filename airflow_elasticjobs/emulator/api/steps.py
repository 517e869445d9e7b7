"""ARM routes of ``Microsoft.Sql/servers/jobAgents/jobs/steps``, with ordering and job versions.

Steps are numbered 1..n without gaps. A PUT without ``stepId`` appends a new step (or keeps an
existing one in place); ``stepId`` k inserts or moves the step to position k and shifts the others;
k must be within 1..n+1 for a new step and 1..n for an existing one. Deleting renumbers the rest.
Every change bumps the job's ``version`` and snapshots the new version as
``…/jobs/{job}/versions/{n}`` and ``…/versions/{n}/steps/{step}`` (read by the engine). A PUT that
changes nothing makes no new version (so repeated deployments are idempotent).
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from airflow_elasticjobs.emulator import errors
from airflow_elasticjobs.emulator.api import arm
from airflow_elasticjobs.emulator.api.step_body import requested_step_id, step_properties
from airflow_elasticjobs.emulator.context import EmulatorContext

router = APIRouter()
_PATH = arm.JOB_PREFIX + "/steps"


def ordered_steps(context: EmulatorContext, parent_id: str) -> list[dict[str, Any]]:
    """The steps of a job (its current ones) or of one of its versions, ordered by ``stepId``."""
    return sorted(context.store.children(parent_id, "steps"), key=lambda step: step["properties"]["stepId"])


def place(names: list[str], name: str, step_id: int | None) -> list[str]:
    """The step order after putting ``name`` at ``step_id`` (None: keep its place, or append)."""
    others = [other for other in names if other.lower() != name.lower()]
    current = next((i for i, other in enumerate(names) if other.lower() == name.lower()), None)
    if step_id is None:
        position = current if current is not None else len(others)
    else:
        highest = len(others) + 1
        if step_id > highest:
            keep = "keep its place" if current is not None else "append it"
            raise errors.invalid(
                "properties.stepId",
                f"{step_id} would leave a gap; step ids are 1..{highest} here (omit stepId to {keep}).",
            )
        position = step_id - 1
    others.insert(position, name)
    return others


def _commit(
    context: EmulatorContext, job: dict[str, Any], steps: list[dict[str, Any]], gone: str | None
) -> None:
    """Renumber ``steps``, bump the job version and snapshot it, all in one transaction."""
    store = context.store
    version = job["properties"]["version"] + 1
    version_id = f"{job['id']}/versions/{version}"
    with store.transaction():
        if gone is not None:
            store.delete(gone)
        store.put(version_id, {"id": version_id, "name": str(version), "type": arm.resource_type(version_id)})
        for number, step in enumerate(steps, start=1):
            step["properties"] = {
                "stepId": number,
                **{k: v for k, v in step["properties"].items() if k != "stepId"},
            }
            store.put(step["id"], step)
            snapshot = copy.deepcopy(step)
            snapshot["id"] = f"{version_id}/steps/{step['name']}"
            snapshot["type"] = arm.resource_type(snapshot["id"])
            store.put(snapshot["id"], snapshot)
        job["properties"]["version"] = version
        store.put(job["id"], job)


@router.get(_PATH)
def list_steps(request: Request) -> dict[str, Any]:
    """Steps of the job's current version, ordered by ``stepId``."""
    context, job_id = arm.collection_parent(request)
    return arm.list_answer(request, ordered_steps(context, job_id))


@router.get(_PATH + "/{step}")
def get_step(request: Request) -> dict[str, Any]:
    """One step of the job's current version."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(_PATH + "/{step}")
def put_step(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Create (201) or update (200) a step; a new job version when anything changed."""
    context, step_id = arm.addressed(request)
    job_id = step_id.rsplit("/steps/", 1)[0]
    agent_id = job_id.rsplit("/jobs/", 1)[0]
    properties = arm.properties_of(arm.object_body(body), required=True)
    requested = requested_step_id(properties)
    checked = step_properties(context, agent_id, properties)
    steps = ordered_steps(context, job_id)
    existing = next((s for s in steps if s["id"].lower() == step_id.lower()), None)
    name = existing["name"] if existing else arm.resource_name(step_id)
    order = place([s["name"] for s in steps], name, requested)
    by_name = {s["name"].lower(): s for s in steps}
    by_name[name.lower()] = arm.new_doc(existing["id"] if existing else step_id, checked)
    new_steps = [by_name[n.lower()] for n in order]
    unchanged = (
        existing is not None
        and [s["name"] for s in steps] == order
        and {k: v for k, v in existing["properties"].items() if k != "stepId"} == checked
    )
    job = context.store.get(job_id)
    assert job is not None
    if not unchanged:
        _commit(context, job, new_steps, gone=None)
    return arm.put_answer(by_name[name.lower()] if not unchanged else existing, created=existing is None)


@router.delete(_PATH + "/{step}")
def delete_step(request: Request) -> Response:
    """Delete a step, renumber the rest and make a new job version (200; 204 when absent)."""
    context, step_id = arm.addressed(request)
    job_id = step_id.rsplit("/steps/", 1)[0]
    steps = ordered_steps(context, job_id)
    remaining = [s for s in steps if s["id"].lower() != step_id.lower()]
    if len(remaining) == len(steps):
        return arm.delete_answer(False)
    job = context.store.get(job_id)
    assert job is not None
    _commit(context, job, remaining, gone=step_id)
    return arm.delete_answer(True)
