"""The tutorial end to end: real SDK (sync and aio) over HTTPS against the emulator process.

Job1 has step1 (create Step1Table) on ServerGroup and step2 (create Step2Table) on
ServerGroupExcludingDb2; afterwards Step1Table exists in both target databases and Step2Table
only in TargetDb1, and every step and target execution tells the same story.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.executions_world import TUTORIAL_SQL, World, fast_options

pytestmark = pytest.mark.integration


@pytest.fixture
def world(emulator, resource_group) -> World:
    with emulator.management_client() as client:
        yield World(emulator, client, resource_group).build()


def _tutorial_job(world: World) -> str:
    server_group = world.target_group("ServerGroup", [world.server_member()])
    excluding = world.target_group(
        "ServerGroupExcludingDb2", [world.server_member(), world.database_member("TargetDb2", "Exclude")]
    )
    return world.job(
        "Job1",
        [
            ("step1", server_group, TUTORIAL_SQL.format(table="Step1Table"), None),
            ("step2", excluding, TUTORIAL_SQL.format(table="Step2Table"), None),
        ],
    )


def test_tutorial_sequence(world: World):
    job = _tutorial_job(world)
    created = world.start(job, poll=True)
    assert created.lifecycle in {"Created", "InProgress", "WaitingForChildJobExecutions", "Succeeded"}
    assert created.job_version == 2 and created.create_time is not None

    done = world.wait(job, created.job_execution_id)
    assert done.lifecycle == "Succeeded", done.last_message
    assert done.provisioning_state == "Succeeded"
    assert done.last_message == "Job execution succeeded."
    assert done.start_time is not None and done.end_time >= done.start_time
    assert done.type == "Microsoft.Sql/servers/jobAgents/jobs/executions"

    steps = world.step_executions(job, created.job_execution_id)
    assert [(s.name, s.step_id, s.lifecycle, s.last_message) for s in steps] == [
        ("step1", 1, "Succeeded", "Step 1 succeeded."),
        ("step2", 2, "Succeeded", "Step 2 succeeded."),
    ]
    assert all(s.type == "Microsoft.Sql/servers/jobAgents/jobs/executions/steps" for s in steps)

    step1 = world.target_executions(job, created.job_execution_id, "step1")
    step2 = world.target_executions(job, created.job_execution_id, "step2")
    assert sorted(t.target.database_name for t in step1) == ["TargetDb1", "TargetDb2"]
    assert [t.target.database_name for t in step2] == ["TargetDb1"]
    for target in step1 + step2:
        assert target.lifecycle == "Succeeded" and target.current_attempts == 1
        assert target.target.type == "SqlDatabase" and target.target.server_name == world.target_server
        assert target.last_message == (
            f"Step {target.step_id} succeeded execution on target "
            f"(server '{world.target_server}', database '{target.target.database_name}')."
        )
    assert len(world.target_executions(job, created.job_execution_id)) == 3
    one = world.client.job_target_executions.get(
        world.rg, world.agent_server, world.agent, job, created.job_execution_id, "step2", step2[0].name
    )
    assert one.target.database_name == "TargetDb1"

    assert {"Step1Table", "Step2Table"} <= world.tables("TargetDb1")
    assert "Step1Table" in world.tables("TargetDb2")
    assert "Step2Table" not in world.tables("TargetDb2")


def test_database_without_the_job_user_fails_its_target_like_azure(world: World):
    world.create_database(world.target_server, "NoUserDb")
    group = world.target_group("OnlyNoUser", [world.database_member("NoUserDb")])
    job = world.job("NoUserJob", [("step1", group, TUTORIAL_SQL.format(table="T1"), fast_options())])
    execution = world.start(job)
    done = world.wait(job, execution.job_execution_id)
    assert done.lifecycle == "Failed"
    assert done.last_message == "Job execution failed. Step 1 ('step1') failed."
    [target] = world.target_executions(job, execution.job_execution_id)
    assert target.lifecycle == "Failed" and target.current_attempts == 1
    assert target.last_message.startswith(
        f"Step 1 failed execution on target (server '{world.target_server}', database 'NoUserDb'). "
        "Failed to connect to the target database:"
    )
    assert "jobuser" in target.last_message


async def test_tutorial_with_the_aio_client(emulator, resource_group):
    with emulator.management_client() as client:
        world = World(emulator, client, resource_group, databases=("TargetDb1",)).build()
        group = world.target_group("G", [world.server_member()])
        job = world.job("AsyncJob", [("step1", group, TUTORIAL_SQL.format(table="AsyncTable"), None)])
    async with emulator.aio_management_client() as aio:
        poller = await aio.job_executions.begin_create_or_update(
            resource_group, world.agent_server, world.agent, job, "9b2f6c1e-0d4a-4d3e-8f43-1f2a3b4c5d6e"
        )
        execution = await poller.result()
        assert execution.name == "9b2f6c1e-0d4a-4d3e-8f43-1f2a3b4c5d6e"
        for _ in range(300):
            execution = await aio.job_executions.get(
                resource_group, world.agent_server, world.agent, job, execution.name
            )
            if execution.end_time is not None:
                break
            await asyncio.sleep(0.1)
        assert execution.lifecycle == "Succeeded"
        steps = [
            s
            async for s in aio.job_step_executions.list_by_job_execution(
                resource_group, world.agent_server, world.agent, job, execution.name
            )
        ]
        assert [s.lifecycle for s in steps] == ["Succeeded"]
