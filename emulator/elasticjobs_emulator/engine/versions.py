"""Job versions: the step order of a job and the snapshot every step change makes.

Steps are numbered 1..n without gaps. Putting a step without a position keeps an existing step in
place or appends a new one; position k inserts or moves the step to k and shifts the others (k
within 1..n+1 for a new step, 1..n for an existing one). Deleting renumbers the rest. Every change
bumps the job's ``properties.version`` and snapshots the new version as ``…/jobs/{job}/versions/{n}``
and ``…/versions/{n}/steps/{step}``: the steps an execution of version n runs. A put that changes
nothing makes no new version, so repeated deployments are idempotent. The documents' shapes are the
contract in docs/architecture.md ("Definitions").
"""

from __future__ import annotations

import copy
from typing import Any

from elasticjobs_emulator.resource_ids import new_doc, resource_name, resource_type
from elasticjobs_emulator.store import Store


class StepPositionError(ValueError):
    """A requested ``stepId`` would leave a gap; the message says which ids fit and the fix."""


def ordered_steps(store: Store, parent_id: str) -> list[dict[str, Any]]:
    """The steps of a job (its current ones) or of one of its versions, ordered by ``stepId``."""
    return sorted(store.children(parent_id, "steps"), key=lambda step: int(step["properties"]["stepId"]))


def version_steps(store: Store, job: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of the job's current version as snapshotted (none for version 0)."""
    version = int(job.get("properties", {}).get("version", 0))
    if version == 0:
        return []
    return ordered_steps(store, f"{job['id']}/versions/{version}")


def place(names: list[str], name: str, step_id: int | None) -> list[str]:
    """The step order after putting ``name`` at ``step_id`` (None: keep its place, or append).

    Raises :class:`StepPositionError` when ``step_id`` would leave a gap.
    """
    others = [other for other in names if other.lower() != name.lower()]
    current = next((i for i, other in enumerate(names) if other.lower() == name.lower()), None)
    if step_id is None:
        position = current if current is not None else len(others)
    else:
        highest = len(others) + 1
        if step_id > highest:
            keep = "keep its place" if current is not None else "append it"
            raise StepPositionError(
                f"{step_id} would leave a gap; step ids are 1..{highest} here (omit stepId to {keep})."
            )
        position = step_id - 1
    others.insert(position, name)
    return others


def _without_step_id(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if key != "stepId"}


def put_step(
    store: Store, step_id: str, properties: dict[str, Any], position: int | None
) -> tuple[dict[str, Any], bool]:
    """Create or update step ``step_id`` of its job at ``position``; return (step document, created?).

    ``properties`` are the validated step properties without ``stepId``. A new job version is made
    only when the order or the properties change. Raises :class:`StepPositionError`.
    """
    job_id = step_id.rsplit("/steps/", 1)[0]
    steps = ordered_steps(store, job_id)
    existing = next((s for s in steps if s["id"].lower() == step_id.lower()), None)
    name = existing["name"] if existing else resource_name(step_id)
    order = place([s["name"] for s in steps], name, position)
    if (
        existing is not None
        and [s["name"] for s in steps] == order
        and _without_step_id(existing["properties"]) == properties
    ):
        return existing, False
    by_name = {s["name"].lower(): s for s in steps}
    by_name[name.lower()] = new_doc(existing["id"] if existing else step_id, properties)
    commit_steps(store, job_id, [by_name[n.lower()] for n in order])
    return by_name[name.lower()], existing is None


def delete_step(store: Store, step_id: str) -> bool:
    """Delete step ``step_id`` and renumber the rest in a new job version; False when absent."""
    job_id = step_id.rsplit("/steps/", 1)[0]
    steps = ordered_steps(store, job_id)
    remaining = [s for s in steps if s["id"].lower() != step_id.lower()]
    if len(remaining) == len(steps):
        return False
    commit_steps(store, job_id, remaining, removed=step_id)
    return True


def commit_steps(store: Store, job_id: str, steps: list[dict[str, Any]], removed: str | None = None) -> int:
    """Make ``steps`` (in order) the job's steps as its next version; return that version.

    In one transaction: delete step ``removed`` (if given), renumber ``stepId`` 1..n, bump the job's
    ``properties.version`` and snapshot the version and its steps. Raises ``LookupError`` when
    the job does not exist.
    """
    with store.transaction():
        job = store.get(job_id)
        if job is None:
            raise LookupError(f"job '{job_id}' does not exist")
        version = int(job["properties"]["version"]) + 1
        version_id = f"{job['id']}/versions/{version}"
        if removed is not None:
            store.delete(removed)
        store.put(version_id, {"id": version_id, "name": str(version), "type": resource_type(version_id)})
        for number, step in enumerate(steps, start=1):
            step["properties"] = {"stepId": number, **_without_step_id(step["properties"])}
            store.put(step["id"], step)
            snapshot = copy.deepcopy(step)
            snapshot["id"] = f"{version_id}/steps/{step['name']}"
            snapshot["type"] = resource_type(snapshot["id"])
            store.put(snapshot["id"], snapshot)
        job["properties"]["version"] = version
        store.put(job["id"], job)
    return version
