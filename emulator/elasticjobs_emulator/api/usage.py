"""Which current definitions of a job agent refer to a credential or a target group (409 on delete)."""

from __future__ import annotations

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm
from elasticjobs_emulator.context import EmulatorContext
from elasticjobs_emulator.store import resource_key


def references_to(context: EmulatorContext, resource_id: str) -> list[str]:
    """Human-readable names of the steps and target groups that reference ``resource_id``.

    Only current definitions count (steps of each job's latest version, target group members),
    not the snapshots of older job versions.
    """
    wanted = resource_key(resource_id)
    agent_id = resource_id.rsplit("/", 2)[0]
    users: list[str] = []
    for job in context.store.children(agent_id, "jobs"):
        for step in context.store.children(job["id"], "steps"):
            properties = step["properties"]
            referenced = [
                properties.get("credential"),
                properties.get("targetGroup"),
                (properties.get("output") or {}).get("credential"),
            ]
            if any(ref and resource_key(ref) == wanted for ref in referenced):
                users.append(f"step '{step['name']}' of job '{job['name']}'")
    for group in context.store.children(agent_id, "targetGroups"):
        members = group["properties"].get("members", [])
        if any(resource_key(m.get("refreshCredential") or "") == wanted for m in members):
            users.append(f"target group '{group['name']}'")
    return users


def refuse_if_used(context: EmulatorContext, resource_id: str, code: str, kind: str) -> None:
    """409 ``code`` naming what still uses ``resource_id`` (a ``kind``, e.g. ``credential``), if anything."""
    users = references_to(context, resource_id)
    if users:
        raise errors.conflict(
            code,
            f"The {kind} '{arm.resource_name(resource_id)}' is used by {', '.join(users)}; "
            "change or delete those first.",
        )
