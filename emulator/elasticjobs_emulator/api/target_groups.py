"""ARM routes of ``Microsoft.Sql/servers/jobAgents/targetGroups``.

Members are validated per type (required fields as in Azure's spec and PowerShell cmdlets):

============== =====================================================================
SqlServer      serverName, refreshCredential
SqlDatabase    serverName, databaseName
SqlElasticPool serverName, elasticPoolName, refreshCredential
SqlShardMap    serverName, shardMapName, refreshCredential (databaseName optional)
============== =====================================================================

The spec's ``JobTarget`` schema requires only ``type``; the spec's own example
``CreateOrUpdateJobTargetGroupMax.json`` sends a shard map member without ``databaseName``, so
it is optional there (kept when sent; the emulator does not run shard maps anyway).

From api-version 2023-05-01-preview on ``refreshCredential`` may be left out: the agent then lists
the databases as its managed identity (``api/managed_identity.py``).

``membershipType`` is Include (default) or Exclude. A refresh credential must be a credential of
the same agent. Fields that a member type does not use are refused, so typos surface at once.
A target group still used by a job step cannot be deleted (409 ``TargetGroupInUse``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm, validation
from elasticjobs_emulator.api.managed_identity import require_credential
from elasticjobs_emulator.api.usage import refuse_if_used
from elasticjobs_emulator.api.versioning import request_version
from elasticjobs_emulator.context import EmulatorContext

router = APIRouter()
_PATH = arm.AGENT_PREFIX + "/targetGroups"

MEMBER_FIELDS: dict[str, tuple[str, ...]] = {
    "SqlServer": ("serverName", "refreshCredential"),
    "SqlDatabase": ("serverName", "databaseName"),
    "SqlElasticPool": ("serverName", "elasticPoolName", "refreshCredential"),
    "SqlShardMap": ("serverName", "shardMapName", "refreshCredential"),
}
# Fields a member type may carry without needing them.
_OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {"SqlShardMap": ("databaseName",)}
_ALL_FIELDS = ("serverName", "databaseName", "elasticPoolName", "shardMapName", "refreshCredential")


def _member(context: EmulatorContext, agent_id: str, index: int, raw: Any, version: str) -> dict[str, Any]:
    where = f"properties.members[{index}]"
    member = arm.object_body(raw, where)
    kind = validation.choice(member, "type", f"{where}.", list(MEMBER_FIELDS), None)
    membership = validation.choice(member, "membershipType", f"{where}.", ["Include", "Exclude"], "Include")
    wanted = MEMBER_FIELDS[kind]
    out: dict[str, Any] = {"membershipType": membership, "type": kind}
    for field in _ALL_FIELDS:
        if field in wanted:
            value = validation.text(member, field, f"{where}.", required=field != "refreshCredential")
            if field == "refreshCredential":
                require_credential(version, value is not None, f"{where}.{field}")
            if value is not None:
                out[field] = value
        elif field in _OPTIONAL_FIELDS.get(kind, ()):
            value = validation.text(member, field, f"{where}.", required=False)
            if value is not None:
                out[field] = value
        elif member.get(field) is not None:
            raise errors.invalid(
                f"{where}.{field}",
                f"is not used by members of type {kind}; remove it (needs {', '.join(wanted)}).",
            )
    if "refreshCredential" in out:
        out["refreshCredential"] = validation.child_reference(
            context,
            out["refreshCredential"],
            f"{where}.refreshCredential",
            agent_id,
            "credentials",
            "credential",
        )
    return out


@router.get(_PATH)
def list_target_groups(request: Request) -> dict[str, Any]:
    """Target groups of a job agent."""
    return arm.list_children(request, "targetGroups")


@router.get(_PATH + "/{target_group}")
def get_target_group(request: Request) -> dict[str, Any]:
    """One target group."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(_PATH + "/{target_group}")
def put_target_group(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Create (201) or replace (200) a target group and its members."""
    context, group_id = arm.addressed(request)
    agent_id = group_id.rsplit("/targetGroups/", 1)[0]
    properties = arm.properties_of(arm.object_body(body), required=True)
    members = properties.get("members")
    if not isinstance(members, list):
        raise errors.invalid("properties.members", "is required; pass a list of members (it may be empty).")
    version = request_version(request)
    checked = [_member(context, agent_id, i, raw, version) for i, raw in enumerate(members)]
    existing = context.store.get(group_id)
    doc = arm.new_doc(existing["id"] if existing else group_id, {"members": checked})
    return arm.put_answer(doc, context.store.put(group_id, doc))


@router.delete(_PATH + "/{target_group}")
def delete_target_group(request: Request) -> Response:
    """Delete a target group no step uses (200; 204 when absent)."""
    context, group_id = arm.addressed(request)
    if not context.store.exists(group_id):
        return arm.delete_answer(False)
    refuse_if_used(context, group_id, "TargetGroupInUse", "target group")
    return arm.delete_answer(context.store.delete(group_id))
