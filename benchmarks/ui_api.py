"""Latency of the UI plugin's page and fleet endpoints on a 10,000-target execution.

The execution's 10,000 target executions are ARM JSON (two steps, five servers, one database in
twenty failed) deserialised by the real ``azure-mgmt-sql`` models, as the hook's list call returns
them. The plugin's own code serves them through FastAPI over HTTP (Starlette's test client: a real
ASGI request, routing, query validation and JSON response): a route that takes the execution's
snapshot from the plugin's :class:`~airflow_elasticjobs.plugins.snapshot_cache.SnapshotCache` and
answers :func:`~airflow_elasticjobs.plugins.execution_view.page_view` or
:func:`~airflow_elasticjobs.plugins.fleet.fleet_json`, exactly as ``plugins/api.py`` does after it
has authorised the caller and resolved the task. Not measured: Airflow's authorisation and its
metadata-database reads (task instance, XCom, rendered fields), the same few queries whatever the
execution's size, and the ARM read itself (once per execution version; its cost is the cold row).

The fleet picture is encoded once per snapshot (the first request) and served from memory after.
Figures are p95 over varied pages (offsets through the whole execution; no filter, lifecycle,
server, step and name filters) and are compared with bounds measured in the same run: the same
page cut from the snapshot and serialised in-process (no HTTP, no FastAPI), and the JSON
serialisation of the whole unpaged execution (what one answer without paging would cost the
server before any byte reaches the browser).

Run: ``python -m benchmarks.ui_api [--smoke]``; writes ``benchmarks/results/ui_api.json``.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from azure.mgmt.sql.models import JobExecution
from fastapi import FastAPI, Query
from fastapi.responses import Response
from fastapi.testclient import TestClient

from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.plugins.execution_view import ExecutionSnapshot, TargetPage, page_view, snapshot
from airflow_elasticjobs.plugins.fleet import fleet_json
from airflow_elasticjobs.plugins.snapshot_cache import SnapshotCache
from airflow_elasticjobs.plugins.task_definition import ExecutionRef
from benchmarks.common import parse_args, report

REF = ExecutionRef(
    "azure_elastic_jobs_default", None, None, None, "Fleet", "6b1c5e0e-0000-4000-8000-000000000001"
)
AGENT = AgentRef("sub", "rg", "agentserver", "ElasticJobAgent")
SERVERS = 5
STEPS = 2


def _arm_json(targets: int) -> list[dict[str, Any]]:
    """ARM's JSON of ``targets`` target executions (as the list call's ``value`` items)."""
    per_step = targets // STEPS
    rows = []
    for i in range(targets):
        step, n = 1 + i // per_step, i % per_step
        failed = n % 20 == 7
        rows.append(
            {
                "name": f"{i:08d}-0000-4000-8000-000000000000",
                "properties": {
                    "jobVersion": 1,
                    "stepName": f"step{step}",
                    "stepId": step,
                    "lifecycle": "Failed" if failed else "Succeeded",
                    "provisioningState": "Succeeded",
                    "createTime": "2026-01-01T00:00:00Z",
                    "startTime": "2026-01-01T00:00:01Z",
                    "endTime": f"2026-01-01T00:{1 + n % 50:02d}:{n % 60:02d}Z",
                    "currentAttempts": 1,
                    "lastMessage": (
                        f"Failed to execute on fleetdb{n:05d}: Msg 50000, Level 16, State 1: check failed."
                        if failed
                        else "Step succeeded."
                    ),
                    "target": {
                        "type": "SqlDatabase",
                        "serverName": f"fleetsrv-{n % SERVERS}",
                        "databaseName": f"fleetdb{n:05d}",
                    },
                },
            }
        )
    return rows


def _models(rows: list[dict[str, Any]]) -> list[JobExecution]:
    return [JobExecution(row) for row in rows]


def _app(read: Callable[[], ExecutionSnapshot]) -> FastAPI:
    """The plugin's two data routes over a cached snapshot, without Airflow's auth and DB lookups."""
    cache = SnapshotCache()
    app = FastAPI()

    @app.get("/execution")
    def execution(
        offset: int = Query(0, ge=0),
        limit: int = Query(100, ge=1, le=500),
        lifecycle: str | None = None,
        step: int | None = None,
        server: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        snap = cache.get("execution", read)
        page = TargetPage(
            offset=offset, limit=limit, lifecycle=lifecycle, step_id=step, server=server, name=name
        )
        return page_view(snap, page, None)

    @app.get("/fleet")
    def fleet() -> Response:
        return Response(fleet_json(cache.get("execution", read)), media_type="application/json")

    return app


def _queries(targets: int, count: int) -> list[dict[str, Any]]:
    """Varied page requests: plain pages through the whole execution and each kind of filter."""
    rng = random.Random(7)
    kinds = [
        lambda: {"offset": rng.randrange(0, targets, 100)},
        lambda: {"lifecycle": "Failed", "offset": rng.randrange(0, max(1, targets // 20), 100)},
        lambda: {"server": f"fleetsrv-{rng.randrange(SERVERS)}"},
        lambda: {"step": rng.randrange(1, STEPS + 1), "offset": 100},
        lambda: {"name": f"db{rng.randrange(100):02d}"},
    ]
    return [kinds[i % len(kinds)]() for i in range(count)]


def _timed(call: Callable[[], Any]) -> float:
    """Milliseconds ``call()`` took."""
    return _timed_result(call)[0]


def _timed_result(call: Callable[[], Any]) -> tuple[float, Any]:
    """Milliseconds ``call()`` took, and what it returned."""
    started = time.perf_counter()
    result = call()
    return 1000 * (time.perf_counter() - started), result


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0])
    targets, requests = (200, 20) if args.smoke else (10_000, 200)
    arm = _arm_json(targets)
    deserialise_ms = _timed(lambda: _models(arm))
    models = _models(arm)
    root = JobExecution({"name": "x", "properties": {"lifecycle": "Failed", "jobVersion": 1}})
    steps = [
        JobExecution(
            {"name": "s", "properties": {"stepId": s, "stepName": f"step{s}", "lifecycle": "Failed"}}
        )
        for s in range(1, STEPS + 1)
    ]

    def read() -> ExecutionSnapshot:
        return snapshot(REF, AGENT, root, steps, models)

    snapshot_ms = _timed(read)
    snap = read()
    rows: list[dict[str, Any]] = []
    with TestClient(_app(read)) as client:
        cold_ms = _timed(lambda: client.get("/execution").raise_for_status())  # reads the snapshot once
        page_ms, bound_ms = [], []
        for query in _queries(targets, requests):
            elapsed, response = _timed_result(lambda q=query: client.get("/execution", params=q))
            page_ms.append(elapsed)
            body = response.raise_for_status().json()
            assert body["total"] >= len(body["targets"]), query
            page = TargetPage(**{("step_id" if k == "step" else k): v for k, v in query.items()})
            bound_ms.append(_timed(lambda p=page: json.dumps(page_view(snap, p, None))))
        fleet_first_ms = _timed(lambda: client.get("/fleet").raise_for_status())  # encodes the picture
        fleet_ms = [
            _timed(lambda: client.get("/fleet").raise_for_status()) for _ in range(max(5, requests // 10))
        ]
        fleet_bytes = len(client.get("/fleet").content)
    unpaged_ms = [_timed(lambda: json.dumps(snap.targets)) for _ in range(5)]
    unpaged_bytes = len(json.dumps(snap.targets))
    figures = {
        "page_p95_ms": round(_p95(page_ms), 2),
        "page_median_ms": round(statistics.median(page_ms), 2),
        "page_in_process_p95_ms": round(_p95(bound_ms), 2),
        "fleet_first_ms": round(fleet_first_ms, 2),
        "fleet_p95_ms": round(_p95(fleet_ms), 2),
        "fleet_kb": round(fleet_bytes / 1024, 1),
        "unpaged_json_ms": round(statistics.median(unpaged_ms), 2),
        "unpaged_kb": round(unpaged_bytes / 1024, 1),
        "cold_first_page_ms": round(cold_ms, 2),
        "snapshot_build_ms": round(snapshot_ms, 2),
        "sdk_deserialise_ms": round(deserialise_ms, 2),
    }
    rows.append({"targets": targets, "requests": requests, **figures})
    summary = {
        f"page p95 ms at {targets} targets (goal < 300)": figures["page_p95_ms"],
        "page p95 / same page cut and serialised in-process (no HTTP)": round(
            figures["page_p95_ms"] / figures["page_in_process_p95_ms"], 2
        ),
        "page p95 / unpaged execution's JSON serialisation": round(
            figures["page_p95_ms"] / figures["unpaged_json_ms"], 3
        ),
        f"fleet picture first ms ({figures['fleet_kb']} KB, once per version)": figures["fleet_first_ms"],
        "fleet picture p95 ms after the first": figures["fleet_p95_ms"],
        "snapshot build (once per version) / SDK deserialisation of the ARM list": round(
            snapshot_ms / deserialise_ms, 2
        ),
    }
    report("ui_api", rows, summary, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
