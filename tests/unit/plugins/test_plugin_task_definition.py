"""Where the plugin reads an execution: the task's serialized definition and rendered fields, not XCom.

The tasks are real operators in a real DAG, serialized and deserialized by Airflow exactly as the
DAG processor and the api-server do (``DagSerialization``).
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_elasticjobs.plugins.task_definition import (
    ExecutionRef,
    NotAnElasticJobsTask,
    UnresolvedTask,
    execution_id_from_xcom,
    resolve,
)
from tests.compat.airflow_versions import serialized_copy

EXECUTION_ID = "6b1c5e0e-0000-4000-8000-000000000001"
#: How Airflow stores the template fields a task left unset in its rendered fields.
_UNSET = {"resource_group_name": None, "server_name": None, "agent_name": None}


@pytest.fixture(scope="module")
def tasks() -> Any:
    """The serialized DAG (what the api-server's DAG bag holds)."""
    from airflow.sdk import DAG, task

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
    from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor

    with DAG("plugin_resolution", schedule=None) as dag:
        ElasticJobsStartJobOperator(
            task_id="literal",
            elastic_jobs_conn_id="ours",
            resource_group_name="rg1",
            agent_name="Agent1",
            job_name="Job1",
        )
        ElasticJobsStartJobOperator(
            task_id="templated", server_name="{{ params.server }}", job_name="{{ params.job }}"
        )
        ElasticJobsExecutionSensor(task_id="sensor", job_name="Job1", elastic_jobs_conn_id="ours")
        ElasticJobsStartJobOperator.partial(task_id="mapped", elastic_jobs_conn_id="ours").expand(
            job_name=["Job1", "Job2"]
        )

        @task
        def plain() -> None:
            """Not an Elastic Jobs task."""

        plain()
    return serialized_copy(dag)


def test_literal_fields_come_from_the_definition_and_ignore_rendered_values(tasks: Any) -> None:
    forged = {"elastic_jobs_conn_id": "theirs", "resource_group_name": "other", "job_name": "Other"}
    ref = resolve(tasks.get_task("literal"), forged, EXECUTION_ID)
    assert ref == ExecutionRef("ours", "rg1", None, "Agent1", "Job1", EXECUTION_ID)
    assert ref.hook_key == ("ours", "rg1", None, "Agent1")


def test_the_default_connection_is_the_definitions_when_the_author_named_none(tasks: Any) -> None:
    rendered = {"server_name": "agent-srv", "job_name": "JobA"}
    ref = resolve(tasks.get_task("templated"), rendered, EXECUTION_ID)
    assert (ref.conn_id, ref.server_name, ref.job_name) == ("azure_elastic_jobs_default", "agent-srv", "JobA")


def test_a_templated_field_without_rendered_value_is_named(tasks: Any) -> None:
    with pytest.raises(UnresolvedTask, match="server_name of task 'templated' is templated"):
        resolve(tasks.get_task("templated"), None, EXECUTION_ID)


def test_a_rendered_value_is_validated_like_an_argument(tasks: Any) -> None:
    with pytest.raises(UnresolvedTask, match="server_name='Not A Server'"):
        resolve(tasks.get_task("templated"), {"server_name": "Not A Server", "job_name": "J"}, EXECUTION_ID)


def test_the_sensor_is_accepted(tasks: Any) -> None:
    assert resolve(tasks.get_task("sensor"), None, EXECUTION_ID).conn_id == "ours"


def test_a_mapped_task_reads_its_map_indexs_rendered_fields(tasks: Any) -> None:
    rendered = {**_UNSET, "elastic_jobs_conn_id": "ours", "job_name": "Job2"}
    assert resolve(tasks.get_task("mapped"), rendered, EXECUTION_ID).job_name == "Job2"
    with pytest.raises(UnresolvedTask, match="no rendered value"):
        resolve(tasks.get_task("mapped"), None, EXECUTION_ID)


def test_any_other_task_is_refused(tasks: Any) -> None:
    with pytest.raises(NotAnElasticJobsTask, match="'plain' is a _PythonDecoratedOperator"):
        resolve(tasks.get_task("plain"), {"elastic_jobs_conn_id": "ours", "job_name": "J"}, EXECUTION_ID)


@pytest.mark.parametrize(
    "value",
    [None, "x", {}, {"execution_id": 7}, {"execution_id": "not-a-uuid"}, {"execution_id": "../x"}],
)
def test_the_execution_id_must_be_a_uuid(value: Any) -> None:
    with pytest.raises(UnresolvedTask, match="execution_id in UUID form"):
        execution_id_from_xcom(value)


def test_only_the_execution_id_is_taken_from_xcom() -> None:
    forged = {"conn_id": "theirs", "agent_name": "Other", "execution_id": EXECUTION_ID.upper()}
    assert execution_id_from_xcom(forged) == EXECUTION_ID
