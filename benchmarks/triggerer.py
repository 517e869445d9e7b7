"""1,000 deferred executions in one triggerer-like process: memory, CPU and event latency.

The parent builds the emulated world and starts N executions that stay active (``WAITFOR DELAY``
on the target, one job each). A child process plays the triggerer: Airflow and the provider's
trigger module imported, it measures its own RSS (the baseline), then runs N real
``ElasticJobsExecutionTrigger.run()`` coroutines in one event loop (all on the agent's shared
poller), and after a warm-up samples RSS and CPU time over a steady wait window. Then the parent
cancels every execution; the child records when each trigger event fires. Latency = event time -
the execution's ``endTime`` as ARM reports it (same machine clock).

Targets (issue 7): < 150 MB extra RSS, < 5 % of one core during the wait, p95 latency ≤ one poll
interval. Full size: N = 1,000 with poll interval 10 s and progress refresh 20 s (the trigger's
30 s / 60 s defaults scaled down 3x to keep the run short: CPU at the defaults is about a third);
smoke: N = 20, 0.5 s / 1 s.

Run: ``python -m benchmarks.triggerer [--smoke]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._waiting import WaitingAgent, quiet_logs
from benchmarks.common import parse_args, report

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

    import airflow_elasticjobs.triggers.execution  # noqa: F401  (part of the baseline, like a triggerer)
    from benchmarks._waiting import run_triggers, stop_tasks, trigger_for

    spec = json.loads(Path(spec_path).read_text())
    interval = spec["poll_interval"]
    executions = spec["executions"]
    baseline_rss = _rss_mb()
    events: dict[int, dict[str, Any]] = {}

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
        cpu0, wall0 = time.process_time(), time.monotonic()
        while time.monotonic() - wall0 < spec["window"]:
            samples.append(_rss_mb())
            await asyncio.sleep(0.25)
        cpu_percent = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
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


def run(count: int, poll_interval: float, window: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Start ``count`` executions, run the triggerer child, cancel, and compute the figures."""
    with WaitingAgent.running() as agent, tempfile.TemporaryDirectory() as tmp:
        executions = agent.start_waiting(count)
        spec_path, output = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(
            json.dumps(
                {
                    "executions": executions,
                    "poll_interval": poll_interval,
                    "progress_interval": poll_interval * 2,
                    "window": window,
                    "event_timeout": poll_interval * 3 + 120,
                    "output": str(output),
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
    extra_rss = result["peak_rss_mb"] - result["baseline_rss_mb"]
    p95 = _percentile(latencies, 0.95) if latencies else float("nan")
    row = {
        "deferred_executions": count,
        "poll_interval_s": poll_interval,
        "events": len(result["events"]),
        "done_events": sum(1 for e in events if e["status"] == "done"),
        "baseline_rss_mb": result["baseline_rss_mb"],
        "peak_rss_mb": result["peak_rss_mb"],
        "extra_rss_mb": extra_rss,
        "cpu_percent_of_core": result["cpu_percent"],
        "latency_p50_s": _percentile(latencies, 0.5) if latencies else float("nan"),
        "latency_p95_s": p95,
        "latency_max_s": max(latencies, default=float("nan")),
    }
    summary = {
        "extra_rss_over_baseline_ratio": result["peak_rss_mb"] / result["baseline_rss_mb"],
        "p95_latency_in_poll_intervals": p95 / poll_interval,
        "meets_rss_target": extra_rss < TARGET_EXTRA_RSS_MB,
        "meets_cpu_target": result["cpu_percent"] < TARGET_CPU_PERCENT,
        "meets_latency_target": p95 <= poll_interval,
    }
    return [row], summary


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0])
    quiet_logs()
    rows, summary = run(20, 0.5, 2.0) if args.smoke else run(1000, 10.0, 60.0)
    report("triggerer", rows, summary, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
