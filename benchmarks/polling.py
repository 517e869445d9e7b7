"""ARM requests per poll interval while N executions wait on one agent: coalesced vs one GET each.

For N = 1, 10, 100, 500 (smoke: 10) executions that stay active (a ``WAITFOR DELAY`` step on
the target, one job each) on one emulated agent, three ways of waiting run in one event loop, each
in turn, and the emulator's request counters (``/_emulator/counters``) give the ARM requests per
poll interval after a warm-up:

- ``coalesced``: N real ``ElasticJobsExecutionTrigger.run()`` coroutines sharing the agent's poller,
  with the trigger's defaults (target details only when an execution's state changes);
- ``coalesced, opt-in progress refresh``: the same with ``progress_interval`` = 2 x poll (what a
  DAG author sets for in-step progress lines: one more target list per agent per refresh);
- ``one GET per execution`` (baseline): N coroutines each with its own async hook doing one
  ``GET …/executions/{id}`` per interval, which is what Airflow's Azure Data Factory trigger does.

The poll interval grows with N (1 s per 50 executions, at least 1 s) so the baseline can keep
up; if it cannot, its count falls below N and the ratio understates the saving. Counting starts
after a warm-up of 2.5 intervals, and for the coalesced modes also after the rounds the poller needs
to fetch every waiter's first target list (``DETAILS_PER_POLL`` per round: a one-time cost per
execution, N requests in all, spread over N / DETAILS_PER_POLL rounds), so the figure is the
steady-state cost of a long wait.

Run: ``python -m benchmarks.polling [--smoke]``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from benchmarks._waiting import CONN_ID, WaitingAgent, quiet_logs, run_triggers, stop_tasks, trigger_for
from benchmarks.common import parse_args, report

SIZES = (1, 10, 100, 500)
SMOKE_SIZES = (10,)
#: The opt-in progress mode measured beside the defaults: ``progress_interval`` = 2 x poll interval.
OPT_IN_PROGRESS_RATIO = 2.0
TARGET_RATIO_AT_100 = 100.0

BASELINE = "one GET per execution (baseline)"
COALESCED = "coalesced (trigger defaults)"
COALESCED_PROGRESS = "coalesced, opt-in progress refresh"


def poll_interval_for(count: int, smoke: bool) -> float:
    """Seconds between polls for ``count`` waiting executions."""
    return 0.25 if smoke else max(1.0, count / 50)


def classify(counters: dict[str, int]) -> dict[str, int]:
    """Split ARM request counts into agent-list, execution-GET, target-list and other requests."""
    kinds = {"list_active": 0, "get_execution": 0, "list_targets": 0, "other": 0}
    for key, count in counters.items():
        method, path = key.split(" ", 1)
        if method == "GET" and path.endswith("/jobAgents/{}/executions"):
            kinds["list_active"] += count
        elif method == "GET" and path.endswith("/executions/{}"):
            kinds["get_execution"] += count
        elif method == "GET" and path.endswith("/targets"):
            kinds["list_targets"] += count
        else:
            kinds["other"] += count
    return kinds


async def _get_each_interval(job: str, execution_id: str, interval: float) -> None:
    """The baseline waiter: its own hook, one GET of its execution per interval."""
    from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook

    async with ElasticJobsAsyncHook(CONN_ID) as hook:
        while True:
            await hook.get_execution(job, execution_id)
            await asyncio.sleep(interval)


async def measure(
    agent: WaitingAgent,
    start: Callable[[], list[asyncio.Task[None]]],
    interval: float,
    intervals: int,
    warmup_intervals: float,
) -> dict[str, float]:
    """Start the waiters, let them warm up, count ARM requests over ``intervals`` polls; per interval."""
    tasks = start()
    try:
        await asyncio.sleep(interval * warmup_intervals)
        await asyncio.to_thread(agent.reset_counters)
        await asyncio.sleep(interval * intervals)
        counters = await asyncio.to_thread(agent.counters)
    finally:
        await stop_tasks(tasks)
    kinds = classify(counters)
    return {"requests_per_interval": sum(kinds.values()) / intervals} | {
        f"{kind}_per_interval": count / intervals for kind, count in kinds.items()
    }


def modes(
    executions: list[tuple[str, str]], interval: float
) -> dict[str, tuple[Callable[[], list[Any]], float]]:
    """How each way of waiting starts its N waiters in the running loop, and its warm-up in intervals."""
    from airflow_elasticjobs.triggers.poller import DETAILS_PER_POLL

    first_details = 2.5 + math.ceil(len(executions) / DETAILS_PER_POLL)

    def triggers(progress_interval: float | None) -> Callable[[], list[Any]]:
        return lambda: run_triggers(
            [
                trigger_for(job, eid, poll_interval=interval, progress_interval=progress_interval)
                for job, eid in executions
            ]
        )

    def baseline() -> list[Any]:
        loop = asyncio.get_running_loop()
        return [loop.create_task(_get_each_interval(job, eid, interval)) for job, eid in executions]

    return {
        BASELINE: (baseline, 2.5),
        COALESCED: (triggers(None), first_details),
        COALESCED_PROGRESS: (triggers(interval * OPT_IN_PROGRESS_RATIO), first_details),
    }


def run_size(agent: WaitingAgent, count: int, smoke: bool) -> list[dict[str, Any]]:
    """All three modes for ``count`` waiting executions; rows with ratios against the baseline."""
    interval = poll_interval_for(count, smoke)
    intervals = 2 if smoke else 3
    executions = agent.start_waiting(count)
    try:
        results = {
            name: asyncio.run(measure(agent, start, interval, intervals, warmup))
            for name, (start, warmup) in modes(executions, interval).items()
        }
    finally:
        agent.cancel_all(executions)
    baseline = results[BASELINE]["requests_per_interval"]
    return [
        {
            "waiting_executions": count,
            "mode": name,
            "poll_interval_s": interval,
            **result,
            "fewer_requests_than_baseline": baseline / max(result["requests_per_interval"], 1e-9),
        }
        for name, result in results.items()
    ]


def main() -> None:
    """Measure every size and report."""
    args = parse_args(__doc__.splitlines()[0])
    quiet_logs()
    sizes = SMOKE_SIZES if args.smoke else SIZES
    rows: list[dict[str, Any]] = []
    with WaitingAgent.running() as agent:
        for count in sizes:
            rows.extend(run_size(agent, count, args.smoke))
    at_100 = {row["mode"]: row for row in rows if row["waiting_executions"] == 100}
    summary: dict[str, Any] = {"sizes": list(sizes)}
    if at_100:
        summary |= {
            "ratio_at_100_coalesced": at_100[COALESCED]["fewer_requests_than_baseline"],
            "ratio_at_100_with_progress_refresh": at_100[COALESCED_PROGRESS]["fewer_requests_than_baseline"],
            "target_ratio_at_100": TARGET_RATIO_AT_100,
            "meets_target": at_100[COALESCED]["fewer_requests_than_baseline"] >= TARGET_RATIO_AT_100,
        }
    report("polling", rows, summary, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
