"""The emulator's own read-only web pages: a job agent, a job and a job execution, in plain HTML.

The provider's extra links (``hooks/resource_ids.py`` ``emulator_ui_url``) land here:
``GET /_emulator/ui{ARM id}``, e.g. ``/_emulator/ui/subscriptions/…/jobAgents/a/jobs/j/executions/{id}``.

Who may read them (a browser cannot send the ARM bearer token):

- requests from the loopback interface (the emulator binds to 127.0.0.1 by default, so this is the
  developer's own machine) are served without a token;
- any other client first posts the token to ``POST /_emulator/ui/login`` (a small form; the token
  travels in the request body, never in a URL, so it never reaches the access log) and gets an
  ``HttpOnly`` session cookie holding an HMAC of the token, not the token itself;
- scripts may send ``Authorization: Bearer <token>`` as with the ARM API.

The pages show definitions and execution states only: never a password, digest or token.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections import Counter
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from elasticjobs_emulator.context import EmulatorContext
from elasticjobs_emulator.engine import Engine, is_terminal

UI_PREFIX = "/_emulator/ui"
LOGIN_PATH = f"{UI_PREFIX}/login"
SESSION_COOKIE = "elastic_jobs_emulator_ui"
REFRESH_SECONDS = 3
_SESSION_CONTEXT = b"airflow-elasticjobs emulator ui session v1"

router = APIRouter(prefix=UI_PREFIX)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f3f3f3}.lc{font-weight:600}
.Succeeded,.SucceededWithSkipped{color:#1a7f37}.Failed,.TimedOut{color:#cf222e}
.Canceled,.Skipped{color:#6e7781}.InProgress,.Created,.WaitingForRetry,.WaitingForChildJobExecutions{color:#9a6700}
code{font-size:.85rem}
"""


def install(app: FastAPI, token: str) -> None:
    """Serve the pages on ``app``, accepting sessions made from ``token`` (the ARM bearer token)."""
    app.state.ui_session = session_value(token)
    app.include_router(router)


def session_value(token: str) -> str:
    """The session cookie value for ``token``: an HMAC, so the cookie never holds the token itself."""
    return hmac.new(token.encode(), _SESSION_CONTEXT, hashlib.sha256).hexdigest()


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _authorised(request: Request) -> bool:
    expected: str = request.app.state.ui_session
    cookie = request.cookies.get(SESSION_COOKIE, "")
    bearer = request.headers.get("authorization", "")
    token = bearer[7:] if bearer.lower().startswith("bearer ") else ""
    return (
        _is_loopback(request)
        or hmac.compare_digest(cookie.encode(), expected.encode())
        or (bool(token) and hmac.compare_digest(session_value(token).encode(), expected.encode()))
    )


def _page(title: str, body: str, status: int = 200, refresh: bool = False) -> HTMLResponse:
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    return HTMLResponse(
        f'<!doctype html><html><head><meta charset="utf-8">{meta}<title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _login_form(next_path: str, status: int = 401, problem: str = "") -> HTMLResponse:
    note = f"<p><strong>{escape(problem)}</strong></p>" if problem else ""
    return _page(
        "Elastic Jobs emulator: sign in",
        f"{note}<p>This page is served without a token only to the emulator's own machine. Enter the"
        " token the emulator was started with (<code>--token</code> /"
        " <code>ELASTIC_JOBS_EMULATOR_TOKEN</code>).</p>"
        f'<form method="post" action="{LOGIN_PATH}"><input type="hidden" name="next"'
        f' value="{escape(next_path)}"><input type="password" name="token" autocomplete="off"'
        ' aria-label="token"> <button type="submit">Sign in</button></form>',
        status=status,
    )


@router.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    """Turn the token posted in a form body into a session cookie, then go back to the page."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0]
    next_path = (form.get("next") or [UI_PREFIX])[0]
    if not next_path.startswith(f"{UI_PREFIX}/"):
        next_path = UI_PREFIX
    expected: str = request.app.state.ui_session
    if not hmac.compare_digest(session_value(token).encode(), expected.encode()):
        return _login_form(next_path, problem="That token is not the one the emulator was started with.")
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        expected,
        path=UI_PREFIX,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
    return response


@router.get("", include_in_schema=False)
def index_page(request: Request) -> Response:
    """Every job agent of the emulator (where the sign-in form returns to by default)."""
    if not _authorised(request):
        return _login_form(UI_PREFIX)
    context: EmulatorContext = request.app.state.emulator
    rows = [
        [_ui_link(agent["id"], agent["id"]), _text(agent.get("properties", {}), "state")]
        for agent in context.store.resources_of_type("jobAgents")
    ]
    return _page("Elastic Jobs emulator", _table(["Job agent", "State"], rows, "agents"))


@router.get("/subscriptions/{rest:path}", include_in_schema=False)
def resource_page(request: Request, rest: str) -> Response:
    """The page of an agent, a job or an execution, chosen by the shape of the ARM id in the path."""
    resource_id = f"/subscriptions/{rest}".rstrip("/")
    if not _authorised(request):
        return _login_form(f"{UI_PREFIX}{quote(resource_id)}")
    context: EmulatorContext = request.app.state.emulator
    segments = resource_id.lower().split("/")
    if len(segments) >= 4 and segments[-2] == "executions" and segments[-4] == "jobs":
        return _execution_page(context.engine, resource_id)
    document = context.store.get(resource_id)
    if document is not None and segments[-2] == "jobs":
        return _job_page(context.engine, document)
    if document is not None and segments[-2] == "jobagents":
        return _agent_page(context, document)
    return _not_found(resource_id)


def _not_found(resource_id: str) -> HTMLResponse:
    return _page(
        "Not found",
        f"<p>The emulator has no agent, job or execution <code>{escape(resource_id)}</code>."
        " It may have been deleted, or the link points at another emulator's state directory.</p>",
        status=404,
    )


def _ui_link(resource_id: str, text: str) -> str:
    return f'<a href="{escape(UI_PREFIX + quote(resource_id))}">{escape(text)}</a>'


def _lifecycle(value: Any) -> str:
    text = escape(str(value or ""))
    return f'<span class="lc {text}">{text}</span>'


def _table(headers: list[str], rows: list[list[str]], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _text(props: dict[str, Any], name: str) -> str:
    return escape(str(props.get(name, "")))


def _execution_page(engine: Engine, execution_id: str) -> HTMLResponse:
    root = engine.execution(execution_id)
    if root is None:
        return _not_found(execution_id)
    props = root["properties"]
    job_id = execution_id.rsplit("/executions/", 1)[0]
    steps = engine.step_executions(job_id, props["jobExecutionId"])
    targets = engine.target_executions(job_id, props["jobExecutionId"])
    # Like the provider's counts: per database (a server member's own expansion row is not a target).
    databases = [t for t in targets if t["properties"].get("target", {}).get("databaseName")]
    counts = Counter(str(t["properties"]["lifecycle"]) for t in databases)
    summary = (
        f"<p>Job {_ui_link(job_id, job_id.rsplit('/', 1)[-1])} version {_text(props, 'jobVersion')};"
        f" lifecycle {_lifecycle(props.get('lifecycle'))}; created {_text(props, 'createTime')},"
        f" started {_text(props, 'startTime') or '-'}, ended {_text(props, 'endTime') or '-'}.</p>"
        f"<p>{_text(props, 'lastMessage')}</p>"
        f'<p id="counts">Target databases: {len(databases)}'
        + "".join(f"; {_lifecycle(name)} {count}" for name, count in sorted(counts.items()))
        + "</p>"
    )
    step_rows = [_progress_row(s["properties"]) for s in steps]
    target_rows = [
        _progress_row(
            t["properties"],
            escape(str(t["properties"].get("target", {}).get("serverName", ""))),
            escape(str(t["properties"].get("target", {}).get("databaseName", ""))),
        )
        for t in targets
    ]
    columns = ["Lifecycle", "Attempts", "Start", "End", "Last message"]
    body = (
        summary
        + "<h2>Steps</h2>"
        + _table(["Step", "Name", *columns], step_rows, "steps")
        + "<h2>Targets</h2>"
        + _table(["Step", "Name", "Server", "Database", *columns], target_rows, "targets")
    )
    active = not is_terminal(props["lifecycle"])
    return _page(f"Execution {props['jobExecutionId']}", body, refresh=active)


def _progress_row(props: dict[str, Any], *where: str) -> list[str]:
    """A step or target execution's cells: step id and name, ``where`` (escaped), then its progress."""
    return [
        _text(props, "stepId"),
        _text(props, "stepName"),
        *where,
        _lifecycle(props.get("lifecycle")),
        _text(props, "currentAttempts"),
        _text(props, "startTime"),
        _text(props, "endTime"),
        _text(props, "lastMessage"),
    ]


def _job_page(engine: Engine, job: dict[str, Any]) -> HTMLResponse:
    executions = engine.job_executions(job["id"])
    rows = [
        [
            _ui_link(e["id"], e["name"]),
            _lifecycle(e["properties"].get("lifecycle")),
            _text(e["properties"], "createTime"),
            _text(e["properties"], "endTime"),
        ]
        for e in reversed(executions)
    ]
    body = f"<p>Version {_text(job['properties'], 'version')}.</p>" + _table(
        ["Execution", "Lifecycle", "Created", "Ended"], rows, "executions"
    )
    return _page(f"Job {job['name']}", body)


def _agent_page(context: EmulatorContext, agent: dict[str, Any]) -> HTMLResponse:
    jobs = context.store.children(agent["id"], "jobs")
    rows = []
    for job in jobs:
        latest = context.engine.job_executions(job["id"])[-1:]
        last = latest[0]["properties"] if latest else {}
        rows.append(
            [
                _ui_link(job["id"], job["name"]),
                _text(job["properties"], "version"),
                _ui_link(latest[0]["id"], latest[0]["name"]) if latest else "",
                _lifecycle(last.get("lifecycle")),
            ]
        )
    sku = agent.get("sku", {})
    body = (
        f"<p>State {_text(agent['properties'], 'state')}; sku {escape(str(sku.get('name', '')))}"
        f" (capacity {escape(str(sku.get('capacity', '')))}).</p>"
        + _table(["Job", "Version", "Latest execution", "Lifecycle"], rows, "jobs")
    )
    return _page(f"Job agent {agent['name']}", body)


__all__ = ["LOGIN_PATH", "SESSION_COOKIE", "UI_PREFIX", "install", "router", "session_value"]
