"""Fan-out of one job step across 100, 1,000 and 10,000 databases in the emulator.

Everything goes through the real ``azure-mgmt-sql`` client against emulator processes: the
databases are created with ``databases.begin_create_or_update``, the job with its step through
the jobs/steps APIs, and each measured execution is started with ``job_executions.begin_create``
and polled until it ends. Two emulator processes run side by side: one with two job agents of
their real capacities (JA100: 100 targets in parallel, JA800: 800) over the same target
servers, and one with capacity forced to 1 through the hidden
``AIRFLOW_ELASTICJOBS_EMULATOR_AGENT_CAPACITY`` knob (serial), so the serial/parallel ratio is
measured in the same run on the same machine.

Every ``wait`` row records its capacity-bound ideal ``ideal_s = ceil(targets / capacity) x 50 ms``
(waves of ``capacity`` targets, each wave one delay long) beside ``wall_s`` (start to end as the
client polls it) and ``engine_s`` (the execution's own ``startTime`` to ``endTime``); ``ddl`` rows
are CPU bound (no latency to overlap), so their bound is flat ``per_target_ms`` across sizes.
Creating the databases through ARM is a row of its own (``mode: setup``).

Two step bodies: ``ddl`` (the tutorial's IF NOT EXISTS … CREATE TABLE, CPU/disk bound) and
``wait`` (``WAITFOR DELAY`` of 50 ms, latency bound, where parallelism should pay most). A third
mode, ``engine-only``, runs the engine in-process over a real store with a no-op database layer,
so the engine's own cost per target is visible apart from the T-SQL interpreter's.

Run: ``python -m benchmarks.emulator_fanout [--smoke]``; writes
``benchmarks/results/emulator_fanout.json``.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.common import parse_args, report, rss_mb
from elasticjobs_emulator.api.agents import SKU_CAPACITY
from elasticjobs_emulator.engine import Engine
from elasticjobs_emulator.engine.capacity import CAPACITY_ENV
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store
from elasticjobs_emulator.store.sqlite_store import resource_key
from tests.support.emulator import EmulatorProcess
from tests.unit.engine.fakes import JOB, FakeSql, define_job

RG = "bench-rg"
AGENT_SERVER = "bench-agentsrv"
AGENTS = {"JA100": "agent", "JA800": "agent800"}  # sku: agent name
DELAY_S = 0.05
POLL_S = 0.01
#: A row's measured runs last about this long in all (short rows are repeated; median reported).
REPEAT_FOR_S = 1.0
MAX_REPEATS = 9
ADMIN, PASSWORD = "benchadmin", "Bench-Passw0rd!"
WORKLOADS = {
    "ddl": "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('Bench')) "
    "CREATE TABLE [dbo].[Bench]([Id] [int] NOT NULL);",
    "wait": f"WAITFOR DELAY '00:00:00.{round(DELAY_S * 1000):03d}'",
}
OPTIONS = {
    "timeoutSeconds": 600,
    "retryAttempts": 0,
    "initialRetryIntervalSeconds": 1,
    "maximumRetryIntervalSeconds": 1,
    "retryIntervalBackoffMultiplier": 1.0,
}


class Bench:
    """One emulator process with an agent, and a target server per size."""

    def __init__(self, state_dir: Path, capacity: int | None) -> None:
        previous = os.environ.pop(CAPACITY_ENV, None)
        if capacity is not None:
            os.environ[CAPACITY_ENV] = str(capacity)
        try:
            self.emulator = EmulatorProcess(state_dir, token="bench").start()
        finally:
            os.environ.pop(CAPACITY_ENV, None)
            if previous is not None:
                os.environ[CAPACITY_ENV] = previous
        self.client = self.emulator.management_client()
        self._server(AGENT_SERVER)
        self._database(AGENT_SERVER, "JobDatabase")
        job_db = self.path("servers", AGENT_SERVER, "databases", "JobDatabase")
        for sku, agent in AGENTS.items():
            self.client.job_agents.begin_create_or_update(
                RG,
                AGENT_SERVER,
                agent,
                {"location": "westus2", "sku": {"name": sku}, "properties": {"databaseId": job_db}},
                polling_interval=0.2,
            ).result()
            self.client.job_credentials.create_or_update(
                RG, AGENT_SERVER, agent, "admin", {"properties": {"username": ADMIN, "password": PASSWORD}}
            )

    def path(self, *segments: str) -> str:
        """ARM id in the benchmark's resource group."""
        return self.emulator.arm_path(RG, *segments)

    def _server(self, name: str) -> None:
        body = {
            "location": "westus2",
            "properties": {"administratorLogin": ADMIN, "administratorLoginPassword": PASSWORD},
        }
        self.client.servers.begin_create_or_update(RG, name, body).result()

    def _database(self, server: str, name: str) -> None:
        self.client.databases.begin_create_or_update(RG, server, name, {"location": "westus2"}).result()

    def targets(self, size: int) -> tuple[str, float]:
        """A server with ``size`` databases; return its name and the seconds creation took."""
        server = f"bench-targets-{size}"
        started = time.perf_counter()
        self._server(server)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: self._database(server, f"db{i:05d}"), range(size)))
        return server, time.perf_counter() - started

    def job(self, server: str, workload: str, agent: str = AGENTS["JA100"]) -> tuple[str, str]:
        """A one-step job of ``agent`` running ``workload`` on every database of ``server``; (agent, job)."""
        agent_path = self.path("servers", AGENT_SERVER, "jobAgents", agent)
        group = f"g-{server}"
        member = {
            "type": "SqlServer",
            "serverName": server,
            "refreshCredential": f"{agent_path}/credentials/admin",
        }
        self.client.job_target_groups.create_or_update(
            RG, AGENT_SERVER, agent, group, {"properties": {"members": [member]}}
        )
        job = f"j-{server}-{workload}"
        self.client.jobs.create_or_update(RG, AGENT_SERVER, agent, job, {"properties": {}})
        step = {
            "targetGroup": f"{agent_path}/targetGroups/{group}",
            "credential": f"{agent_path}/credentials/admin",
            "action": {"type": "TSql", "source": "Inline", "value": WORKLOADS[workload]},
            "executionOptions": OPTIONS,
        }
        self.client.job_steps.create_or_update(RG, AGENT_SERVER, agent, job, "step", {"properties": step})
        return agent, job

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the emulator process has used so far."""
        pid = self.emulator.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, agent: str, job: str, *, count: bool = True) -> tuple[float, float, float, dict[str, int]]:
        """Start an execution and wait for it; return wall, engine and emulator CPU seconds and
        target lifecycles.

        Without ``count`` the target executions are not listed (``{}``): listing 10,000 of them
        through ARM paging takes minutes, and a warm-up run needs no check.
        """
        cpu_before = self.cpu_seconds()
        started = time.perf_counter()
        execution = self.client.job_executions.begin_create(
            RG, AGENT_SERVER, agent, job, polling=False
        ).result()
        while True:
            current = self.client.job_executions.get(RG, AGENT_SERVER, agent, job, execution.name)
            if current.end_time is not None:
                break
            time.sleep(POLL_S)
        wall = time.perf_counter() - started
        cpu = self.cpu_seconds() - cpu_before
        engine = (current.end_time - current.start_time).total_seconds()
        if current.lifecycle != "Succeeded":
            raise RuntimeError(f"{job}: execution ended {current.lifecycle}: {current.last_message}")
        counts: dict[str, int] = {}
        targets = self.client.job_target_executions.list_by_job_execution(
            RG, AGENT_SERVER, agent, job, execution.name
        )
        for target in targets if count else []:
            counts[target.lifecycle] = counts.get(target.lifecycle, 0) + 1
        return wall, engine, cpu, counts

    def close(self) -> None:
        """Stop the emulator."""
        self.client.close()
        self.emulator.stop()


def engine_only(size: int, state_dir: Path) -> float:
    """Wall seconds of one execution over ``size`` targets with a no-op database layer."""
    store = Store(state_dir / f"engine-only-{size}.db")
    sql = FakeSql()
    sql.databases["tsrv"] = [(f"db{i:05d}", {}) for i in range(size)]
    member = {"type": "SqlServer", "serverName": "tsrv", "refreshCredential": "c"}
    define_job(store, [member], [{"executionOptions": OPTIONS}])
    engine = Engine(store, state_dir, PasswordHasher(b"bench"), sql=sql)
    engine.start()
    try:
        started = time.perf_counter()
        doc, _ = engine.create_execution(JOB)
        key = resource_key(doc["id"])
        while "endTime" not in store.get_execution(key)["properties"]:
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        engine.stop()
        store.close()


def ideal_seconds(workload: str, targets: int, capacity: int) -> float | None:
    """Capacity-bound ideal of a latency-bound step: ``ceil(targets / capacity)`` waves of one delay."""
    return round(math.ceil(targets / capacity) * DELAY_S, 3) if workload == "wait" else None


def repeats(wall_hint_s: float | None) -> int:
    """Measured runs of one row: enough that the row's runs last about :data:`REPEAT_FOR_S` in all
    (at most :data:`MAX_REPEATS`). One execution at 100 databases lasts ~0.1 s, where the client's
    10 ms polls and one thread switch are a large part of a single sample; its median is the row.
    A repeated row runs an odd number of times, at least 3, so its median is the middle run rather
    than the slower of two."""
    if wall_hint_s is None or wall_hint_s <= 0 or wall_hint_s >= REPEAT_FOR_S:
        return 1
    wanted = max(3, min(MAX_REPEATS, math.ceil(REPEAT_FOR_S / wall_hint_s)))
    return wanted if wanted % 2 else wanted + 1


def measure(bench: Bench, mode: str, sku: str, size: int, server: str) -> list[dict[str, Any]]:
    """One row per workload: a warm-up execution (creates the database files), then the measured
    ones (:func:`repeats`, sized by the warm-up's wall); the row is the run of median wall."""
    capacity = 1 if mode == "serial" else SKU_CAPACITY[sku]
    rows = []
    for workload in WORKLOADS:
        agent, job = bench.job(server, workload, AGENTS[sku])
        warm_up_started = time.perf_counter()
        bench.run(agent, job, count=False)
        runs_needed = repeats(time.perf_counter() - warm_up_started)
        load = load_average()
        runs = sorted((bench.run(agent, job) for _ in range(runs_needed)), key=lambda run: run[0])
        wall, engine, cpu, counts = runs[len(runs) // 2]
        assert counts == {"Succeeded": size}, counts
        ideal = ideal_seconds(workload, size, capacity)
        rows.append(
            {
                "mode": mode,
                "sku": sku,
                "capacity": capacity,
                "workload": workload,
                "targets": size,
                "wall_s": round(wall, 3),
                "runs": len(runs),
                "wall_s_min_max": [round(runs[0][0], 3), round(runs[-1][0], 3)],
                "engine_s": round(engine, 3),
                "ideal_s": ideal,
                "wall_vs_ideal": None if ideal is None else round(wall / ideal, 2),
                "per_target_ms": round(1000 * wall / size, 2),
                "cpu_ms_per_target": round(1000 * cpu / size, 3),
                "load_1min": load,
                "emulator_rss_mb": round(rss_mb(bench.emulator.pid), 1),
            }
        )
    return rows


def load_average() -> float:
    """The machine's 1-minute load average (``/proc/loadavg``): how many processes shared the cores."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def setup_row(size: int, seconds: float) -> dict[str, Any]:
    """The time creating ``size`` databases through ARM took."""
    return {
        "mode": "setup",
        "workload": "create-databases",
        "targets": size,
        "wall_s": round(seconds, 2),
        "per_target_ms": round(1000 * seconds / size, 2),
    }


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0])
    sizes = [2, 5] if args.smoke else [100, 1000, 10000]
    serial_sizes = sizes[:1] if args.smoke else [100]
    ja800_sizes = sizes[-1:] if args.smoke else [1000, 10000]
    rows: list[dict[str, Any]] = []
    loads = [Path("/proc/loadavg").read_text().strip()]
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        parallel, serial = Bench(Path(tmp) / "parallel", None), Bench(Path(tmp) / "serial", 1)
        try:
            for size in sizes:
                server, setup = parallel.targets(size)
                rows.append(setup_row(size, setup))
                for sku in ["JA100"] + (["JA800"] if size in ja800_sizes else []):
                    rows += measure(parallel, "parallel", sku, size, server)
                if size in serial_sizes:
                    rows += measure(serial, "serial", "JA100", size, serial.targets(size)[0])
        finally:
            parallel.close()
            serial.close()
        for size in sizes:
            wall = engine_only(size, Path(tmp))
            rows.append(
                {
                    "mode": "engine-only",
                    "workload": "noop",
                    "targets": size,
                    "wall_s": round(wall, 3),
                    "per_target_ms": round(1000 * wall / size, 2),
                }
            )
    loads.append(Path("/proc/loadavg").read_text().strip())
    summary = _summary(rows, sizes, serial_sizes)
    summary["/proc/loadavg at start, at end"] = loads
    report("emulator_fanout", rows, summary, smoke=args.smoke, output=args.output)


def _summary(rows: list[dict[str, Any]], sizes: list[int], serial_sizes: list[int]) -> dict[str, Any]:
    def row(mode: str, workload: str, size: int, sku: str | None = None) -> dict[str, Any]:
        return next(
            r
            for r in rows
            if (r["mode"], r["workload"], r["targets"], r.get("sku")) == (mode, workload, size, sku)
        )

    summary: dict[str, Any] = {}
    for small, large in pairwise(sizes):
        growth = row("engine-only", "noop", large)["wall_s"] / row("engine-only", "noop", small)["wall_s"]
        summary[f"engine-only: wall growth {small}->{large} targets (x{large / small:g} targets)"] = round(
            growth, 2
        )
    for sku in AGENTS:
        measured = sorted({r["targets"] for r in rows if r["mode"] == "parallel" and r["sku"] == sku})
        for size in measured:
            wait = row("parallel", "wait", size, sku)
            summary[f"wait {sku}: wall / ideal ({wait['ideal_s']:g} s) at {size} targets"] = wait[
                "wall_vs_ideal"
            ]
            summary[f"wait {sku}: emulator CPU ms per target at {size} targets"] = wait["cpu_ms_per_target"]
        for small, large in pairwise(measured):
            growth = (
                row("parallel", "wait", large, sku)["wall_s"] / row("parallel", "wait", small, sku)["wall_s"]
            )
            summary[f"wait {sku}: wall growth {small}->{large} targets (x{large / small:g} targets)"] = round(
                growth, 2
            )
    first = row("parallel", "ddl", sizes[0], "JA100")["per_target_ms"]
    for size in sizes[1:]:
        ratio = row("parallel", "ddl", size, "JA100")["per_target_ms"] / first
        summary[f"ddl JA100: per-target cost at {size} / at {sizes[0]} targets"] = round(ratio, 2)
    setups = [r for r in rows if r["mode"] == "setup"]
    small, large = setups[0], setups[-1]
    summary[f"create databases: per-database time at {large['targets']} / at {small['targets']}"] = round(
        large["per_target_ms"] / small["per_target_ms"], 2
    )
    largest = max(serial_sizes)
    for workload in WORKLOADS:
        ratio = (
            row("serial", workload, largest, "JA100")["wall_s"]
            / row("parallel", workload, largest, "JA100")["wall_s"]
        )
        summary[f"{workload}: serial/parallel wall ratio at {largest} targets"] = round(ratio, 2)
    return summary


if __name__ == "__main__":
    main()
