"""The user-assigned managed identity (UMI) of a job agent: parsing, and what needs one.

An Elastic Job agent may run its steps as its UMI instead of database-scoped credentials: a step (or a
step output, or a server / elastic pool target member) without a credential then authenticates to its
targets with the UMI's Microsoft Entra token. Sources:

* Microsoft Learn, "Elastic jobs in Azure SQL Database", section "Elastic job authentication"
  (learn.microsoft.com/azure/azure-sql/database/elastic-jobs-overview): Microsoft Entra authentication
  with a UMI is the recommended method; only one UMI can be assigned to a job agent; each target
  database needs ``CREATE USER [<UMI name>] FROM EXTERNAL PROVIDER`` and the roles the steps need.
* Microsoft Learn, "Create, configure, and manage elastic jobs" (``elastic-jobs-tutorial``, "Use
  Microsoft Entra authentication") and the T-SQL reference ``jobs.sp_add_jobstep``
  (``elastic-jobs-tsql-create-manage``), where ``@credential_name`` is optional for an agent with a UMI.
* REST spec (github.com/Azure/azure-rest-api-specs, ``specification/sql/resource-manager/Microsoft.Sql``):
  ``identity`` (``JobAgentIdentity``: ``type`` and ``userAssignedIdentities``) appears on ``JobAgent`` in
  ``preview/2023-05-01-preview/JobAgents.json``; the same version drops ``credential`` from the required
  properties of ``JobStepProperties`` and ``JobStepOutput`` (``JobSteps.json``); ``stable/2025-01-01``
  keeps both.

Accepted forms of ``identity`` (all become the ARM body ``{"type": "UserAssigned",
"userAssignedIdentities": {"<resource id>": {}}}``): the UMI's resource id, a one-item list of it, or that
ARM dict itself; ``{"type": "None"}`` removes the identity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from airflow_elasticjobs.validation import invalid

USER_ASSIGNED = "UserAssigned"
NO_IDENTITY = "None"
_EXAMPLE = (
    "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities/<name>"
)
_UMI_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/"
    r"userAssignedIdentities/(?P<name>[^/]+)$",
    re.IGNORECASE,
)


def identity_name(resource_id: str, field: str = "identity") -> str:
    """The UMI's name (last segment of its resource id): the user name targets create for it."""
    match = _UMI_ID.match(resource_id) if isinstance(resource_id, str) else None
    if not match:
        raise invalid(
            field, resource_id, f"give the resource id of a user-assigned managed identity: {_EXAMPLE}"
        )
    return match["name"]


def _resource_ids(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise invalid(
        field, value, f"give the identity's resource id ({_EXAMPLE}), a list of one, or the ARM dict"
    )


def parse_identity(value: Any, field: str = "identity") -> dict[str, Any] | None:
    """Validate ``identity`` and return the ARM ``JobAgentIdentity`` JSON (``None`` when not given)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"type", "userAssignedIdentities"})
        if unknown:
            raise invalid(
                field, dict(value), f"remove {unknown}; use only 'type' and 'userAssignedIdentities'"
            )
        kind = value.get("type")
        assigned = value.get("userAssignedIdentities") or {}
        if kind == NO_IDENTITY:
            if assigned:
                raise invalid(f"{field}.userAssignedIdentities", assigned, "leave it out with type 'None'")
            return {"type": NO_IDENTITY}
        if kind != USER_ASSIGNED:
            raise invalid(
                f"{field}.type",
                kind,
                "use 'UserAssigned' (elastic job agents authenticate only as a user-assigned managed "
                "identity) or 'None' to remove the identity",
            )
        if not isinstance(assigned, Mapping):
            raise invalid(f"{field}.userAssignedIdentities", assigned, "give a dict {'<resource id>': {}}")
        ids, field = list(assigned), f"{field}.userAssignedIdentities"
    else:
        ids = _resource_ids(value, field)
    if len(ids) != 1:
        raise invalid(
            field, ids, "give exactly one user-assigned managed identity (a job agent has at most one)"
        )
    identity_name(ids[0], field)
    return {"type": USER_ASSIGNED, "userAssignedIdentities": {ids[0]: {}}}


def assigned_ids(identity: Any) -> list[str]:
    """Resource ids of the user-assigned identities of an SDK ``JobAgentIdentity`` (or its JSON), if any."""
    if identity is None:
        return []
    if isinstance(identity, Mapping):
        assigned = identity.get("userAssignedIdentities")
    else:
        assigned = getattr(identity, "user_assigned_identities", None)
    return list(assigned or {})
