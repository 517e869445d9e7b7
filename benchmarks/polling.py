"""ARM requests per poll interval while N executions wait on one agent, and how soon their ends are seen.

For N = 10, 500, 10,000 (smoke: 10) executions that stay active (a ``WAITFOR DELAY`` step on the
target, one job each; see :mod:`benchmarks._waiting`) on one emulated agent, ways of waiting run in
one event loop, each in turn, and the emulator's request counters (``/_emulator/counters``) give
the ARM requests per poll interval after a warm-up, split by kind (the agent-wide lists by filter,
from the poller's own count of the pages it read):

- ``coalesced``: N real ``ElasticJobsExecutionTrigger.run()`` coroutines sharing the agent's poller,
  with the trigger's defaults (target details only when an execution's state changes). After the
  count, the executions are cancelled one after another while the triggers wait, a steady stream
  spread over 3.1 intervals (at most 50 a second: 200 s at N = 10,000), so each end falls at its
  own phase of the poller's fixed-rate round and the p95 is that of the distribution, not one draw
  of where a round starts (one cancellation of all N, the method before, gave 0.49 to 1.33 intervals
  at N = 500 over four runs). Latency = trigger event time - the execution's ``endTime`` as ARM
  reports it (same machine clock), p50 and p95 in poll intervals. A fixed-rate round alone makes
  an end wait up to one interval (0.95 at p95); the target is a p95 of at most one interval at
  every N, and the sizes' p95 are compared (largest / the one at N = 10);
- ``coalesced, opt-in progress refresh``: the same with ``progress_interval`` = 2 x poll (one more
  target list per agent per refresh); N <= 500 only;
- ``one GET per execution`` (baseline): N coroutines each with its own async hook doing one
  ``GET …/executions/{id}`` per interval, which is what Airflow's Azure Data Factory trigger does.
  Measured for N <= 500 (its interval grows with N, 1 s per 50, so it keeps up); above, its figure
  is N by construction (10,000 GETs per interval would only measure the emulator).

The coalesced modes poll every 2 s (smoke 0.25 s). The window covers at least one read of the
active list (it comes once per as many intervals as it has pages: 100 at N = 10,000). Counting
starts 2.5 intervals after the emulator counted every waiter's first target list (25 per agent
per round, a one-time cost per execution: 400 rounds at N = 10,000), so the figures are the steady
state of a long wait; ``polling_requests_per_interval`` is the lists and GETs.

Run: ``python -m benchmarks.polling [--smoke]``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from benchmarks._waiting import (
    CONN_ID,
    WaitingAgent,
    percentile,
    quiet_logs,
    run_triggers,
    stop_tasks,
    trigger_for,
)
from benchmarks.common import load_average, parse_args, report

SIZES = (10, 500, 10_000)
SMOKE_SIZES = (10,)
#: The baseline is measured up to this many waiters; above, it is N requests per interval.
MEASURED_BASELINE_MAX = 500
#: The opt-in progress mode measured beside the defaults: ``progress_interval`` = 2 x poll interval.
OPT_IN_PROGRESS_RATIO = 2.0
#: Target: ARM requests per agent per interval of the coalesced defaults, at every N.
TARGET_REQUESTS_PER_INTERVAL = 2.0
#: Target: p95 latency from ARM ``endTime`` to the trigger event, in poll intervals, at every N
#: (a fixed-rate round alone makes it 0.95). How far apart the sizes' p95 are is reported beside it.
TARGET_P95_INTERVALS = 1.0
#: The ends are spread over this many poll intervals; not a whole number, so even ten ends fall
#: at phases of the poller's round spread over the whole interval.
SPREAD_INTERVALS = 3.1
#: ... and come at most this many a second (a rate the emulator and the benchmark's own process
#: keep up with beside 10,000 waiting triggers; the emulator cancels about 400 a second).
MAX_CANCELS_PER_S = 50.0
#: Items per page of ARM's execution lists (the emulator's default page size).
PAGE_SIZE = 100
#: Intervals of warm-up after the first sights.
WARMUP_INTERVALS = 2.5

BASELINE = "one GET per execution (baseline)"
COALESCED = "coalesced (trigger defaults)"
COALESCED_PROGRESS = "coalesced, opt-in progress refresh"


def coalesced_interval(smoke: bool) -> float:
    """Seconds between polls of the coalesced modes."""
    return 0.25 if smoke else 2.0


def baseline_interval(count: int, smoke: bool) -> float:
    """Seconds between the baseline's GETs: long enough for N GETs per interval to keep up."""
    return 0.25 if smoke else max(1.0, count / 50)


def classify(counters: dict[str, int]) -> dict[str, int]:
    """Split ARM request counts into agent-list, execution-GET, target-list and other requests."""
    kinds = {"list_agent": 0, "get_execution": 0, "list_targets": 0, "other": 0}
    for key, count in counters.items():
        method, path = key.split(" ", 1)
        if method == "GET" and path.endswith("/jobAgents/{}/executions"):
            kinds["list_agent"] += count
        elif method == "GET" and path.endswith("/executions/{}"):
            kinds["get_execution"] += count
        elif method == "GET" and path.endswith("/targets"):
            kinds["list_targets"] += count
        else:
            kinds["other"] += count
    return kinds


def poller_requests() -> Counter[str]:
    """Requests the running loop's pollers made, by kind (``list_active`` / ``list_ended`` pages …)."""
    from airflow_elasticjobs.triggers.registry import running_pollers

    return sum((p.requests for p in running_pollers()), Counter())


async def _get_each_interval(job: str, execution_id: str, interval: float) -> None:
    """The baseline waiter: its own hook, one GET of its execution per interval."""
    from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook

    async with ElasticJobsAsyncHook(CONN_ID) as hook:
        while True:
            await hook.get_execution(job, execution_id)
            await asyncio.sleep(interval)


async def measure(
    agent: WaitingAgent,
    start: Callable[[Callable[[int, Any, float], None]], list[asyncio.Task[None]]],
    interval: float,
    intervals: int,
    first_sights: int,
    executions: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Start the waiters, warm up, count ARM requests over ``intervals`` polls (per interval).

    The warm-up lasts until ``first_sights`` target lists were fetched, then 2.5 intervals.

    With ``executions``: then cancel them all and measure the latency of every waiter's event.
    """
    events: dict[int, float] = {}
    await asyncio.to_thread(agent.reset_counters)
    tasks = start(lambda index, _event, _at: events.__setitem__(index, time.time()))
    try:
        # Steady state starts once every waiter's first-sight target list is fetched (one-time cost).
        first_sights_by = time.monotonic() + 600 + first_sights / 10
        while time.monotonic() < first_sights_by:
            if classify(await asyncio.to_thread(agent.counters))["list_targets"] >= first_sights:
                break
            await asyncio.sleep(interval)
        await asyncio.sleep(interval * WARMUP_INTERVALS)
        await asyncio.to_thread(agent.reset_counters)
        before = poller_requests()
        await asyncio.sleep(interval * intervals)
        counters = await asyncio.to_thread(agent.counters)
        by_poller = poller_requests() - before
        window_load = load_average()
        if executions is not None:
            every = max(SPREAD_INTERVALS * interval / len(executions), 1 / MAX_CANCELS_PER_S)
            await asyncio.to_thread(agent.cancel_all, executions, every_s=every)
            cancelled_at = time.monotonic()
            while len(events) < len(executions) and time.monotonic() - cancelled_at < 60 + 3 * interval:
                await asyncio.sleep(0.1)
    finally:
        await stop_tasks(tasks)
    kinds = classify(counters)
    result: dict[str, Any] = {
        "requests_per_interval": sum(kinds.values()) / intervals,
        "load_average": window_load,
    }
    result |= {f"{kind}_per_interval": count / intervals for kind, count in kinds.items()}
    result["polling_requests_per_interval"] = (kinds["list_agent"] + kinds["get_execution"]) / intervals
    for kind in ("list_active", "list_ended"):
        result[f"{kind}_pages_per_interval"] = by_poller[kind] / intervals
    if executions is not None:
        ended = await asyncio.to_thread(agent.end_times)
        latencies = [events[i] - ended[eid] for i, (_, eid) in enumerate(executions) if i in events]
        result["events"] = len(events)
        for name, fraction in (("p50", 0.5), ("p95", 0.95)):
            value = percentile(latencies, fraction) if latencies else None
            result[f"latency_{name}_s"] = value
            result[f"latency_{name}_intervals"] = value / interval if value is not None else None
    return result


def run_size(agent: WaitingAgent, count: int, smoke: bool) -> list[dict[str, Any]]:
    """The modes for ``count`` waiting executions; rows with ratios against the baseline."""
    interval = coalesced_interval(smoke)
    pages = math.ceil(count / PAGE_SIZE)
    intervals = 2 if smoke else max(3, pages + 1)
    executions = agent.start_waiting(count)

    def triggers(progress_interval: float | None) -> Callable[..., list[Any]]:
        return lambda on_event: run_triggers(
            [
                trigger_for(job, eid, poll_interval=interval, progress_interval=progress_interval)
                for job, eid in executions
            ],
            on_event,
        )

    def baseline(_on_event: Any) -> list[Any]:
        loop = asyncio.get_running_loop()
        every = baseline_interval(count, smoke)
        return [loop.create_task(_get_each_interval(job, eid, every)) for job, eid in executions]

    # The coalesced defaults run last: they cancel every execution, one after another (latency),
    # and wait until none is active. A failure stops the whole emulator, so nothing is left running.
    results: dict[str, dict[str, Any]] = {}
    if count <= MEASURED_BASELINE_MAX:
        results[BASELINE] = asyncio.run(measure(agent, baseline, baseline_interval(count, smoke), 3, 0))
        results[COALESCED_PROGRESS] = asyncio.run(
            measure(agent, triggers(interval * OPT_IN_PROGRESS_RATIO), interval, intervals, count)
        )
    results[COALESCED] = asyncio.run(
        measure(agent, triggers(None), interval, intervals, count, executions=executions)
    )
    baseline_figure = results[BASELINE]["requests_per_interval"] if BASELINE in results else float(count)
    polling = {name: max(r["polling_requests_per_interval"], 1e-9) for name, r in results.items()}
    fewer = {name: baseline_figure / figure for name, figure in polling.items()}
    return [
        {
            "waiting_executions": count,
            "mode": name,
            "poll_interval_s": baseline_interval(count, smoke) if name == BASELINE else interval,
            "baseline_measured": BASELINE in results,
            **result,
            "fewer_requests_than_baseline": fewer[name],
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
    defaults = {row["waiting_executions"]: row for row in rows if row["mode"] == COALESCED}
    summary: dict[str, Any] = {"sizes": list(sizes)}
    for count, row in defaults.items():
        summary[f"requests_per_interval_at_{count}"] = row["polling_requests_per_interval"]
        summary[f"p95_intervals_at_{count}"] = row["latency_p95_intervals"]
        summary[f"ratio_to_baseline_at_{count}"] = row["fewer_requests_than_baseline"]
    p95s = [row["latency_p95_intervals"] or math.inf for row in defaults.values()]
    summary["p95_max_over_p95_at_smallest"] = max(p95s) / p95s[0]
    summary["meets_target"] = all(
        row["polling_requests_per_interval"] <= TARGET_REQUESTS_PER_INTERVAL for row in defaults.values()
    ) and all(p95 <= TARGET_P95_INTERVALS for p95 in p95s)
    report("polling", rows, summary, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
