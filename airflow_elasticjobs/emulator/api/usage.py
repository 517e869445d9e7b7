"""Which current definitions of a job agent refer to a credential or a target group."""

from __future__ import annotations

from airflow_elasticjobs.emulator.context import EmulatorContext
from airflow_elasticjobs.emulator.store.sqlite_store import resource_key


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
