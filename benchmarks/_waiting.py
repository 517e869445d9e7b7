"""Shared by the polling and triggerer benchmarks: N long-running executions waiting on one agent.

:class:`WaitingAgent` starts the emulator as a real process (HTTPS, temp state dir), builds the
tutorial's world through the real ``azure-mgmt-sql`` client (servers, job database, one target
database with the job user, agent, credentials), registers an Airflow connection for it through an
``AIRFLOW_CONN_…`` environment variable, and starts executions of one-step jobs whose step is
``WAITFOR DELAY`` on the target (so they stay active as long as needed). Each execution belongs to
its own job: executions of one job on one target would overlap and be Skipped.

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
        from tests.integration.executions_world import World
        from tests.support.emulator import EmulatorProcess, unique_name

        with tempfile.TemporaryDirectory(prefix="elasticjobs-bench-") as tmp:
            emulator = EmulatorProcess(Path(tmp), token=os.urandom(12).hex(), agent_provisioning_seconds=0.1)
            emulator.start()
            try:
                world = World(
                    emulator, emulator.management_client(), unique_name("rg"), databases=(TARGET_DB,)
                )
                world.build()
                group_id = world.target_group("waiting", [world.database_member(TARGET_DB)])
                os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = emulator.connection_json(
                    world.rg, world.agent_server, world.agent
                )
                yield cls(world, group_id)
            finally:
                emulator.stop()

    @property
    def emulator(self) -> EmulatorProcess:
        """The emulator process (request counters live there)."""
        return self.world.emulator

    def start_waiting(self, count: int, seconds: int = 600) -> list[tuple[str, str]]:
        """Start ``count`` executions that each wait ``seconds`` on the target; ``(job, execution id)``."""
        from tests.integration.executions_world import fast_options

        sql = f"WAITFOR DELAY '{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'"
        while len(self.jobs) < count:
            name = f"{JOB_PREFIX}-{len(self.jobs):04d}"
            options = fast_options(timeoutSeconds=seconds + 600)
            self.jobs.append(self.world.job(name, [("wait", self.group_id, sql, options)]))
        return [(job, self.world.start(job).name) for job in self.jobs[:count]]

    def active_count(self) -> int:
        """How many root executions of the agent are active (one paged list)."""
        w = self.world
        return sum(
            1 for _ in w.client.job_executions.list_by_agent(w.rg, w.agent_server, w.agent, is_active=True)
        )

    def cancel_all(self, executions: list[tuple[str, str]], timeout: float = 120.0) -> None:
        """Cancel the executions and wait until the agent has no active execution left."""
        w = self.world
        for job, execution_id in executions:
            w.client.job_executions.cancel(w.rg, w.agent_server, w.agent, job, execution_id)
        deadline = time.monotonic() + timeout
        while self.active_count():
            if time.monotonic() > deadline:
                raise TimeoutError(f"executions still active {timeout} s after cancel")
            time.sleep(0.2)

    def counters(self) -> dict[str, int]:
        """ARM requests per ``METHOD /path/template`` since the last reset."""
        return self.emulator.counters()

    def reset_counters(self) -> None:
        """Zero the emulator's request counters."""
        self.emulator.control("DELETE", "counters")


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
