"""Where a task instance's execution lives, from the task's own definition: never from XCom.

Anyone allowed to edit a DAG's XCom (the public REST API's XCom entries) could otherwise point the
api-server at any ``azure_elastic_jobs`` connection. So the connection id, the resource group /
server / agent overrides and the job name come from the serialized DAG (what the DAG author wrote);
a field the author templated comes from the value Airflow rendered for this task instance (the
``rendered_task_instance_fields`` table, written by the task's own run through the Execution API;
the public API cannot write it). Only the execution id comes from XCom, and it must be a UUID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_elasticjobs.validation import (
    check_conn_id,
    check_name,
    check_resource_group,
    check_server_name,
    is_templated,
)

#: The operators whose task instances the plugin shows: ``(task_type, _task_module)`` as serialized.
#: Exact classes only: a subclass could read a connection in ways this module does not know.
ELASTIC_JOBS_TASKS = frozenset(
    {
        ("ElasticJobsStartJobOperator", "airflow_elasticjobs.operators.execution"),
        ("ElasticJobsExecutionSensor", "airflow_elasticjobs.sensors.execution"),
    }
)
_CHECKS = {
    "elastic_jobs_conn_id": check_conn_id,
    "resource_group_name": check_resource_group,
    "server_name": check_server_name,
    "agent_name": check_name,
    "job_name": check_name,
}
_REQUIRED = ("elastic_jobs_conn_id", "job_name")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class NotAnElasticJobsTask(LookupError):
    """The task is not an Elastic Jobs start operator or sensor."""


class UnresolvedTask(ValueError):
    """A field of the task's definition has no usable value; the message names it and the fix."""


@dataclass(frozen=True)
class ExecutionRef:
    """One execution and where it lives: connection, overrides (``None``: the connection's) and job."""

    conn_id: str
    resource_group_name: str | None
    server_name: str | None
    agent_name: str | None
    job_name: str
    execution_id: str

    @property
    def hook_key(self) -> tuple[str, str | None, str | None, str | None]:
        """What identifies the hook that reads it: the connection id and the overrides."""
        return (self.conn_id, self.resource_group_name, self.server_name, self.agent_name)


#: Stands for a field only the task instance's rendered fields know.
_RENDERED_ONLY = object()


def _definition_value(task: Any, field: str) -> Any:
    """The field as the DAG author wrote it.

    A mapped task's arguments (``expand``/``expand_kwargs``, possibly from upstream XCom) are only
    known per map index, once rendered: the task instance's rendered fields are its definition.
    """
    if getattr(task, "is_mapped", False):
        return _RENDERED_ONLY
    return getattr(task, field, None)


def _field(task: Any, field: str, rendered: dict[str, Any] | None) -> str | None:
    value = _definition_value(task, field)
    if value is _RENDERED_ONLY or is_templated(value):
        if rendered is None or field not in rendered:
            raise UnresolvedTask(
                f"{field} of task {task.task_id!r} is templated and Airflow has no rendered value for "
                "this task instance (it has not run yet, or its rendered fields were pruned: "
                "[core] max_num_rendered_ti_fields_per_task)"
            )
        value = rendered[field]
    if value is not None and not isinstance(value, str):
        raise UnresolvedTask(f"{field} of task {task.task_id!r} is {type(value).__name__}, not a name")
    if field in _REQUIRED and not value:
        raise UnresolvedTask(f"task {task.task_id!r} has no {field}")
    try:
        _CHECKS[field](field, value, required=False)
    except ValueError as err:
        raise UnresolvedTask(f"task {task.task_id!r}: {err}") from None
    return value or None


def check_task(task: Any) -> None:
    """Refuse a task that is not an Elastic Jobs start operator or sensor.

    :raises NotAnElasticJobsTask: naming the task's operator.
    """
    if (task.task_type, task._task_module) not in ELASTIC_JOBS_TASKS:
        raise NotAnElasticJobsTask(
            f"Task {task.task_id!r} is a {task.task_type}, not an Elastic Jobs start operator or sensor "
            "(ElasticJobsStartJobOperator, ElasticJobsExecutionSensor): it has no Elastic Jobs execution "
            "to show."
        )


def execution_id_from_xcom(value: Any) -> str:
    """The execution id of the XCom reference the task pushed; the only thing taken from XCom.

    :raises UnresolvedTask: when it is missing or not a UUID.
    """
    execution_id = value.get("execution_id") if isinstance(value, dict) else None
    if not isinstance(execution_id, str) or not _UUID.match(execution_id):
        raise UnresolvedTask(
            "the execution reference in XCom has no execution_id in UUID form; re-run the task to push "
            "it again"
        )
    return execution_id.lower()


def resolve(task: Any, rendered: dict[str, Any] | None, execution_id: str) -> ExecutionRef:
    """The execution's location from the task's definition (and its rendered fields).

    :param task: the serialized task (``dag.get_task``) of the task instance's DAG version.
    :param rendered: the task instance's rendered template fields, ``None`` when there are none.
    :param execution_id: from :func:`execution_id_from_xcom`.
    :raises NotAnElasticJobsTask: see :func:`check_task`.
    :raises UnresolvedTask: naming the field without a usable value.
    """
    check_task(task)
    values = {name: _field(task, name, rendered) for name in _CHECKS}
    return ExecutionRef(
        conn_id=values["elastic_jobs_conn_id"],
        resource_group_name=values["resource_group_name"],
        server_name=values["server_name"],
        agent_name=values["agent_name"],
        job_name=values["job_name"],
        execution_id=execution_id,
    )
