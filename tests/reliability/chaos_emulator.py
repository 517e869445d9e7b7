"""Emulator-side evidence for chaos tests: request counts by kind, fault rules scoped to one test.

Counters are per path template (names replaced by ``{}``), shared by every test of the session, so
tests read differences (``RequestCounts.since``). Fault rules match a regular expression searched in
the request path; scoping them to the test's resource group keeps other tests' requests untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.emulator import EmulatorProcess

EXECUTION_PUT = "PUT executions"
CANCEL = "POST cancel"


def _kind(template: str) -> str | None:
    method, path = template.split(" ", 1)
    if method == "POST" and path.endswith("/cancel"):
        return CANCEL
    if method == "PUT" and re.search(r"/jobs/\{\}/executions/\{\}$", path):
        return EXECUTION_PUT
    if method == "GET":
        return "GET"
    return None


@dataclass(frozen=True)
class RequestCounts:
    """A snapshot of the emulator's request counters."""

    raw: dict[str, int]

    @classmethod
    def of(cls, emulator: EmulatorProcess) -> RequestCounts:
        """Read the counters now."""
        return cls(emulator.counters())

    def count(self, kind: str) -> int:
        """Requests of one kind (``EXECUTION_PUT``, ``CANCEL`` or ``"GET"``)."""
        return sum(n for template, n in self.raw.items() if _kind(template) == kind)

    def since(self, earlier: RequestCounts, kind: str) -> int:
        """How many requests of ``kind`` arrived between ``earlier`` and this snapshot."""
        return self.count(kind) - earlier.count(kind)


def chaos_rules(
    resource_group: str, rate: float = 0.2, latency_ms: int = 50, retry_after: int = 1
) -> list[dict[str, Any]]:
    """``rate`` of this resource group's ARM requests fail (429 with Retry-After, 500, 503, dropped
    connection, a quarter each); every other one is delayed by ``latency_ms``."""
    path = re.escape(f"/resourceGroups/{resource_group}/")
    share = rate / 4
    rules: list[dict[str, Any]] = [
        {"kind": "429", "path": path, "probability": share, "retry_after": retry_after},
        {"kind": "500", "path": path, "probability": share / (1 - share)},
        {"kind": "503", "path": path, "probability": share / (1 - 2 * share)},
        {"kind": "drop", "path": path, "probability": share / (1 - 3 * share)},
    ]
    if latency_ms:
        rules.append({"kind": "latency", "path": path, "latency_ms": latency_ms})
    return rules


def hit_counts(emulator: EmulatorProcess) -> dict[str, int]:
    """How often each active fault kind fired."""
    hits: dict[str, int] = {}
    for rule in emulator.control("GET", "faults")["rules"]:
        hits[rule["kind"]] = hits.get(rule["kind"], 0) + rule["hits"]
    return hits


@contextmanager
def faults(emulator: EmulatorProcess, rules: list[dict[str, Any]], seed: int = 6) -> Iterator[None]:
    """Apply fault rules for the duration of the block; always remove them afterwards."""
    emulator.set_faults(rules, seed=seed)
    try:
        yield
    finally:
        emulator.control("DELETE", "faults")
