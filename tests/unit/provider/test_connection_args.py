"""The four connection arguments: one type for hooks, operators, the sensor and the trigger."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.connection_args import ConnectionArgs
from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from airflow_elasticjobs.validation import ElasticJobsValidationError


def settings() -> ElasticJobsConnectionSettings:
    extra = {"subscription_id": "sub", "resource_group_name": "rg", "server_name": "srv", "agent_name": "a"}
    conn = SimpleNamespace(conn_id="c", login=None, password=None, host=None, extra_dejson=extra)
    return ElasticJobsConnectionSettings.from_connection(conn)


def test_overrides_win_and_the_rest_falls_back_to_the_connection():
    args = ConnectionArgs("c", agent_name="other")
    assert args.hook_params() == {"resource_group_name": None, "server_name": None, "agent_name": "other"}
    agent = args.agent(settings())
    assert (agent.resource_group_name, agent.server_name, agent.agent_name) == ("rg", "srv", "other")
    assert ConnectionArgs.of("c", args.hook_params()) == args


def test_operators_sensor_and_hook_hold_the_same_arguments():
    args = ConnectionArgs("c", "rg2", "srv2", "agent2")
    fields = dict(args._asdict())
    operator = ElasticJobsStartJobOperator(task_id="t", job_name="Job1", **fields)
    sensor = ElasticJobsExecutionSensor(task_id="s", job_name="Job1", **fields)
    assert operator.connection_args == sensor.connection_args == args
    assert ElasticJobsHook.for_args(args).connection_args == args
    assert set(args._fields) <= set(operator.template_fields) & set(sensor.template_fields)


def test_the_sensor_validates_the_overrides_like_the_operators():
    with pytest.raises(ElasticJobsValidationError, match="server_name"):
        ElasticJobsExecutionSensor(task_id="s", job_name="Job1", server_name="Bad Server!")
    with pytest.raises(ElasticJobsValidationError, match="server_name"):
        ElasticJobsStartJobOperator(task_id="t", job_name="Job1", server_name="Bad Server!")
