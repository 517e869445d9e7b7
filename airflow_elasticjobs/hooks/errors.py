"""ARM error handling shared by the hooks: 404 as "absent", and short secret-free error descriptions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def get_or_none(call: Callable[[], T]) -> T | None:
    """Run a GET; return ``None`` when ARM answers 404 (the resource does not exist)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return call()
    except ResourceNotFoundError:
        return None


def delete_if_exists(existing: Any, call: Callable[[], Any]) -> bool:
    """Run a delete (waiting for an LRO poller) when ``existing`` is not ``None``.

    ARM answers a DELETE of a missing resource with 204 (REST spec, e.g. ``Jobs_Delete``: "204 The
    specified job does not exist"), which the SDK does not surface, so the caller passes the result
    of a GET; a 404 during the delete (a parent already gone) also counts as absent. Returns
    whether something was deleted.
    """
    from azure.core.exceptions import ResourceNotFoundError

    if existing is None:
        return False
    try:
        result = call()
        if hasattr(result, "result"):
            result.result()
    except ResourceNotFoundError:
        return False
    return True


def describe_error(err: BaseException) -> str:
    """A short, secret-free description of an ARM/transport/configuration error for users."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    if isinstance(err, ClientAuthenticationError) and _no_identity(err):
        return (
            "No Azure identity gave a token (DefaultAzureCredential): set a service principal (login, "
            "password, tenant_id) or managed_identity_client_id on the connection, or sign in with "
            "the Azure CLI (an unreachable managed-identity endpoint looks the same)."
        )
    if isinstance(err, ClientAuthenticationError):
        status = err.status_code or "no token"
        return (
            f"Authentication failed ({status}{_entra_code(err)}): check the connection's client id, "
            "secret and tenant (or its token for the emulator)."
        )
    if isinstance(err, ResourceNotFoundError):
        return f"Not found: {_arm_message(err)} (check the resource group, server, agent and job names)"
    if isinstance(err, HttpResponseError) and err.status_code == 403:
        return (
            f"ARM answered 403: {_arm_message(err)} Give the connection's identity a role that allows "
            "this action (e.g. SQL Server Contributor) on the server or its resource group."
        )
    if isinstance(err, HttpResponseError):
        return f"ARM answered {err.status_code}: {_arm_message(err)}"
    if isinstance(err, ServiceRequestError):
        text = str(err)
        # "[SSL: …]" / CERTIFICATE_VERIFY_FAILED mark real TLS failures; aiohttp also writes
        # "ssl:<ssl.SSLContext …>" into every HTTPS connect error, a refused connection included.
        if "CERTIFICATE" in text.upper() or "[SSL" in text.upper():
            return f"TLS verification failed ({text}); set 'verify' to the emulator's CA bundle path."
        return f"Endpoint unreachable: {text}; check the connection's 'endpoint' and that the service runs."
    return f"{type(err).__name__}: {err}"


#: Entra ID error codes a service principal most often meets, and what each means for the connection.
#: Source: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
_ENTRA_CODES = {
    "AADSTS7000215": "invalid client secret",
    "AADSTS7000222": "client secret expired",
    "AADSTS700016": "client id not found in the tenant",
    "AADSTS90002": "tenant not found",
}


def is_rejected_identity(err: BaseException) -> bool:
    """Whether Entra ID refused the identity itself, which no amount of waiting heals.

    A wrong or expired client secret, an unknown client id or tenant fails at once instead of spending
    a waiter's error budget. ``DefaultAzureCredential`` finding no identity is *not* in this set: a
    managed-identity endpoint that is briefly unreachable ends in the very same error.
    """
    return _aadsts_code(err) in _ENTRA_CODES


#: How azure-identity's ``DefaultAzureCredential`` (a ``ChainedTokenCredential``) reports that none of
#: its sources gave a token (azure-identity ``_credentials/chained.py``).
_CHAIN_FAILED = "failed to retrieve a token from the included credentials"


def _no_identity(err: BaseException) -> bool:
    """``DefaultAzureCredential`` got no token from any source and Entra ID named no reason."""
    return _CHAIN_FAILED in str(err) and _aadsts_code(err) is None


def _aadsts_code(err: BaseException) -> str | None:
    """The Entra ID error code the error's text names (``AADSTS7000215``), if any."""
    found = re.search(r"AADSTS\d+", str(err))
    return None if found is None else found.group()


def _entra_code(err: BaseException) -> str:
    """``", Entra ID AADSTS7000215: invalid client secret"`` when the error names an Entra code."""
    code = _aadsts_code(err)
    if code is None:
        return ""
    meaning = _ENTRA_CODES.get(code)
    return f", Entra ID {code}" + (f": {meaning}" if meaning else "")


def _arm_message(err: Any) -> str:
    error = getattr(err, "error", None)
    if error is not None and getattr(error, "message", None):
        return f"{error.code}: {error.message}"
    return str(getattr(err, "reason", "") or err).splitlines()[0]
