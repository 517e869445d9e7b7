"""ARM routes of ``Microsoft.Sql/servers/jobAgents/credentials``.

The password is write-only: only its keyed digest is stored (``Store.set_secret``); it is never
returned, logged or put in an error message. A credential still referenced by a job step or by a
target group member cannot be deleted (409 ``CredentialInUse``): the emulator's choice, so a job
never points at a missing credential (Azure's behaviour here is not documented).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import arm, validation
from elasticjobs_emulator.api.usage import refuse_if_used

router = APIRouter()
_PATH = arm.AGENT_PREFIX + "/credentials"


@router.get(_PATH)
def list_credentials(request: Request) -> dict[str, Any]:
    """Credentials of a job agent."""
    return arm.list_children(request, "credentials")


@router.get(_PATH + "/{credential}")
def get_credential(request: Request) -> dict[str, Any]:
    """One credential (username only)."""
    return arm.require(arm.ctx(request), arm.path_id(request))


@router.put(_PATH + "/{credential}")
def put_credential(request: Request, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Create (201) or update (200) a credential; both username and password are required."""
    context, credential_id = arm.addressed(request)
    properties = arm.properties_of(arm.object_body(body), required=True)
    username = validation.text(properties, "username", "properties.")
    password = properties.get("password")
    if not isinstance(password, str) or not password:
        raise errors.invalid(
            "properties.password", "is required; pass the password of the login as a string."
        )
    existing = context.store.get(credential_id)
    doc = arm.new_doc(existing["id"] if existing else credential_id, {"username": username})
    with context.store.transaction():
        created = context.store.put(credential_id, doc)
        context.store.set_secret(credential_id, context.hasher.digest(password))
    return arm.put_answer(doc, created)


@router.delete(_PATH + "/{credential}")
def delete_credential(request: Request) -> Response:
    """Delete a credential that no step or target group uses (200; 204 when absent)."""
    context, credential_id = arm.addressed(request)
    if not context.store.exists(credential_id):
        return arm.delete_answer(False)
    refuse_if_used(context, credential_id, "CredentialInUse", "credential")
    return arm.delete_answer(context.store.delete(credential_id))
