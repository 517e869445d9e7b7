"""A minimal Entra ID (v2.0) authority: the client-credentials token endpoint and its discovery.

What MSAL and azure-identity call for a service principal with a client secret, on this server:

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the tenant's OpenID configuration (MSAL's
  authority discovery; azure-identity's async credentials skip it);
- ``POST /{tenant}/oauth2/v2.0/token`` with the form fields ``grant_type=client_credentials``,
  ``client_id``, ``client_secret`` and ``scope``: ``{"token_type": "Bearer", "expires_in",
  "ext_expires_in", "access_token"}`` like Entra ID, or Entra's error body.

Service principals are test controls (static token only, like every ``/_emulator/`` path):
``PUT /_emulator/principals/{client_id}`` with ``{"secret", "role", "lifetime_seconds",
"clock_skew_seconds"}``, ``GET /_emulator/principals`` (with tokens issued per principal) and
``DELETE /_emulator/principals/{client_id}``. See :mod:`elasticjobs_emulator.principals`.

Any tenant id is accepted (principals are not bound to a tenant). Entra's error texts and status
codes, from real answers quoted in public issues: wrong secret 401 ``invalid_client`` AADSTS7000215
(Azure/sap-automation#418 quotes the whole body); unknown client AADSTS700016 (text as in
donwa/oneindex#621 and MicrosoftDocs/azure-docs#21690; 400 ``unauthorized_client`` as the bodies quoted
in public troubleshooting notes show); no client secret 401 ``invalid_client`` AADSTS7000218
(haystackeditor/haystack-editor#41 quotes the body, Azure-Samples/active-directory-dotnet-native-aspnetcore#22
the 401); a scope without ``/.default`` 400 ``invalid_scope`` AADSTS1002012 (text as quoted in
MicrosoftDocs/azure-docs#99862 and microsoftgraph/msgraph-sdk-python#181); another missing parameter
400 ``invalid_request`` AADSTS900144. The emulator serves client secrets only: a certificate's
``client_assertion`` gets a 400 ``invalid_request`` saying so.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from elasticjobs_emulator import errors
from elasticjobs_emulator.principals import Principal, PrincipalError, Principals

PRINCIPALS_PATH = "/_emulator/principals"
_PUBLIC_PATH = re.compile(
    r"^/[A-Za-z0-9._-]+/(?:v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)$"
)

router = APIRouter()


def is_public_path(path: str) -> bool:
    """Whether ``path`` is one of the authority's own endpoints (served without a bearer token)."""
    return _PUBLIC_PATH.match(path) is not None


def _principals(request: Request) -> Principals:
    return request.app.state.principals


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def openid_configuration(tenant: str, request: Request) -> dict[str, Any]:
    """The tenant's OpenID configuration, pointing at this server (fields MSAL reads, and their kin)."""
    base = f"{_base_url(request)}/{tenant}"
    return {
        "issuer": f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "jwks_uri": f"{_base_url(request)}/{tenant}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "emulator",
        "cloud_instance_name": "emulator",
    }


def _entra_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    """Entra ID's error body (``error``, ``error_description`` with trace lines, ``error_codes``, …)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {now}",
        "error_codes": [code],
        "timestamp": now,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    return JSONResponse(body, status_code=status)


@router.post("/{tenant}/oauth2/v2.0/token", response_model=None)
async def token(tenant: str, request: Request) -> Response | dict[str, Any]:
    """Client-credentials grant: an access token for a registered principal, or Entra's error."""
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    for name in ("grant_type", "client_id", "scope"):
        if not form.get(name):
            return _entra_error(
                400,
                "invalid_request",
                900144,
                f"The request body must contain the following parameter: '{name}'.",
            )
    if form["grant_type"] != "client_credentials":
        return _entra_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{form['grant_type']}'. The emulator serves "
            "only client_credentials.",
        )
    if not form["scope"].endswith("/.default"):
        return _entra_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {form['scope']} is not valid. Client credential flows must have "
            "a scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    principals = _principals(request)
    principal = principals.get(form["client_id"])
    if principal is None:
        return _entra_error(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{form['client_id']}' was not found in the directory '{tenant}'. "
            "This can happen if the application has not been installed by the administrator of the tenant "
            "or consented to by any user in the tenant. You may have sent your authentication request to "
            "the wrong tenant.",
        )
    if not form.get("client_secret"):
        if form.get("client_assertion"):
            return _entra_error(
                400,
                "invalid_request",
                900144,
                "The emulator's authority accepts client secrets only; give the connection a client "
                "secret instead of a certificate.",
            )
        return _entra_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    # PBKDF2 takes milliseconds: off the event loop, so token requests do not stall ARM requests.
    if not await asyncio.to_thread(principals.secret_matches, principal, form["client_secret"]):
        return _entra_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{principal.client_id}'.",
        )
    lifetime = principal.lifetime_seconds
    return {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": principals.issue(principal, tenant),
    }


# -- test controls: service principals ------------------------------------------------------------
@router.put(PRINCIPALS_PATH + "/{client_id}")
async def put_principal(client_id: str, request: Request) -> dict[str, Any]:
    """Register or replace a service principal; answers its description (never the secret)."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise errors.invalid("body", 'send a JSON object like {"secret": "…", "role": "reader"}.')
    try:
        principal, secret = Principal.parse(client_id, body)
    except PrincipalError as error:
        raise errors.invalid(error.field, str(error)) from None
    _principals(request).register(principal, secret)
    return principal.describe()


@router.get(PRINCIPALS_PATH)
async def list_principals(request: Request) -> dict[str, Any]:
    """Every principal with the number of tokens issued to it since the emulator started."""
    principals = _principals(request)
    value = [
        {**p.describe(), "tokens_issued": principals.tokens_issued[p.client_id]} for p in principals.all()
    ]
    return {"value": value, "tokens_issued": sum(principals.tokens_issued.values())}


@router.delete(PRINCIPALS_PATH + "/{client_id}", status_code=204)
async def delete_principal(client_id: str, request: Request) -> None:
    """Forget a principal; its tokens stop working at once."""
    if not _principals(request).remove(client_id):
        raise errors.not_found("principals", client_id)
