"""Asset events per target database: argument validation, per-database outcomes, events added."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_elasticjobs.asset_events import database_outcomes, target_asset_events
from airflow_elasticjobs.execution_state import ExecutionSummary, Lifecycle, TargetResult
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from airflow_elasticjobs.validation import ElasticJobsValidationError

SERVER = "targetsrv"


def result(step_id: int, database: str | None, lifecycle: str) -> TargetResult:
    return TargetResult(step_id, f"Step{step_id}", SERVER, database, lifecycle)


def summary(lifecycle: Lifecycle, *targets: TargetResult) -> ExecutionSummary:
    return ExecutionSummary("exec-1", "Retention", lifecycle, targets)


# Two steps over three databases; step 2 fails on Db3; a server-level parent execution (no database).
TWO_STEPS = summary(
    Lifecycle.FAILED,
    TargetResult(1, "Step1", SERVER, None, "Succeeded"),
    result(1, "Db1", "Succeeded"),
    result(1, "Db2", "Succeeded"),
    result(1, "Db3", "Succeeded"),
    result(2, "Db1", "Succeeded"),
    result(2, "Db2", "SucceededWithSkipped"),
    result(2, "Db3", "Failed"),
)


def uri(database: str) -> str:
    return f"x-mssql://{SERVER}.database.windows.net:1433/{database}"


@pytest.mark.parametrize(
    ("kwargs", "field", "fix"),
    [
        ({"asset_lifecycles": ["Succeded"]}, "asset_lifecycles", "Unknown execution lifecycle 'Succeded'"),
        ({"asset_lifecycles": ["InProgress"]}, "asset_lifecycles", "are not terminal"),
        ({"asset_alias": "  "}, "asset_alias", "give the alias name"),
        ({"asset_alias": 7}, "asset_alias", "give the alias name"),
        ({"asset_alias": Asset("x://a")}, "asset_alias", "or an AssetAlias"),
    ],
)
@pytest.mark.parametrize("factory", [ElasticJobsStartJobOperator, ElasticJobsExecutionSensor])
def test_bad_arguments_fail_at_parse_time_naming_the_field(factory, kwargs, field, fix):
    with pytest.raises(ElasticJobsValidationError) as raised:
        factory(task_id="t", job_name="Job1", **kwargs)
    assert str(raised.value).startswith(f"{field}=")
    assert fix in str(raised.value)


def test_bad_lifecycles_fail_even_without_an_alias():
    with pytest.raises(ElasticJobsValidationError, match="asset_lifecycles="):
        target_asset_events(None, ["Done"])
    assert target_asset_events(None) is None


@pytest.mark.parametrize("factory", [ElasticJobsStartJobOperator, ElasticJobsExecutionSensor])
def test_the_alias_is_declared_as_an_outlet_once(factory):
    by_name = factory(task_id="t", job_name="Job1", asset_alias="retention_targets")
    assert by_name.outlets == [AssetAlias("retention_targets")]
    given = AssetAlias("retention_targets")
    other = Asset("x://other")
    both = factory(task_id="t", job_name="Job1", asset_alias=given, outlets=[other, given])
    assert both.outlets == [other, given]
    assert factory(task_id="t", job_name="Job1").outlets == []


def test_outcome_per_database_combines_its_steps_in_order():
    outcomes = {o.database_name: o for o in database_outcomes(TWO_STEPS)}
    assert sorted(outcomes) == ["Db1", "Db2", "Db3"]  # the server-level parent is no target
    assert {name: o.lifecycle.value for name, o in outcomes.items()} == {
        "Db1": "Succeeded",
        "Db2": "SucceededWithSkipped",
        "Db3": "Failed",
    }
    assert [t.step_id for t in outcomes["Db3"].steps] == [1, 2]
    assert outcomes["Db1"].uri == uri("Db1")


def emitted(events: OutletEventAccessors, alias: str) -> dict[str, dict]:
    accessor = events[AssetAlias(alias)]
    return {e.dest_asset_key.uri: e.extra for e in accessor.asset_alias_events}


def test_one_event_per_database_in_the_chosen_lifecycles_with_its_extra():
    chosen = target_asset_events("retention_targets", ["succeeded", "Failed"])
    events = OutletEventAccessors()
    assets = chosen.emit(events, TWO_STEPS, job_version=3)

    assert [a.uri for a in assets] == [uri("Db1"), uri("Db3")]
    extras = emitted(events, "retention_targets")
    assert extras[uri("Db3")] == {
        "execution_id": "exec-1",
        "job_name": "Retention",
        "job_version": 3,
        "execution_lifecycle": "Failed",
        "server_name": SERVER,
        "database_name": "Db3",
        "lifecycle": "Failed",
        "step_names": ["Step1", "Step2"],
        "steps": [
            {"step_id": 1, "step_name": "Step1", "lifecycle": "Succeeded"},
            {"step_id": 2, "step_name": "Step2", "lifecycle": "Failed"},
        ],
    }
    assert extras[uri("Db1")]["lifecycle"] == "Succeeded"


def test_default_is_succeeded_only():
    events = OutletEventAccessors()
    target_asset_events("retention_targets").emit(events, TWO_STEPS, job_version=1)
    assert list(emitted(events, "retention_targets")) == [uri("Db1")]


def test_nothing_is_emitted_while_the_execution_is_active():
    running = summary(Lifecycle.IN_PROGRESS, result(1, "Db1", "Succeeded"))
    events = OutletEventAccessors()
    assert target_asset_events("retention_targets").emit(events, running, job_version=1) == []
    assert emitted(events, "retention_targets") == {}
