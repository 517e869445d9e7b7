"""ARM routes of job versions and their steps (``…/jobs/{job}/versions[/{v}/steps[/{step}]]``).

Versions are the snapshots the engine writes on every step change (``engine/versions.py``): bare
``{id, name, type}`` entries, and the steps as they were in that version.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from elasticjobs_emulator.api import arm

router = APIRouter()
_PATH = arm.JOB_PREFIX + "/versions"


@router.get(_PATH)
def list_versions(request: Request) -> dict[str, Any]:
    """Versions of a job, oldest first."""
    return arm.list_children(request, "versions")


@router.get(_PATH + "/{version}")
def get_version(request: Request, version: int) -> dict[str, Any]:
    """One version of a job."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.get(_PATH + "/{version}/steps")
def list_version_steps(request: Request, version: int) -> dict[str, Any]:
    """Steps of one version, ordered by ``stepId``."""
    context, version_id = arm.collection_parent(request)
    return arm.list_answer(request, context.engine.steps(version_id))


@router.get(_PATH + "/{version}/steps/{step}")
def get_version_step(request: Request, version: int) -> dict[str, Any]:
    """One step as it was in a version."""
    return arm.require(arm.ctx(request), arm.path_id(request))
