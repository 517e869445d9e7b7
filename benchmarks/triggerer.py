"""10,000 deferred executions over 100 agents in one triggerer-like process: memory, CPU, latency, requests.

The parent builds 100 emulated agents (one world each, on one emulator) and starts 100 executions
on each that stay active (``WAITFOR DELAY`` on the target, one job each; the agents' capacity is
forced to 1, so the others queue behind one running execution: see :mod:`benchmarks._waiting`).
A child process plays the triggerer: Airflow's triggerer runner and the provider's trigger module
imported, it measures its own RSS (the baseline), then runs N real
``ElasticJobsExecutionTrigger.run()`` coroutines in one event loop (one shared poller per agent,
the trigger's defaults), and after a warm-up samples RSS and CPU time over a steady wait window.
Then the parent cancels every execution; the child records when each trigger event fires.
Latency = event time - the execution's ``endTime`` as ARM reports it (same machine clock). The
emulator's request counters over the window give the ARM requests per agent per poll interval.

Targets (docs/performance.md): < 300 MB extra RSS, < 10 % of one core during the wait, p95 latency
<= one poll interval, <= 2 ARM requests per agent per interval. Full size: 10,000 executions over
100 agents with poll interval 10 s (the trigger's 30 s default scaled down 3x to keep the run
short: CPU at the default is about a third); smoke: 10 over 2 agents, 0.25 s.

Run: ``python -m benchmarks.triggerer [--smoke]``; other sizes: ``--agents``, ``--per-agent``,
``--poll-interval``, ``--window`` (the full size is the default; only it belongs in the committed
results, so write others elsewhere with ``--output``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._waiting import WaitingAgent, percentile, quiet_logs
from benchmarks.common import load_average, parse_args, report, rss_mb
from benchmarks.polling import TARGET_REQUESTS_PER_INTERVAL, classify

ROOT = Path(__file__).resolve().parents[1]
TARGET_EXTRA_RSS_MB = 300.0
TARGET_CPU_PERCENT = 10.0
#: Warm-up after every waiter's first-sight target list was fetched.
WARMUP_INTERVALS = 2.5
WAITING = "WAITING"
#: Cancellations per second counted on when bounding the wait for every event (a slow emulator).
CANCELS_PER_S = 5
#: Tries of each request to the emulator's controls (counters) before the child gives up.
CONTROL_ATTEMPTS = 5


def triggerer_process(spec_path: str) -> None:
    """Child process body: run the triggers, measure, wait for the events; write results JSON."""
    import asyncio
    import contextlib

    import airflow.jobs.triggerer_job_runner  # noqa: F401  (what a real triggerer has loaded)
    import httpx

    import airflow_elasticjobs.triggers.execution  # noqa: F401  (the provider's part of the baseline)
    from benchmarks._waiting import run_triggers, stop_tasks, trigger_for

    spec = json.loads(Path(spec_path).read_text())
    interval = spec["poll_interval"]
    executions = spec["executions"]
    baseline_rss = rss_mb()
    events: dict[int, dict[str, Any]] = {}

    controls = spec["controls"]
    http = httpx.AsyncClient(
        base_url=controls["url"] + "/_emulator",
        verify=controls["verify"],
        headers={"Authorization": f"Bearer {controls['token']}"},
        # Like tests/support/emulator.py's controls, 30 s: 100 pollers' first sights keep a busy
        # emulator from answering in 5 s.
        timeout=30,
    )

    async def control(method: str, path: str) -> httpx.Response:
        """One control request, tried again while the busy emulator drops or times it out."""
        for _ in range(CONTROL_ATTEMPTS - 1):
            with contextlib.suppress(httpx.TransportError):
                return (await http.request(method, path)).raise_for_status()
            await asyncio.sleep(interval)
        return (await http.request(method, path)).raise_for_status()

    def on_event(index: int, event: Any, _: float) -> None:
        events[index] = {"wall": time.time(), **event.payload}

    async def main() -> dict[str, Any]:
        triggers = [
            trigger_for(job, eid, hook_params=params, poll_interval=interval)
            for job, eid, params in executions
        ]
        await control("DELETE", "/counters")
        tasks = run_triggers(triggers, on_event)
        # Steady state starts once every waiter's first-sight target list is fetched (a one-time cost).
        first_sights_by = time.monotonic() + spec["first_sight_timeout"]
        while time.monotonic() < first_sights_by:
            counters = (await control("GET", "/counters")).json()["requests"]
            if classify(counters)["list_targets"] >= len(executions):
                break
            await asyncio.sleep(interval)
        await asyncio.sleep(interval * WARMUP_INTERVALS)
        samples = []
        await control("DELETE", "/counters")
        cpu0, wall0 = time.process_time(), time.monotonic()
        while time.monotonic() - wall0 < spec["window"]:
            samples.append(rss_mb())
            await asyncio.sleep(0.25)
        cpu_percent = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
        window_load = load_average()
        counters = (await control("GET", "/counters")).json()["requests"]
        await http.aclose()
        print(WAITING, flush=True)
        deadline = time.monotonic() + spec["event_timeout"]
        while len(events) < len(executions) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await stop_tasks(tasks)
        return {
            "baseline_rss_mb": baseline_rss,
            "peak_rss_mb": max(samples),
            "mean_rss_mb": statistics.fmean(samples),
            "cpu_percent": cpu_percent,
            "load_average": window_load,
            "counters": counters,
            "events": events,
        }

    Path(spec["output"]).write_text(json.dumps(asyncio.run(main())))


def run_fleet(
    agents: list[WaitingAgent], per_agent: int, poll_interval: float, window: float
) -> dict[str, Any]:
    """Start ``per_agent`` executions on each agent, run the triggerer child over them, cancel them."""
    setup_began = time.monotonic()
    executions = {id(a): a.start_waiting(per_agent) for a in agents}
    setup_s = time.monotonic() - setup_began
    emulator = agents[0].emulator
    count = per_agent * len(agents)
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, output = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(
            json.dumps(
                {
                    "executions": [
                        (job, eid, a.hook_params) for a in agents for job, eid in executions[id(a)]
                    ],
                    "poll_interval": poll_interval,
                    "first_sight_timeout": 600 + count / 10,
                    "window": window,
                    # The parent cancels 10 to 20 executions a second on a busy emulator.
                    "event_timeout": poll_interval * 3 + 300 + count / CANCELS_PER_S,
                    "output": str(output),
                    "controls": {
                        "url": emulator.url,
                        "token": emulator.token,
                        "verify": str(emulator.cert_path),
                    },
                }
            )
        )
        code = f"from benchmarks.triggerer import triggerer_process; triggerer_process({str(spec_path)!r})"
        child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == WAITING:
                break
        for agent in agents:
            agent.cancel_all(executions[id(agent)])
        if child.wait(timeout=poll_interval * 3 + 400 + count / CANCELS_PER_S) != 0:
            raise RuntimeError(f"triggerer child failed with exit code {child.returncode}")
        result = json.loads(output.read_text())
    ended = {eid: at for agent in agents for eid, at in agent.end_times().items()}
    events = result["events"].values()
    latencies = [e["wall"] - ended[e["execution_id"]] for e in events if e["execution_id"] in ended]
    kinds = classify(result["counters"])
    intervals = window / poll_interval
    return {
        "deferred_executions": count,
        "agents": len(agents),
        "poll_interval_s": poll_interval,
        "setup_s": setup_s,
        "events": len(result["events"]),
        "done_events": sum(1 for e in events if e["status"] == "done"),
        "baseline_rss_mb": result["baseline_rss_mb"],
        "peak_rss_mb": result["peak_rss_mb"],
        "extra_rss_mb": result["peak_rss_mb"] - result["baseline_rss_mb"],
        "cpu_percent_of_core": result["cpu_percent"],
        "load_average_in_window": result["load_average"],
        "arm_requests_per_agent_per_interval": sum(kinds.values()) / len(agents) / intervals,
        "agent_lists_per_agent_per_interval": kinds["list_agent"] / len(agents) / intervals,
        "target_lists_per_agent_per_interval": kinds["list_targets"] / len(agents) / intervals,
        "latency_p50_s": percentile(latencies, 0.5) if latencies else None,
        "latency_p95_s": percentile(latencies, 0.95) if latencies else None,
        "latency_max_s": max(latencies, default=None),
    }


def run(
    agents: int, per_agent: int, poll_interval: float, window: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The trigger's defaults over ``agents`` emulated agents with ``per_agent`` waiters each."""
    setup_began = time.monotonic()
    with WaitingAgent.fleet(agents) as fleet:
        world_s = time.monotonic() - setup_began
        row = run_fleet(fleet, per_agent, poll_interval, window) | {"agents_setup_s": world_s}
    p95 = row["latency_p95_s"] or math.inf
    requests = row["arm_requests_per_agent_per_interval"]
    summary = {
        "deferred_executions": row["deferred_executions"],
        "agents": agents,
        "extra_rss_mb": row["extra_rss_mb"],
        "cpu_percent_of_core": row["cpu_percent_of_core"],
        "p95_latency_in_poll_intervals": p95 / poll_interval,
        "arm_requests_per_agent_per_interval": requests,
        "setup_s": world_s + row["setup_s"],
        "meets_rss_target": row["extra_rss_mb"] < TARGET_EXTRA_RSS_MB,
        "meets_cpu_target": row["cpu_percent_of_core"] < TARGET_CPU_PERCENT,
        "meets_latency_target": p95 <= poll_interval,
        "meets_requests_target": requests <= TARGET_REQUESTS_PER_INTERVAL,
    }
    return [row], summary


def _size_options(parser: argparse.ArgumentParser) -> None:
    """Sizes other than the full one (e.g. a medium size to profile: ``--agents 20``)."""
    parser.add_argument("--agents", type=int, default=100, help="emulated agents (default 100)")
    parser.add_argument("--per-agent", type=int, default=100, help="waiters per agent (default 100)")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--window", type=float, default=60.0, help="steady window, seconds (default 60)")


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0], options=_size_options)
    quiet_logs()
    if args.smoke:
        rows, summary = run(2, 5, 0.25, 1.0)
    else:
        rows, summary = run(args.agents, args.per_agent, args.poll_interval, args.window)
    report("triggerer", rows, summary, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
