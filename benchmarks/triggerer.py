"""1,000 deferred executions in one triggerer-like process: memory, CPU and event latency.

The parent builds the emulated world and starts N executions that stay active (``WAITFOR DELAY``
on the target, one job each). A child process plays the triggerer: Airflow's triggerer runner and
the provider's trigger module imported, it measures its own RSS (the baseline), then runs N real
``ElasticJobsExecutionTrigger.run()`` coroutines in one event loop (all on the agent's shared
poller), and after a warm-up samples RSS and CPU time over a steady wait window. Then the parent
cancels every execution; the child records when each trigger event fires. Latency = event time -
the execution's ``endTime`` as ARM reports it (same machine clock). The emulator's request
counters over the window give the ARM request rate and how long a poll cycle really takes.

Two modes, one after the other: the trigger's defaults (target details only on a state change),
and the opt-in progress refresh (``progress_interval`` = 2 x poll), which adds the cost of in-step
progress lines.

Targets (docs/performance.md): < 150 MB extra RSS, < 5 % of one core during the wait, p95 latency ≤ one poll
interval. Full size: N = 1,000 with poll interval 10 s (the trigger's 30 s default scaled down 3x
to keep the run short: CPU at the default is about a third) and, opted in, progress refresh 20 s;
smoke: N = 10, 0.25 s / 0.5 s.

Run: ``python -m benchmarks.triggerer [--smoke]``.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._waiting import WaitingAgent, quiet_logs
from benchmarks.common import parse_args, report
from benchmarks.polling import OPT_IN_PROGRESS_RATIO, classify

ROOT = Path(__file__).resolve().parents[1]
TARGET_EXTRA_RSS_MB = 150.0
TARGET_CPU_PERCENT = 5.0
WAITING = "WAITING"


def _rss_mb() -> float:
    """Resident set size of this process in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def triggerer_process(spec_path: str) -> None:
    """Child process body: run the triggers, measure, wait for the events; write results JSON."""
    import asyncio

    import airflow.jobs.triggerer_job_runner  # noqa: F401  (what a real triggerer has loaded)
    import httpx

    import airflow_elasticjobs.triggers.execution  # noqa: F401  (the provider's part of the baseline)
    from benchmarks._waiting import run_triggers, stop_tasks, trigger_for

    spec = json.loads(Path(spec_path).read_text())
    interval = spec["poll_interval"]
    executions = spec["executions"]
    baseline_rss = _rss_mb()
    events: dict[int, dict[str, Any]] = {}

    controls = spec["controls"]
    http = httpx.AsyncClient(
        base_url=controls["url"] + "/_emulator",
        verify=controls["verify"],
        headers={"Authorization": f"Bearer {controls['token']}"},
    )

    def on_event(index: int, event: Any, _: float) -> None:
        events[index] = {"wall": time.time(), **event.payload}

    async def main() -> dict[str, Any]:
        triggers = [
            trigger_for(job, eid, poll_interval=interval, progress_interval=spec["progress_interval"])
            for job, eid in executions
        ]
        tasks = run_triggers(triggers, on_event)
        await asyncio.sleep(interval * 2.5)
        samples = []
        (await http.delete("/counters")).raise_for_status()
        cpu0, wall0 = time.process_time(), time.monotonic()
        while time.monotonic() - wall0 < spec["window"]:
            samples.append(_rss_mb())
            await asyncio.sleep(0.25)
        cpu_percent = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
        counters = (await http.get("/counters")).raise_for_status().json()["requests"]
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
            "counters": counters,
            "events": events,
        }

    Path(spec["output"]).write_text(json.dumps(asyncio.run(main())))


def end_times(agent: WaitingAgent) -> dict[str, float]:
    """``endTime`` (epoch seconds) of every ended root execution of the agent, by execution id."""
    w = agent.world
    listed = w.client.job_executions.list_by_agent(w.rg, w.agent_server, w.agent, is_active=False)
    return {e.name: e.end_time.timestamp() for e in listed if e.end_time is not None}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_mode(
    agent: WaitingAgent, count: int, poll_interval: float, progress_interval: float | None, window: float
) -> dict[str, Any]:
    """Start ``count`` executions, run the triggerer child over them, cancel them; the row."""
    from elasticjobs_emulator.context import DEFAULT_PAGE_SIZE

    emulator = agent.emulator
    executions = agent.start_waiting(count)
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, output = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(
            json.dumps(
                {
                    "executions": executions,
                    "poll_interval": poll_interval,
                    "progress_interval": progress_interval,
                    "window": window,
                    "event_timeout": poll_interval * 3 + 120,
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
        agent.cancel_all(executions)
        if child.wait(timeout=poll_interval * 3 + 180) != 0:
            raise RuntimeError(f"triggerer child failed with exit code {child.returncode}")
        result = json.loads(output.read_text())
    ended = end_times(agent)
    events = result["events"].values()
    latencies = [e["wall"] - ended[e["execution_id"]] for e in events if e["execution_id"] in ended]
    kinds = classify(result["counters"])
    rounds = kinds["list_active"] / math.ceil(count / DEFAULT_PAGE_SIZE)
    return {
        "deferred_executions": count,
        "poll_interval_s": poll_interval,
        "progress_interval_s": progress_interval,
        "events": len(result["events"]),
        "done_events": sum(1 for e in events if e["status"] == "done"),
        "baseline_rss_mb": result["baseline_rss_mb"],
        "peak_rss_mb": result["peak_rss_mb"],
        "extra_rss_mb": result["peak_rss_mb"] - result["baseline_rss_mb"],
        "cpu_percent_of_core": result["cpu_percent"],
        "arm_requests_per_s": sum(kinds.values()) / window,
        "target_lists_per_s": kinds["list_targets"] / window,
        "poll_cycle_s": window / rounds if rounds else None,
        "latency_p50_s": _percentile(latencies, 0.5) if latencies else None,
        "latency_p95_s": _percentile(latencies, 0.95) if latencies else None,
        "latency_max_s": max(latencies, default=None),
    }


def run(count: int, poll_interval: float, window: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Both modes on one emulated agent: the trigger's defaults, and the opt-in progress refresh."""
    with WaitingAgent.running() as agent:
        rows = [
            run_mode(agent, count, poll_interval, None, window),
            run_mode(agent, count, poll_interval, poll_interval * OPT_IN_PROGRESS_RATIO, window),
        ]
    default, refreshing = rows
    p95 = default["latency_p95_s"] or math.inf
    summary = {
        "extra_rss_mb": default["extra_rss_mb"],
        "extra_rss_over_baseline_ratio": default["peak_rss_mb"] / default["baseline_rss_mb"],
        "cpu_percent_of_core": default["cpu_percent_of_core"],
        "p95_latency_in_poll_intervals": p95 / poll_interval,
        "meets_rss_target": default["extra_rss_mb"] < TARGET_EXTRA_RSS_MB,
        "meets_cpu_target": default["cpu_percent_of_core"] < TARGET_CPU_PERCENT,
        "meets_latency_target": p95 <= poll_interval,
        "with_progress_refresh_extra_rss_mb": refreshing["extra_rss_mb"],
        "with_progress_refresh_cpu_percent": refreshing["cpu_percent_of_core"],
        "with_progress_refresh_p95_in_poll_intervals": (refreshing["latency_p95_s"] or math.inf)
        / poll_interval,
    }
    return rows, summary


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0])
    quiet_logs()
    rows, summary = run(10, 0.25, 1.0) if args.smoke else run(1000, 10.0, 60.0)
    report("triggerer", rows, summary, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
