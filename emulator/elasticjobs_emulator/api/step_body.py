"""Validation of job step properties (action, credential, target group, options, output)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import validation
from elasticjobs_emulator.api.managed_identity import require_credential
from elasticjobs_emulator.api.versioning import request_version
from elasticjobs_emulator.context import EmulatorContext

# Defaults from the 2025-01-01 spec (JobSteps.json, JobStepExecutionOptions).
DEFAULT_EXECUTION_OPTIONS: dict[str, Any] = {
    "timeoutSeconds": 43200,
    "retryAttempts": 10,
    "initialRetryIntervalSeconds": 1,
    "maximumRetryIntervalSeconds": 120,
    "retryIntervalBackoffMultiplier": 2.0,
}


def _action(properties: dict[str, Any]) -> dict[str, Any]:
    where = "properties.action."
    raw = validation.sub_object(properties, "action", "properties.", required=True)
    assert raw is not None
    return {
        "type": validation.choice(raw, "type", where, ["TSql"], "TSql"),
        "source": validation.choice(raw, "source", where, ["Inline"], "Inline"),
        "value": validation.text(raw, "value", where),
    }


def _execution_options(properties: dict[str, Any]) -> dict[str, Any]:
    where = "properties.executionOptions."
    raw = validation.sub_object(properties, "executionOptions", "properties.") or {}
    defaults = DEFAULT_EXECUTION_OPTIONS
    options = {
        "timeoutSeconds": validation.integer(raw, "timeoutSeconds", where, defaults["timeoutSeconds"], 1),
        "retryAttempts": validation.integer(raw, "retryAttempts", where, defaults["retryAttempts"], 0),
        "initialRetryIntervalSeconds": validation.integer(
            raw, "initialRetryIntervalSeconds", where, defaults["initialRetryIntervalSeconds"], 1
        ),
        "maximumRetryIntervalSeconds": validation.integer(
            raw, "maximumRetryIntervalSeconds", where, defaults["maximumRetryIntervalSeconds"], 1
        ),
        "retryIntervalBackoffMultiplier": validation.number(
            raw, "retryIntervalBackoffMultiplier", where, defaults["retryIntervalBackoffMultiplier"], 1.0
        ),
    }
    if options["initialRetryIntervalSeconds"] > options["maximumRetryIntervalSeconds"]:
        raise errors.invalid(
            f"{where}initialRetryIntervalSeconds",
            f"{options['initialRetryIntervalSeconds']} is above maximumRetryIntervalSeconds "
            f"({options['maximumRetryIntervalSeconds']}); make initial <= maximum.",
        )
    return options


def _output(
    request: Request, context: EmulatorContext, agent_id: str, properties: dict[str, Any]
) -> dict[str, Any] | None:
    where = "properties.output."
    raw = validation.sub_object(properties, "output", "properties.")
    if raw is None:
        return None
    output: dict[str, Any] = {"type": validation.choice(raw, "type", where, ["SqlDatabase"], "SqlDatabase")}
    for key in ("subscriptionId", "resourceGroupName"):
        value = validation.text(raw, key, where, required=False)
        if value is not None:
            output[key] = value
    for key in ("serverName", "databaseName"):
        output[key] = validation.text(raw, key, where)
    output["schemaName"] = validation.text(raw, "schemaName", where, required=False) or "dbo"
    output["tableName"] = validation.text(raw, "tableName", where)
    require_credential(request_version(request), raw.get("credential") is not None, f"{where}credential")
    if raw.get("credential") is not None:
        output["credential"] = validation.child_reference(
            context, raw["credential"], f"{where}credential", agent_id, "credentials", "credential"
        )
    return output


def step_properties(
    request: Request, context: EmulatorContext, agent_id: str, properties: dict[str, Any]
) -> dict[str, Any]:
    """Validated step properties with defaults filled in (``stepId`` is placed by the caller).

    ``credential`` may be left out from api-version 2023-08-01-preview on (its output's from
    2023-05-01-preview): the step then runs as the agent's managed identity
    (``api/managed_identity.py``).
    """
    result: dict[str, Any] = {
        "targetGroup": validation.child_reference(
            context,
            properties.get("targetGroup"),
            "properties.targetGroup",
            agent_id,
            "targetGroups",
            "target group",
        )
    }
    require_credential(
        request_version(request), properties.get("credential") is not None, "properties.credential", step=True
    )
    if properties.get("credential") is not None:
        result["credential"] = validation.child_reference(
            context, properties["credential"], "properties.credential", agent_id, "credentials", "credential"
        )
    result["action"] = _action(properties)
    output = _output(request, context, agent_id, properties)
    if output is not None:
        result["output"] = output
    result["executionOptions"] = _execution_options(properties)
    return result


def requested_step_id(properties: dict[str, Any]) -> int | None:
    """The ``stepId`` asked for, if any (a whole number >= 1)."""
    if properties.get("stepId") is None:
        return None
    return validation.integer(properties, "stepId", "properties.", 1, 1)
