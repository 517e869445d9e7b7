"""Fan-out of one job step across 10, 100 and 1,000 databases in the emulator.

Everything goes through the real ``azure-mgmt-sql`` client against emulator processes: the
databases are created with ``databases.begin_create_or_update``, the job with its step through
the jobs/steps APIs, and each measured execution is started with ``job_executions.begin_create``
and polled until it ends. Two emulator processes run side by side: one with the agent's real
capacity (JA100: 100 targets in parallel) and one with capacity forced to 1 through the hidden
``AIRFLOW_ELASTICJOBS_EMULATOR_AGENT_CAPACITY`` knob (serial), so the serial/parallel ratio is
measured in the same run on the same machine.

Two step bodies: ``ddl`` (the tutorial's IF NOT EXISTS … CREATE TABLE, CPU/disk bound) and
``wait`` (``WAITFOR DELAY`` of 50 ms, latency bound, where parallelism should pay most). A third
mode, ``engine-only``, runs the engine in-process over a real store with a no-op database layer,
so the engine's own cost per target is visible apart from the T-SQL interpreter's.

Run: ``python -m benchmarks.emulator_fanout [--smoke]``; writes
``benchmarks/results/emulator_fanout.json``.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

from benchmarks.common import parse_args, report
from elasticjobs_emulator.engine import Engine
from elasticjobs_emulator.engine.capacity import CAPACITY_ENV
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store
from elasticjobs_emulator.store.sqlite_store import resource_key
from tests.support.emulator import EmulatorProcess
from tests.unit.engine.fakes import JOB, FakeSql, define_job

RG = "bench-rg"
AGENT_SERVER = "bench-agentsrv"
AGENT = "agent"
ADMIN, PASSWORD = "benchadmin", "Bench-Passw0rd!"
WORKLOADS = {
    "ddl": "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('Bench')) "
    "CREATE TABLE [dbo].[Bench]([Id] [int] NOT NULL);",
    "wait": "WAITFOR DELAY '00:00:00.050'",
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
        self.client.job_agents.begin_create_or_update(
            RG,
            AGENT_SERVER,
            AGENT,
            {"location": "westus2", "sku": {"name": "JA100"}, "properties": {"databaseId": job_db}},
            polling_interval=0.2,
        ).result()
        self.client.job_credentials.create_or_update(
            RG, AGENT_SERVER, AGENT, "admin", {"properties": {"username": ADMIN, "password": PASSWORD}}
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
            list(pool.map(lambda i: self._database(server, f"db{i:04d}"), range(size)))
        return server, time.perf_counter() - started

    def job(self, server: str, workload: str) -> str:
        """A one-step job running ``workload`` on every database of ``server``."""
        agent_path = self.path("servers", AGENT_SERVER, "jobAgents", AGENT)
        group = f"g-{server}"
        member = {
            "type": "SqlServer",
            "serverName": server,
            "refreshCredential": f"{agent_path}/credentials/admin",
        }
        self.client.job_target_groups.create_or_update(
            RG, AGENT_SERVER, AGENT, group, {"properties": {"members": [member]}}
        )
        job = f"j-{server}-{workload}"
        self.client.jobs.create_or_update(RG, AGENT_SERVER, AGENT, job, {"properties": {}})
        step = {
            "targetGroup": f"{agent_path}/targetGroups/{group}",
            "credential": f"{agent_path}/credentials/admin",
            "action": {"type": "TSql", "source": "Inline", "value": WORKLOADS[workload]},
            "executionOptions": OPTIONS,
        }
        self.client.job_steps.create_or_update(RG, AGENT_SERVER, AGENT, job, "step", {"properties": step})
        return job

    def run(self, job: str) -> tuple[float, dict[str, int]]:
        """Start an execution and wait for it; return wall seconds and target lifecycles."""
        started = time.perf_counter()
        execution = self.client.job_executions.begin_create(
            RG, AGENT_SERVER, AGENT, job, polling=False
        ).result()
        while True:
            current = self.client.job_executions.get(RG, AGENT_SERVER, AGENT, job, execution.name)
            if current.end_time is not None:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        counts: dict[str, int] = {}
        targets = self.client.job_target_executions.list_by_job_execution(
            RG, AGENT_SERVER, AGENT, job, execution.name
        )
        for target in targets:
            counts[target.lifecycle] = counts.get(target.lifecycle, 0) + 1
        if current.lifecycle != "Succeeded":
            raise RuntimeError(f"{job}: execution ended {current.lifecycle}: {current.last_message}")
        return wall, counts

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


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0])
    sizes = [2, 5] if args.smoke else [10, 100, 1000]
    serial_sizes = sizes if args.smoke else [10, 100]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fanout-") as tmp:
        parallel, serial = Bench(Path(tmp) / "parallel", None), Bench(Path(tmp) / "serial", 1)
        try:
            for size in sizes:
                benches = [("parallel", parallel)] + ([("serial", serial)] if size in serial_sizes else [])
                for mode, bench in benches:
                    server, setup = bench.targets(size)
                    for workload in WORKLOADS:
                        job = bench.job(server, workload)
                        bench.run(job)  # warm-up: creates the database files, first-time DDL
                        wall, counts = bench.run(job)
                        assert counts == {"Succeeded": size}, counts
                        rows.append(
                            {
                                "mode": mode,
                                "workload": workload,
                                "targets": size,
                                "wall_s": round(wall, 3),
                                "per_target_ms": round(1000 * wall / size, 2),
                                "db_setup_s": round(setup, 2),
                            }
                        )
        finally:
            parallel.close()
            serial.close()
        for size in [*sizes, 10 * sizes[-1]]:
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
    summary = _summary(rows, sizes, serial_sizes)
    report("emulator_fanout", rows, summary, smoke=args.smoke, output=args.output)


def _summary(rows: list[dict[str, Any]], sizes: list[int], serial_sizes: list[int]) -> dict[str, Any]:
    def wall(mode: str, workload: str, size: int) -> float:
        return next(
            r["wall_s"] for r in rows if (r["mode"], r["workload"], r["targets"]) == (mode, workload, size)
        )

    summary: dict[str, Any] = {}
    engine_sizes = [r["targets"] for r in rows if r["mode"] == "engine-only"]
    for small, large in pairwise(engine_sizes):
        growth = wall("engine-only", "noop", large) / wall("engine-only", "noop", small)
        summary[f"engine-only: wall growth {small}->{large} targets (x{large / small:g} targets)"] = round(
            growth, 2
        )
    for workload in WORKLOADS:
        for small, large in pairwise(sizes):
            growth = wall("parallel", workload, large) / wall("parallel", workload, small)
            summary[
                f"{workload}: parallel wall growth {small}->{large} targets (x{large / small:g} targets)"
            ] = round(growth, 2)
        largest = max(serial_sizes)
        ratio = wall("serial", workload, largest) / wall("parallel", workload, largest)
        summary[f"{workload}: serial/parallel wall ratio at {largest} targets"] = round(ratio, 2)
    return summary


if __name__ == "__main__":
    main()
