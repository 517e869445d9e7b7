"""Shared by the polling and triggerer benchmarks: N long-running executions waiting on emulated agents.

:class:`WaitingAgent` starts the emulator as a real process (HTTPS, temp state dir), builds the
tutorial's world through the real ``azure-mgmt-sql`` client (servers, job database, one target
database with the job user, agent, credentials), registers an Airflow connection for it through an
``AIRFLOW_CONN_…`` environment variable, and starts executions of one-step jobs whose step is
``WAITFOR DELAY`` on the target (so they stay active as long as needed). Each execution belongs to
its own job: executions of one job on one target would overlap and be Skipped. The emulator runs
with every agent's capacity forced to 1 (``AIRFLOW_ELASTICJOBS_EMULATOR_AGENT_CAPACITY``): one
execution per agent sleeps in its ``WAITFOR`` and the others queue behind it, still active, so
10,000 active executions cost the emulator a thread per agent, not one each.
:meth:`WaitingAgent.fleet` builds several agents (one world each) on one emulator; their triggers
reach them through ``hook_params``.

:func:`run_triggers` runs real :class:`ElasticJobsExecutionTrigger` ``run()`` coroutines side by
side in the current event loop, like a triggerer does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily at run time: the triggerer child measures memory without them
    from airflow.triggers.base import TriggerEvent

    from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger
    from tests.integration.executions_world import World
    from tests.support.emulator import EmulatorProcess

CONN_ID = "elastic_jobs_benchmark"
TARGET_DB = "TargetDb1"
JOB_PREFIX = "wait"
#: Requests the set-up sends at once (jobs, steps, starts, cancels).
SETUP_THREADS = 8


def quiet_logs() -> None:
    """Keep per-trigger INFO lines out of the output; call before anything imports ``airflow``."""
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    logging.getLogger("azure").setLevel(logging.WARNING)


@dataclass
class WaitingAgent:
    """One emulated agent with a target group of one database, ready to run waiting executions."""

    world: World
    group_id: str
    jobs: list[str] = field(default_factory=list)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[WaitingAgent]:
        """Start the emulator, build the world and the Airflow connection; stop everything after."""
        with cls.fleet(1) as agents:
            yield agents[0]

    @classmethod
    @contextmanager
    def fleet(cls, count: int) -> Iterator[list[WaitingAgent]]:
        """``count`` agents (one world each) on one emulator; the connection points at the first."""
        from elasticjobs_emulator.engine.capacity import CAPACITY_ENV
        from tests.integration.executions_world import World
        from tests.support.emulator import EmulatorProcess, unique_name

        os.environ[CAPACITY_ENV] = "1"
        with tempfile.TemporaryDirectory(prefix="elasticjobs-bench-") as tmp:
            emulator = EmulatorProcess(Path(tmp), token=os.urandom(12).hex(), agent_provisioning_seconds=0.1)
            emulator.start()
            try:
                client = emulator.management_client()

                def build(_: int) -> WaitingAgent:
                    world = World(emulator, client, unique_name("rg"), databases=(TARGET_DB,)).build()
                    return cls(world, world.target_group("waiting", [world.database_member(TARGET_DB)]))

                with ThreadPoolExecutor(SETUP_THREADS) as pool:
                    agents = list(pool.map(build, range(count)))
                first = agents[0].world
                os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = emulator.connection_json(
                    first.rg, first.agent_server, first.agent
                )
                yield agents
            finally:
                emulator.stop()

    @property
    def hook_params(self) -> dict[str, str]:
        """The trigger's ``hook_params`` that point the benchmark connection at this agent."""
        w = self.world
        return {"resource_group_name": w.rg, "server_name": w.agent_server, "agent_name": w.agent}

    @property
    def emulator(self) -> EmulatorProcess:
        """The emulator process (request counters live there)."""
        return self.world.emulator

    def start_waiting(self, count: int, seconds: int = 600) -> list[tuple[str, str]]:
        """Start ``count`` executions that each wait ``seconds`` on the target; ``(job, execution id)``."""
        from tests.integration.executions_world import fast_options

        sql = f"WAITFOR DELAY '{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'"
        options = fast_options(timeoutSeconds=seconds + 600)
        names = [f"{JOB_PREFIX}-{i:05d}" for i in range(len(self.jobs), count)]
        with ThreadPoolExecutor(SETUP_THREADS) as pool:
            self.jobs += pool.map(
                lambda name: self.world.job(name, [("wait", self.group_id, sql, options)]), names
            )
            return list(pool.map(lambda job: (job, self.world.start(job).name), self.jobs[:count]))

    def active_count(self) -> int:
        """How many root executions of the agent are active (one paged list)."""
        w = self.world
        return sum(
            1 for _ in w.client.job_executions.list_by_agent(w.rg, w.agent_server, w.agent, is_active=True)
        )

    def cancel_all(
        self, executions: list[tuple[str, str]], timeout: float = 120.0, every_s: float = 0.0
    ) -> None:
        """Cancel the executions and wait until the agent has no active execution left.

        With ``every_s``, the n-th cancel is sent no sooner than n x ``every_s`` seconds after the
        first: a steady stream of ends (each at its own phase of a poller's round) instead of a burst.
        """
        w = self.world
        began = time.monotonic()

        def cancel(index: int, execution: tuple[str, str]) -> None:
            time.sleep(max(0.0, began + index * every_s - time.monotonic()))
            w.client.job_executions.cancel(w.rg, w.agent_server, w.agent, *execution)

        with ThreadPoolExecutor(SETUP_THREADS) as pool:
            list(pool.map(cancel, range(len(executions)), executions))
        deadline = time.monotonic() + timeout
        while self.active_count():
            if time.monotonic() > deadline:
                raise TimeoutError(f"executions still active {timeout} s after cancel")
            time.sleep(0.2)

    def end_times(self) -> dict[str, float]:
        """``endTime`` (epoch seconds) of every ended root execution of the agent, by execution id."""
        w = self.world
        listed = w.client.job_executions.list_by_agent(w.rg, w.agent_server, w.agent, is_active=False)
        return {e.name: e.end_time.timestamp() for e in listed if e.end_time is not None}

    def counters(self) -> dict[str, int]:
        """ARM requests per ``METHOD /path/template`` since the last reset."""
        return self.emulator.counters()

    def reset_counters(self) -> None:
        """Zero the emulator's request counters."""
        self.emulator.control("DELETE", "counters")


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def trigger_for(job: str, execution_id: str, **kwargs: Any) -> ElasticJobsExecutionTrigger:
    """A real execution trigger on the benchmark connection."""
    from airflow_elasticjobs.triggers.execution import ElasticJobsExecutionTrigger

    return ElasticJobsExecutionTrigger(
        elastic_jobs_conn_id=CONN_ID, job_name=job, execution_id=execution_id, **kwargs
    )


def run_triggers(
    triggers: list[ElasticJobsExecutionTrigger],
    on_event: Callable[[int, TriggerEvent, float], None] | None = None,
) -> list[asyncio.Task[None]]:
    """Run each trigger's ``run()`` as a task in the running loop, like the triggerer does.

    :param on_event: called as ``on_event(index, event, monotonic_time)`` for each event.
    """

    async def consume(index: int, trigger: ElasticJobsExecutionTrigger) -> None:
        async for event in trigger.run():
            if on_event is not None:
                on_event(index, event, time.monotonic())

    loop = asyncio.get_running_loop()
    return [loop.create_task(consume(i, t), name=f"trigger-{i}") for i, t in enumerate(triggers)]


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the tasks (a triggerer cancelling triggers) and wait for them to finish."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
