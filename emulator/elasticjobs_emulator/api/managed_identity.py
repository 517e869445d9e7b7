"""Which api-versions let a job step, its output or a target group member go without a credential.

Up to ``2023-02-01-preview`` the REST spec requires ``credential`` on ``JobStepProperties`` and on
``JobStepOutput`` (``preview/2023-02-01-preview/JobSteps.json``). ``preview/2023-05-01-preview/``
is the version that gave job agents an ``identity`` (``JobAgents.json``) and dropped ``credential``
from the required properties of ``JobStepOutput``, but ``JobStepProperties`` still requires a step's
own ``credential`` there (``JobSteps.json``); ``preview/2023-08-01-preview/`` is the first to leave
it out. Every later version keeps both optional except ``stable/2023-08-01``, whose job agents have
no ``identity`` (its ``JobAgents.json``) and whose ``JobStepProperties`` requires ``credential``.
Without a credential the agent connects as its user-assigned managed identity (Microsoft Learn,
"Elastic jobs in Azure SQL Database", section "Elastic job authentication").

A target group member's ``refreshCredential`` was never required by the spec (``JobTarget`` requires
only ``type``), but before agents had an identity nothing else could list a server's or pool's
databases, so the emulator (like the PowerShell cmdlets) requires it in those older versions.
"""

from __future__ import annotations

from elasticjobs_emulator import api_versions, errors

_AGENT_TYPE = "servers/jobAgents"
_STEP_TYPE = "servers/jobAgents/jobs/steps"


def credential_optional(version: str, *, step: bool = False) -> bool:
    """Whether ``version`` lets a credential be left out: one in which agents have an identity and,
    for a step's own ``credential`` (``step``), whose ``JobStepProperties`` does not require it (the
    ``required`` names the api-version table read from that version's ``JobSteps.json``)."""
    if step:
        steps = api_versions.defined(_STEP_TYPE, version)
        if steps is not None and "credential" in steps["required"]:
            return False
    return "identity" not in api_versions.undefined_paths(_AGENT_TYPE, version)


def require_credential(version: str, present: bool, property_path: str, *, step: bool = False) -> None:
    """400 naming ``property_path`` when it is missing in an api-version that requires it (``step``:
    the step's own credential, see :func:`credential_optional`)."""
    if present or credential_optional(version, step=step):
        return
    allowing = "2023-08-01-preview" if step else "2023-05-01-preview, 2023-08-01-preview"
    raise errors.invalid(
        property_path,
        f"is required in api-version {version}; give the resource id of a job credential, or use "
        f"an api-version that lets it be left out ({allowing}, 2024-05-01-preview or later), where a "
        "job agent with a managed identity connects without one.",
    )
