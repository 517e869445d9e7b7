"""Emulator-side set-up for scenario tests: an agent world, jobs that take a while, the DAG conf.

A :class:`~tests.integration.executions_world.World` is a resource group with an agent server, a
target server with TargetDb1/TargetDb2, a Ready agent and the job credentials, built through the
real SDK; the scenario DAGs of tests/deployment/dags are pointed at it through their conf.
"""

from __future__ import annotations

from typing import Any

from azure.mgmt.sql.models import JobExecution

from tests.integration.executions_world import World, fast_options

START_DAG = "deployment_start_and_wait"
POLLING_START_DAG = "deployment_start_and_wait_polling"
#: Deferred like START_DAG, but its trigger polls every 30 s (the trigger's default).
DEFAULT_POLL_START_DAG = "deployment_start_and_wait_default_poll"
MAPPED_START_DAG = "deployment_start_mapped"
START_TASK_ID = "start"
#: Lifecycles of an execution that runs (after Created, before any end state).
ACTIVE = frozenset({"InProgress", "WaitingForChildJobExecutions"})


def waiting_job(world: World, name: str, seconds: int, databases: tuple[str, ...] = ("TargetDb1",)) -> str:
    """A one-step job that runs ``WAITFOR DELAY`` for ``seconds`` on ``databases``; its name."""
    group = world.target_group(f"{name}Group", [world.database_member(d) for d in databases])
    delay = f"WAITFOR DELAY '00:{seconds // 60:02d}:{seconds % 60:02d}'"
    return world.job(name, [("Step1", group, delay, fast_options(timeoutSeconds=seconds + 60))])


def start_conf(world: World, **conf: Any) -> dict[str, Any]:
    """The conf pointing a scenario DAG at ``world``'s agent, plus ``conf`` (``job_name``/``job_names``)."""
    return {
        "resource_group_name": world.rg,
        "server_name": world.agent_server,
        "agent_name": world.agent,
        **conf,
    }


def executions(world: World, job: str) -> list[JobExecution]:
    """The job's executions in the emulator, oldest first."""
    listed = world.client.job_executions.list_by_job(world.rg, world.agent_server, world.agent, job)
    return sorted(listed, key=lambda e: e.create_time)


def lifecycle(world: World, job: str, execution_id: str) -> str:
    """The lifecycle of one execution of ``job``."""
    names = (world.rg, world.agent_server, world.agent, job, execution_id)
    return world.client.job_executions.get(*names).lifecycle
