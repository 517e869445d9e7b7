"""Step output tables through the real SDK: every target's first result set lands in one table.

The job's step has ``properties.output``; the rows are read back through the SQL data plane's
DB-API driver as the output credential's login.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from elasticjobs_emulator.engine.records import internal_execution_id
from tests.integration.executions_world import JOB_PASSWORD, OUTPUT_GRANTS, World, fast_options
from tests.support.definitions import LOCATION
from tests.support.emulator import unique_name

pytestmark = pytest.mark.integration

DATABASES = ("TargetDb1", "TargetDb2", "TargetDb3")
RESULTS_DB = "ResultsDb"
QUERY = "SELECT DB_NAME() AS database_name, COUNT(*) AS n FROM sys.objects"
NO_INSERT_GRANTS = tuple(grant for grant in OUTPUT_GRANTS if not grant.startswith("INSERT"))


@pytest.fixture(scope="module")
def world(emulator) -> Iterator[World]:
    with emulator.management_client() as client:
        world = World(emulator, client, unique_name("rg"), databases=DATABASES).build()
        world.sql("TargetDb2", "CREATE TABLE extra (id INT)")  # so the counts differ per database
        world.create_database(world.target_server, RESULTS_DB)
        world.output_writer("outputuser", RESULTS_DB)
        world.output_writer("nowriter", RESULTS_DB, NO_INSERT_GRANTS)
        yield world


@pytest.fixture(scope="module")
def group(world: World) -> str:
    return world.target_group("Three", [world.database_member(name) for name in DATABASES])


def _output_job(world: World, group: str, table: str, credential: str | None = "outputuser") -> str:
    """A job whose one step writes to ``table``; as the agent's managed identity when ``credential``
    is ``None`` (the output names no credential)."""
    job = unique_name("job")
    world.job(job, [])
    output = {
        "type": "SqlDatabase",
        "serverName": world.target_server,
        "databaseName": RESULTS_DB,
        "tableName": table,
        **({"credential": world.agent_path("credentials", credential)} if credential else {}),
    }
    body: dict[str, Any] = {
        "targetGroup": group,
        "credential": world.agent_path("credentials", "jobuser"),
        "action": {"type": "TSql", "source": "Inline", "value": QUERY},
        "output": output,
        "executionOptions": fast_options(),
    }
    world.client.job_steps.create_or_update(
        world.rg, world.agent_server, world.agent, job, "collect", {"properties": body}
    )
    return job


def _read(world: World, table: str) -> list[tuple[Any, ...]]:
    return world.emulator.run_sql(
        world.target_server,
        RESULTS_DB,
        "outputuser",
        JOB_PASSWORD,
        f"SELECT internal_execution_id, database_name, n FROM [dbo].[{table}]",
    )


def _read_count(world: World, table: str) -> int:
    return world.sql(RESULTS_DB, f"SELECT COUNT(*) FROM [{table}]")["result_sets"][0]["rows"][0][0]


def _expected_ids(world: World, job: str, execution_id: str) -> dict[str, str]:
    """Database name -> internal_execution_id of each target execution (docs/emulator-engine.md)."""
    ids = {}
    for target in world.target_executions(job, execution_id):
        doc = {
            "name": target.name,
            "properties": {"jobExecutionId": str(target.job_execution_id), "stepName": target.step_name},
        }
        ids[target.target.database_name] = internal_execution_id(doc)
    return ids


def _object_count(world: World, database: str) -> int:
    return world.sql(database, "SELECT COUNT(*) FROM sys.objects")["result_sets"][0]["rows"][0][0]


def test_each_execution_appends_one_row_per_target_with_its_own_internal_ids(world: World, group: str):
    table = unique_name("results")
    job = _output_job(world, group, table)
    counts = {name: _object_count(world, name) for name in DATABASES}
    assert counts["TargetDb2"] == counts["TargetDb1"] + 1
    expected: set[tuple[str, str, int]] = set()
    for _ in range(2):
        execution = world.start(job)
        assert world.wait(job, execution.name).lifecycle == "Succeeded"
        ids = _expected_ids(world, job, execution.name)
        assert sorted(ids) == sorted(DATABASES)
        expected |= {(ids[name], name, counts[name]) for name in DATABASES}
        assert set(_read(world, table)) == expected
    assert len(_read(world, table)) == 2 * len(DATABASES) == len(expected)


def test_output_without_a_credential_is_written_as_the_agents_managed_identity(world: World, group: str):
    """The agent gets a user-assigned identity whose Entra user in the output database has the
    output grants; the output names no credential, so the rows are inserted as that identity."""
    identity = unique_name("umi")
    identity_id = (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/identities/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}"
    )
    job_db = world.emulator.arm_path(world.rg, "servers", world.agent_server, "databases", "JobDatabase")
    agent = {
        "location": LOCATION,
        "sku": {"name": "JA100"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}},
        "properties": {"databaseId": job_db},
    }
    world.client.job_agents.begin_create_or_update(
        world.rg, world.agent_server, world.agent, agent, polling_interval=0.2
    ).result()
    world.sql(RESULTS_DB, f"CREATE USER [{identity}] FROM EXTERNAL PROVIDER")
    for grant in OUTPUT_GRANTS:
        world.sql(RESULTS_DB, f"GRANT {grant} TO [{identity}]")
    table = unique_name("results")
    job = _output_job(world, group, table, credential=None)
    execution = world.start(job)
    lifecycle = world.wait(job, execution.name).lifecycle
    messages = {target.last_message for target in world.target_executions(job, execution.name)}
    assert lifecycle == "Succeeded", messages
    ids = _expected_ids(world, job, execution.name)
    assert {(row[0], row[1]) for row in _read(world, table)} == {(ids[name], name) for name in DATABASES}


def test_missing_insert_permission_fails_every_target_with_a_clear_message(world: World, group: str):
    table = unique_name("denied")
    job = _output_job(world, group, table, credential="nowriter")
    execution = world.start(job)
    assert world.wait(job, execution.name).lifecycle == "Failed"
    targets = world.target_executions(job, execution.name)
    assert len(targets) == len(DATABASES)
    for target in targets:
        assert target.lifecycle == "Failed"
        assert f"Failed to write the output to table [dbo].[{table}]" in target.last_message
        assert f"The INSERT permission was denied on the object '{table}'" in target.last_message


def test_an_output_table_of_another_shape_fails_every_target(world: World, group: str):
    table = unique_name("shape")
    world.sql(RESULTS_DB, f"CREATE TABLE [{table}] (internal_execution_id UNIQUEIDENTIFIER, db NVARCHAR(50))")
    job = _output_job(world, group, table)
    execution = world.start(job)
    assert world.wait(job, execution.name).lifecycle == "Failed"
    messages = {target.last_message for target in world.target_executions(job, execution.name)}
    assert len(messages) == len(DATABASES)
    assert all(
        "Column name or number of supplied values does not match table definition" in m for m in messages
    )
    assert _read_count(world, table) == 0
