"""Test controls under ``/_emulator/``: fault injection and request counters (off unless asked).

Not part of ARM. ``ControlsMiddleware`` counts every ARM request per method and path template
(names replaced by ``{}``) and applies the fault rules set through ``PUT /_emulator/faults``:

    {"seed": 7, "rules": [{"kind": "429", "path": "/executions", "method": "GET",
                           "probability": 0.5, "retry_after": 1, "max_count": 3}]}

Kinds: ``429`` (with ``Retry-After``), ``500``, ``503``, ``latency`` (``latency_ms`` added, then the
request is served) and ``drop`` (the connection is closed without any answer).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from elasticjobs_emulator import errors
from elasticjobs_emulator.api import entra

CONTROLS_PREFIX = "/_emulator"
FAULT_KINDS = ("429", "500", "503", "latency", "drop")

router = APIRouter(prefix=CONTROLS_PREFIX)


@lru_cache(maxsize=8192)
def path_template(path: str) -> str:
    """``/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x`` → names as ``{}``.

    ARM paths alternate collection and name segments; ``providers`` is followed by a namespace.
    The Entra ID authority's paths (``/{tenant}/oauth2/v2.0/token``, its OpenID configuration) count
    under one key whatever the tenant, apart from every ARM path.
    """
    segments = path.strip("/").split("/")
    if entra.is_public_path(path):
        return "/{tenant}/" + "/".join(segments[1:])
    out: list[str] = []
    expect_name = False
    literal_next = False
    for segment in segments:
        if literal_next:
            out.append(segment)
            literal_next = False
        elif expect_name:
            out.append("{}")
            expect_name = False
        else:
            out.append(segment)
            literal_next = segment.lower() == "providers"
            expect_name = not literal_next
    return "/" + "/".join(out)


@dataclass
class FaultRule:
    """One fault-injection rule (see the module docstring)."""

    kind: str
    path: re.Pattern[str]
    method: str | None = None
    probability: float = 1.0
    max_count: int | None = None
    retry_after: int = 1
    latency_ms: int = 0
    hits: int = 0

    @classmethod
    def parse(cls, index: int, raw: Any) -> FaultRule:
        """Build a rule from its JSON form, with 400 errors naming ``rules[i].field``."""
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise errors.invalid(where, "each rule must be a JSON object.")
        kind = str(raw.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise errors.invalid(f"{where}.kind", f"'{kind}' is not one of {', '.join(FAULT_KINDS)}.")
        try:
            path = re.compile(str(raw.get("path", "")))
        except re.error as exc:
            raise errors.invalid(f"{where}.path", f"not a valid regular expression ({exc}).") from None
        probability = _number(raw, "probability", 1.0, where)
        if not 0.0 <= probability <= 1.0:
            raise errors.invalid(f"{where}.probability", "must be between 0 and 1.")
        max_count = raw.get("max_count")
        if max_count is not None and (not isinstance(max_count, int) or max_count < 1):
            raise errors.invalid(f"{where}.max_count", "must be a whole number >= 1 (or omitted).")
        retry_after = int(_number(raw, "retry_after", 1, where))
        latency_ms = int(_number(raw, "latency_ms", 0, where))
        if retry_after < 0 or latency_ms < 0:
            raise errors.invalid(f"{where}.retry_after/latency_ms", "must not be negative.")
        method = raw.get("method")
        return cls(
            kind=kind,
            path=path,
            method=str(method).upper() if method else None,
            probability=probability,
            max_count=max_count,
            retry_after=retry_after,
            latency_ms=latency_ms,
        )

    def describe(self) -> dict[str, Any]:
        """JSON form of the rule including how often it fired."""
        body: dict[str, Any] = {
            "kind": self.kind,
            "path": self.path.pattern,
            "probability": self.probability,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "hits": self.hits,
        }
        if self.method:
            body["method"] = self.method
        if self.max_count is not None:
            body["max_count"] = self.max_count
        return body

    def applies(self, method: str, path: str, rng: random.Random) -> bool:
        """Whether this rule fires for the request (counts the hit when it does)."""
        if self.max_count is not None and self.hits >= self.max_count:
            return False
        if self.method and self.method != method:
            return False
        if not self.path.search(path):
            return False
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        self.hits += 1
        return True


def _number(raw: dict[str, Any], name: str, default: float, where: str) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.invalid(f"{where}.{name}", f"'{value}' is not a number.")
    return float(value)


class Controls:
    """Counters and fault rules of one emulator (mutated only on the event loop)."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.rules: list[FaultRule] = []
        self.rng = random.Random()

    def set_faults(self, rules: list[FaultRule], seed: int | None) -> None:
        """Replace the fault rules (and reseed the random source for reproducible runs)."""
        self.rules = rules
        self.rng = random.Random(seed)

    def match(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request, if any."""
        for rule in self.rules:
            if rule.applies(method, path, self.rng):
                return rule
        return None

    def reset(self) -> None:
        """Forget counters and fault rules."""
        self.counters.clear()
        self.rules = []


def _close_connection(receive: Receive) -> None:
    """Close the client's socket without an answer.

    ``receive`` is a bound method of uvicorn's request cycle, which holds the transport; marking
    the cycle disconnected stops uvicorn from trying to answer 500 on the closed socket.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("fault 'drop' needs uvicorn's HTTP transport to close the connection")
    cycle.disconnected = True
    transport.close()


class ControlsMiddleware:
    """Counts ARM requests and injects the configured faults before the app sees them."""

    def __init__(self, app: ASGIApp, controls: Controls) -> None:
        self.app = app
        self.controls = controls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request, apply the first matching fault rule, else pass it on."""
        if scope["type"] != "http" or scope["path"].startswith(CONTROLS_PREFIX):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        controls = self.controls
        controls.counters[f"{method} {path_template(path)}"] += 1
        rule = controls.match(method, path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.kind == "latency":
            await asyncio.sleep(rule.latency_ms / 1000)
            await self.app(scope, receive, send)
            return
        if rule.kind == "drop":
            _close_connection(receive)
            return
        error = (
            errors.throttled(rule.retry_after) if rule.kind == "429" else errors.server_error(int(rule.kind))
        )
        await JSONResponse(error.body(), error.status, headers=error.headers)(scope, receive, send)


def _controls(request: Request) -> Controls:
    return request.app.state.controls


@router.get("/counters")
async def get_counters(request: Request) -> dict[str, Any]:
    """Requests seen per ``"METHOD /path/template"`` since the last reset."""
    counters = _controls(request).counters
    return {"requests": dict(counters), "total": sum(counters.values())}


@router.delete("/counters", status_code=204)
async def reset_counters(request: Request) -> None:
    """Set every counter back to zero."""
    _controls(request).counters.clear()


@router.get("/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    """The active fault rules with their hit counts."""
    return {"rules": [rule.describe() for rule in _controls(request).rules]}


@router.put("/faults")
async def put_faults(request: Request) -> dict[str, Any]:
    """Replace the fault rules: ``{"seed": int | null, "rules": [...]}``."""
    try:
        body = await request.json()
    except ValueError:
        raise errors.invalid("body", 'send a JSON object like {"rules": [...]}.') from None
    if not isinstance(body, dict) or not isinstance(body.get("rules", []), list):
        raise errors.invalid("rules", "send a JSON object whose 'rules' is a list.")
    seed = body.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise errors.invalid("seed", "must be an integer (or omitted).")
    rules = [FaultRule.parse(i, raw) for i, raw in enumerate(body.get("rules", []))]
    _controls(request).set_faults(rules, seed)
    return {"rules": [rule.describe() for rule in rules]}


@router.delete("/faults", status_code=204)
async def clear_faults(request: Request) -> None:
    """Remove every fault rule."""
    _controls(request).set_faults([], None)


@router.post("/reset", status_code=204)
async def reset(request: Request) -> None:
    """Forget counters and fault rules."""
    _controls(request).reset()


@router.get("/health")
async def health() -> dict[str, str]:
    """Public liveness probe."""
    return {"status": "ok"}
