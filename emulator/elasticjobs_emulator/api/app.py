"""The emulator's FastAPI application: auth, api-version check, ARM errors, routers, test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import (
    agents,
    controls,
    credentials,
    databases,
    entra,
    executions,
    jobs,
    lro,
    private_endpoints,
    servers,
    sqlplane,
    steps,
    target_groups,
    ui,
    versions,
)
from elasticjobs_emulator.api.auth import ArmAuthMiddleware
from elasticjobs_emulator.api.lro import AGENT_PROVISIONING_SECONDS_KEY
from elasticjobs_emulator.api.versioning import ApiVersionShapingMiddleware
from elasticjobs_emulator.context import DEFAULT_PAGE_SIZE, EmulatorContext
from elasticjobs_emulator.engine import Engine
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.principals import Principals, load_principals_file
from elasticjobs_emulator.store import Store

STORE_FILE = "emulator.db"
DEFAULT_AGENT_PROVISIONING_SECONDS = 1.0

_ROUTERS = (
    servers,
    databases,
    agents,
    private_endpoints,
    credentials,
    target_groups,
    jobs,
    steps,
    versions,
    lro,
    executions,
    sqlplane,
    controls,
    entra,
)


def _arm_error_response(error: errors.ArmError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _on_arm_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ArmError)
    return _arm_error_response(exc)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (404, 405):
        error = errors.no_such_route(request.method, request.url.path, allowed=exc.status_code == 405)
    else:
        error = errors.ArmError(exc.status_code, "BadRequest", str(exc.detail))
    return _arm_error_response(error)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ("body",)))
    return _arm_error_response(
        errors.invalid(where, f"{first.get('msg', 'invalid request')}; send a JSON object body.")
    )


def create_app(
    state_dir: Path,
    token: str,
    page_size: int = DEFAULT_PAGE_SIZE,
    agent_provisioning_seconds: float = DEFAULT_AGENT_PROVISIONING_SECONDS,
    principals_file: Path | None = None,
) -> FastAPI:
    """Build the emulator app over the state in ``state_dir``, accepting bearer ``token``.

    ``page_size`` is the number of items per ARM list page; ``agent_provisioning_seconds`` is how
    long a job agent stays ``Creating``/``Updating``/``Deleting`` before its operation completes;
    ``principals_file`` (JSON list of principal registrations) registers Entra ID service principals
    at start. The engine starts and stops with the app's lifespan.
    """
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(state_dir / STORE_FILE)
    hasher = PasswordHasher.for_store(store)
    engine = Engine(store, state_dir, hasher)
    context = EmulatorContext(
        state_dir=state_dir, store=store, hasher=hasher, engine=engine, page_size=page_size
    )
    context.extras[AGENT_PROVISIONING_SECONDS_KEY] = agent_provisioning_seconds
    principals = Principals(store, hasher)
    for principal, secret in load_principals_file(principals_file) if principals_file else ():
        principals.register(principal, secret)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        engine.start()
        try:
            yield
        finally:
            engine.stop()
            store.close()

    app = FastAPI(
        title="Azure SQL Elastic Jobs emulator",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.emulator = context
    app.state.controls = controls.Controls()
    app.state.principals = principals
    app.add_exception_handler(errors.ArmError, _on_arm_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    for module in _ROUTERS:
        app.include_router(module.router)
    ui.install(app, token)  # the emulator's own web pages (the provider's emulator links land there)
    # Added last = outermost: count and inject faults first, then authenticate (and check the
    # api-version), then shape bodies for that api-version.
    app.add_middleware(ApiVersionShapingMiddleware)
    app.add_middleware(
        ArmAuthMiddleware,
        token=token,
        principals=principals,
        unauthenticated_prefixes=(sqlplane.SQLPLANE_PREFIX, ui.UI_PREFIX),
        public_path=entra.is_public_path,
    )
    app.add_middleware(controls.ControlsMiddleware, controls=app.state.controls)
    return app
