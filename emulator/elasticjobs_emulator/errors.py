"""The one place ARM error codes and messages are made (like Azurite's StorageErrorFactory).

ARM error body: ``{"error": {"code": "...", "message": "..."}}``. Codes and wording follow the
real service (REST specs' examples and recorded PowerShell sessions, see docs/emulator.md).
"""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """An ARM error answer: HTTP status, error code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body ARM sends for this error."""
        return {"error": {"code": self.code, "message": self.message}}


def not_found(resource_type: str, name: str, resource_group: str | None = None) -> ArmError:
    """404 for a missing resource, e.g. ``not_found("Microsoft.Sql/servers/jobAgents/jobs", "Job1", "rg")``.

    ARM's wording, naming the resource group when it is known.
    """
    group = f" '{resource_group}'" if resource_group else ""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group{group} was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def server_not_found(name: str, resource_group: str) -> ArmError:
    """404 ``ServerNotInSubscriptionResourceGroup``, the 2025-01-01 spec's code for a missing server."""
    return ArmError(
        404,
        "ServerNotInSubscriptionResourceGroup",
        f"Specified server '{name}' does not exist in resource group '{resource_group}' and the "
        "specified subscription.",
    )


def job_agent_not_found(name: str, server: str) -> ArmError:
    """404 ``JobAgentNotFound``: the code the 2025-01-01 spec lists for a missing job agent."""
    return ArmError(
        404,
        "JobAgentNotFound",
        f"Specified job agent '{name}' does not exist in the specified logical server '{server}'.",
    )


def parent_not_found(resource_type: str, name: str) -> ArmError:
    """404 when a parent of the addressed resource does not exist."""
    return ArmError(
        404,
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource '{name}' "
        f"of type '{resource_type}' not found.",
    )


def invalid(property_path: str, message: str, code: str = "InvalidRequestContent") -> ArmError:
    """400 for a request whose property ``property_path`` is invalid; message says how to fix it."""
    return ArmError(400, code, f"Invalid value for property '{property_path}': {message}")


def conflict(code: str, message: str) -> ArmError:
    """409 for a request that conflicts with the current state."""
    return ArmError(409, code, message)


def unauthorized(message: str = "Authentication failed. The 'Authorization' header is missing.") -> ArmError:
    """401 answered without or with a wrong bearer token."""
    code = "AuthenticationFailed" if "missing" in message else "InvalidAuthenticationToken"
    return ArmError(401, code, message, headers={"WWW-Authenticate": 'Bearer authorization_uri="emulator"'})


def missing_api_version() -> ArmError:
    """400 for an ARM request without the ``api-version`` query parameter."""
    return ArmError(
        400,
        "MissingApiVersionParameter",
        "The api-version query parameter (?api-version=) is required for all requests.",
    )


def invalid_api_version(given: str, supported: str) -> ArmError:
    """400 for an ``api-version`` the emulator does not serve."""
    return ArmError(
        400,
        "InvalidApiVersionParameter",
        f"The api-version '{given}' is invalid. The supported versions are '{supported}'.",
    )


def unsupported_api_version(resource_type: str, given: str, supported: str) -> ArmError:
    """400 for a well-formed ``api-version`` the resource type was never published in (ARM's
    ``InvalidResourceType`` wording, e.g. as quoted in Azure NetApp Files' troubleshooting docs)."""
    return ArmError(
        400,
        "InvalidResourceType",
        f"The resource type '{resource_type}' could not be found in the namespace 'Microsoft.Sql' "
        f"for api version '{given}'. The supported api-versions are '{supported}'.",
    )


def throttled(retry_after_seconds: int) -> ArmError:
    """429 asking the client to come back after ``retry_after_seconds`` (injected fault)."""
    return ArmError(
        429,
        "TooManyRequests",
        f"The request was throttled. Retry after {retry_after_seconds} seconds.",
        headers={"Retry-After": str(retry_after_seconds)},
    )


def server_error(status: int) -> ArmError:
    """500 or 503 as ARM sends them (injected fault)."""
    if status == 503:
        return ArmError(503, "ServiceUnavailable", "The service is temporarily unavailable. Retry later.")
    return ArmError(500, "InternalServerError", "The server encountered an internal error. Retry later.")


def no_such_route(method: str, path: str, allowed: bool = False) -> ArmError:
    """404 (or 405 when the path exists for other methods) for a request no route serves."""
    if allowed:
        return ArmError(
            405,
            "MethodNotAllowed",
            f"The HTTP method '{method}' is not supported for '{path}'. See docs/emulator.md for the routes.",
        )
    return ArmError(
        404,
        "InvalidResourceType",
        f"No resource type of namespace 'Microsoft.Sql' is served at '{path}' for api version "
        "'2025-01-01'. Check the path against docs/emulator.md.",
    )


def bad_request(code: str, message: str) -> ArmError:
    """400 for an operation that is not allowed on this resource (e.g. deleting ``master``)."""
    return ArmError(400, code, message)


def _arm_time(epoch_seconds: float) -> str:
    """A UTC time as ARM writes it in messages, e.g. ``6/15/2026 8:22:51 AM``."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M:%S %p').lstrip('0')}"


def expired_token(expires_on: float, now: float, authority: str) -> ArmError:
    """401 for an access token used after its expiry (ARM's ``ExpiredAuthenticationToken``).

    Wording as ARM sends it (e.g. microsoft/foundry-dev-tools#461, microsoft/vscode-azureappservice
    #2457); the challenge header's shape is ARM's (``Bearer authorization_uri=…, error="invalid_token"``,
    see the ARM challenges in Azure/azure-sdk-for-go azcore's bearer token policy tests).
    """
    return ArmError(
        401,
        "ExpiredAuthenticationToken",
        f"The access token expiry UTC time '{_arm_time(expires_on)}' is earlier than current UTC time "
        f"'{_arm_time(now)}'.",
        headers={
            "WWW-Authenticate": f'Bearer authorization_uri="{authority}", error="invalid_token", '
            'error_description="The access token has expired."'
        },
    )


def authorization_failed(client: str, object_id: str, action: str, scope: str) -> ArmError:
    """403 for an identity whose role does not allow ``action`` on ``scope`` (ARM's RBAC denial).

    Wording as ARM sends it (Azure/azure-cli#30789, MicrosoftDocs/azure-stack-docs#3303); for a service
    principal ARM shows its object id as the client too (PacktPublishing/Azure-Data-Factory-Cookbook#6).
    """
    return ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{client}' with object id '{object_id}' does not have authorization to perform action "
        f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please "
        "refresh your credentials.",
    )
