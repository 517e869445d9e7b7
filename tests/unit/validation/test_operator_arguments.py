"""Bad operator arguments fail in ``__init__`` (DAG parse time) with the field and the fix, and
rendered-template values fail in ``execute`` before any network connection is attempted."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from airflow_elasticjobs.operators.agent import ElasticJobsAgentOperator
from airflow_elasticjobs.operators.cleanup import ElasticJobsCleanupOperator
from airflow_elasticjobs.operators.credential import ElasticJobsCredentialOperator
from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
from airflow_elasticjobs.operators.job import ElasticJobsJobOperator
from airflow_elasticjobs.operators.schedule import ElasticJobsScheduleOperator
from airflow_elasticjobs.operators.server import ElasticJobsDatabaseOperator, ElasticJobsServerOperator
from airflow_elasticjobs.operators.target_group import ElasticJobsTargetGroupOperator
from airflow_elasticjobs.validation import ElasticJobsValidationError

SERVER = {"type": "SqlServer", "server_name": "target-srv", "refresh_credential": "masteruser"}
STEP = {"name": "Step1", "command": "SELECT 1", "target_group": "ServerGroup", "credential": "jobuser"}


def step(**overrides: Any) -> dict[str, Any]:
    return {**STEP, **overrides}


# (operator, kwargs, text naming the field, text of the fix)
BAD_INPUTS = [
    (ElasticJobsAgentOperator, {"database_name": "JobDatabase", "sku": "JA300"}, "sku=", "JA100, JA200"),
    (ElasticJobsAgentOperator, {"database_name": "Job/DB"}, "database_name=", "remove the characters"),
    (ElasticJobsAgentOperator, {"database_name": "x" * 129}, "database_name=", "at most 128"),
    (ElasticJobsAgentOperator, {"database_name": "db", "agent_name": "agent."}, "agent_name=", "period"),
    (ElasticJobsAgentOperator, {"database_name": "db", "poll_interval": 0}, "poll_interval=", "≥ 1"),
    (
        ElasticJobsAgentOperator,
        {"database_name": "db", "elastic_jobs_conn_id": ""},
        "elastic_jobs_conn_id=",
        "connection",
    ),
    (
        ElasticJobsAgentOperator,
        {"database_name": "db", "resource_group_name": "rg."},
        "resource_group_name=",
        "not ending with '.'",
    ),
    (
        ElasticJobsAgentOperator,
        {"database_name": "db", "resource_group_name": "r" * 91},
        "resource_group_name=",
        "1-90",
    ),
    (
        ElasticJobsServerOperator,
        {"server_name": "Bad_Server", "location": "westeurope", "admin_conn_id": "admin"},
        "server_name=",
        "lowercase letters",
    ),
    (ElasticJobsServerOperator, {"location": "", "admin_conn_id": "admin"}, "location=", "Azure region"),
    (
        ElasticJobsServerOperator,
        {"location": "westeurope", "admin_conn_id": ""},
        "admin_conn_id=",
        "connection",
    ),
    (ElasticJobsDatabaseOperator, {"database_name": "db*1"}, "database_name=", "not allowed"),
    (
        ElasticJobsCredentialOperator,
        {"credential_name": "jobuser", "credential_conn_id": None},
        "credential_conn_id=",
        "login and password",
    ),
    (
        ElasticJobsCredentialOperator,
        {"credential_name": "a?b", "credential_conn_id": "c"},
        "credential_name=",
        "remove the characters",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {"target_group_name": "g", "members": [{"type": "SqlVm", "server_name": "s"}]},
        "members[0].type=",
        "SqlServer, SqlDatabase, SqlElasticPool, SqlShardMap",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {"target_group_name": "g", "members": [{**SERVER, "type": "SqlElasticPool"}]},
        "members[0].elastic_pool_name=",
        "needs elastic_pool_name",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {"target_group_name": "g", "members": [{**SERVER, "type": "SqlShardMap", "database_name": "smm"}]},
        "members[0].shard_map_name=",
        "needs shard_map_name",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {
            "target_group_name": "g",
            "members": [
                {
                    "type": "SqlDatabase",
                    "server_name": "s",
                    "database_name": "d",
                    "membership_type": "Exclude",
                }
            ],
        },
        "members=",
        "at least one Include",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {"target_group_name": "g", "members": [{**SERVER, "serverName": "camel"}]},
        "members[0]=",
        "remove unknown keys ['serverName']",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {"target_group_name": "g", "members": [{**SERVER, "membership_type": "Maybe"}]},
        "members[0].membership_type=",
        "Include or Exclude",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {"target_group_name": "g", "members": [SERVER, SERVER]},
        "members=",
        "duplicate",
    ),
    (
        ElasticJobsTargetGroupOperator,
        {"target_group_name": "g", "members": "ServerGroup"},
        "members=",
        "list of members",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(), step(command="SELECT 2")]},
        "steps=",
        "unique name",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(step_id=1), step(name="Step2", step_id=3)]},
        "steps[*].step_id=",
        "without gaps",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(step_id=1), step(name="Step2", step_id=1)]},
        "steps[*].step_id=",
        "without gaps or duplicates",
    ),
    (ElasticJobsJobOperator, {"job_name": "Job1", "steps": []}, "steps=", "at least one step"),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(command="  ")]},
        "steps[0].command=",
        "T-SQL",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(initial_retry_interval_seconds=200)]},
        "steps[0].initial_retry_interval_seconds=",
        "≤ maximum_retry_interval_seconds (120)",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(retry_interval_backoff_multiplier=0.5)]},
        "steps[0].retry_interval_backoff_multiplier=",
        "≥ 1",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(retry_attempts=-1)]},
        "steps[0].retry_attempts=",
        "≥ 0",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step(output={"server_name": "s", "database_name": "d"})]},
        "steps[0].output=",
        "table_name",
    ),
    (
        ElasticJobsJobOperator,
        {"job_name": "Job1", "steps": [step()], "schedule": {"type": "Recurring", "enabled": True}},
        "schedule.interval=",
        "interval like PT1H",
    ),
    (ElasticJobsJobOperator, {"job_name": "Job:1", "steps": [step()]}, "job_name=", "remove the characters"),
    (
        ElasticJobsScheduleOperator,
        {"job_name": "Job1", "interval": "1 hour"},
        "schedule.interval=",
        "ISO 8601 duration",
    ),
    (
        ElasticJobsScheduleOperator,
        {"job_name": "Job1", "interval": "PT0H"},
        "schedule.interval=",
        "longer than zero",
    ),
    (
        ElasticJobsScheduleOperator,
        {
            "job_name": "Job1",
            "interval": "PT1H",
            "start_time": "2030-01-02T00:00:00Z",
            "end_time": "2030-01-01T00:00:00Z",
        },
        "schedule.end_time=",
        "later than start_time",
    ),
    (
        ElasticJobsScheduleOperator,
        {"job_name": "Job1", "interval_type": "Fortnight", "interval_count": 1},
        "interval_type=",
        "Minute, Hour",
    ),
    (
        ElasticJobsScheduleOperator,
        {"job_name": "Job1", "interval_type": "Hour", "interval_count": 0},
        "interval_count=",
        "≥ 1",
    ),
    (
        ElasticJobsScheduleOperator,
        {"job_name": "Job1", "interval": "PT1H", "interval_type": "Hour", "interval_count": 1},
        "interval_type=",
        "either interval or interval_type",
    ),
    (
        ElasticJobsScheduleOperator,
        {"job_name": "Job1", "start_time": "2030-01-01T00:00:00"},
        "schedule.start_time=",
        "time zone",
    ),
    (
        ElasticJobsScheduleOperator,
        {"job_name": "Job1", "schedule_type": "Weekly"},
        "schedule.type=",
        "Once or Recurring",
    ),
    (
        ElasticJobsDeployOperator,
        {
            "job_name": "Job1",
            "steps": [step()],
            "credentials": [{"name": "a", "conn_id": "x"}, {"name": "A", "conn_id": "y"}],
        },
        "credentials=",
        "declare each name once",
    ),
    (
        ElasticJobsDeployOperator,
        {"job_name": "Job1", "steps": [step()], "credentials": [{"name": "jobuser", "conn_id": ""}]},
        "credentials[0].conn_id=",
        "login and password",
    ),
    (
        ElasticJobsDeployOperator,
        {
            "job_name": "Job1",
            "steps": [step()],
            "target_groups": [{"name": "g", "members": [{"type": "Vm", "server_name": "s"}]}],
        },
        "target_groups[0].members[0].type=",
        "SqlServer",
    ),
    (ElasticJobsCleanupOperator, {}, "jobs=", "at least one resource"),
    (
        ElasticJobsCleanupOperator,
        {"databases": [{"server": "s", "db": "d"}]},
        "databases[0]=",
        '"server_name"',
    ),
    (ElasticJobsCleanupOperator, {"servers": ["Not_A_Server"]}, "servers[0]=", "lowercase letters"),
]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every outgoing socket connection."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_at_least_twenty_bad_inputs() -> None:
    assert len(BAD_INPUTS) >= 20


@pytest.mark.parametrize(("operator", "kwargs", "field", "fix"), BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_bad_argument_fails_at_parse_time(
    operator: type, kwargs: dict[str, Any], field: str, fix: str, no_network: list[Any]
) -> None:
    with pytest.raises(ElasticJobsValidationError) as caught:
        operator(task_id="t", **kwargs)
    message = str(caught.value)
    assert field in message
    assert fix in message
    assert no_network == []


def test_rendered_template_is_validated_in_execute_before_any_call(no_network: list[Any]) -> None:
    op = ElasticJobsAgentOperator(task_id="t", database_name="{{ params.db }}", sku="{{ params.sku }}")
    op.sku = "JA999"  # what the template rendered to
    with pytest.raises(ElasticJobsValidationError, match=r"sku='JA999'.*JA100"):
        op.execute(context={})  # type: ignore[arg-type]
    assert no_network == []


def test_templated_values_are_not_rejected_at_parse_time() -> None:
    op = ElasticJobsJobOperator(task_id="t", job_name="{{ params.job }}", steps="{{ params.steps }}")
    assert op.job_name == "{{ params.job }}"
    assert "steps" in op.template_fields


def test_errors_never_contain_the_password_of_a_connection(
    monkeypatch: pytest.MonkeyPatch, no_network: list[Any]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NO_LOGIN", '{"conn_type": "generic", "password": "TopSecret-Value-42"}')
    op = ElasticJobsCredentialOperator(task_id="t", credential_name="jobuser", credential_conn_id="no_login")
    with pytest.raises(ElasticJobsValidationError) as caught:
        op.execute(context={})  # type: ignore[arg-type]
    assert "no login" in str(caught.value)
    assert "TopSecret" not in str(caught.value)
    assert no_network == []
