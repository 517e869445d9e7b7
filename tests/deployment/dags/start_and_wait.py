"""Scenario DAGs for the deployment tests (tests/deployment), parsed by the stack's dag-processor.

Every name comes from the run's conf (``params``): the connection (``elastic_jobs_conn_id``,
default ``azure_elastic_jobs_default``, which the stack points at its emulator) and the resource
group, server and agent, where ``None`` falls back to the connection's. Rendering is native, so
``None`` stays ``None``.

* ``deployment_start_and_wait``: one ``ElasticJobsStartJobOperator`` (task ``start``) that starts
  ``params.job_name`` and waits in the triggerer (``deferrable``), polling every second.
* ``deployment_start_and_wait_polling``: the same waiting in its worker slot (not deferred).
* ``deployment_start_and_wait_default_poll``: the same deferred, polling every 30 s (the
  trigger's default), so that what happens between two polls is told apart from a poll.
* ``deployment_start_mapped``: the start operator mapped over ``params.job_names`` (task ``start``,
  one map index per job), deferred.
* ``deployment_daily_start`` and ``deployment_daily_start_serial``: ``@daily`` for backfills of
  2025 dates, deferred, ending 2025-12-31 so that the scheduler makes no run of its own; the
  second has the documented recipe for parallel runs of one job, ``max_active_tis_per_dag=1`` on
  the start task (docs/execution-semantics.md, parallel runs).

All have ``retries=1`` with a 2 s ``retry_delay`` and a 600 s execution ``timeout``, and no schedule.
All but ``deployment_start_and_wait_default_poll`` poll every second.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

START_TASK_ID = "start"
NAME_PARAMS = {
    "resource_group_name": Param(None, type=["null", "string"], description="default: the connection's"),
    "server_name": Param(
        None, type=["null", "string"], description="agent server; default: the connection's"
    ),
    "agent_name": Param(None, type=["null", "string"], description="default: the connection's"),
}
CONNECTION_PARAM = {
    "elastic_jobs_conn_id": Param(
        "azure_elastic_jobs_default", type="string", description="the Elastic Jobs connection to use"
    )
}
TARGET = {name: f"{{{{ params.{name} }}}}" for name in (*NAME_PARAMS, *CONNECTION_PARAM)}
WAIT = {"poll_interval": 1, "timeout": 600, "retries": 1, "retry_delay": timedelta(seconds=2)}


def scenario_dag(dag_id: str, doc: str, schedule: str | None = None, **params: Param) -> DAG:
    """A DAG (manually triggered unless ``schedule``, then for 2025 only) with the name params and
    native rendering."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        end_date=pendulum.datetime(2025, 12, 31, tz="UTC") if schedule else None,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        render_template_as_native_obj=True,
        tags=["elastic-jobs", "deployment-tests"],
        doc_md=doc,
        params={**params, **NAME_PARAMS, **CONNECTION_PARAM},
    )


DEFAULT_POLL_INTERVAL = 30  # the trigger's and the start operator's default
for dag_id, deferrable, poll_interval in (
    ("deployment_start_and_wait", True, WAIT["poll_interval"]),
    ("deployment_start_and_wait_polling", False, WAIT["poll_interval"]),
    ("deployment_start_and_wait_default_poll", True, DEFAULT_POLL_INTERVAL),
):
    with scenario_dag(
        dag_id,
        f"Start `params.job_name` and wait ({'deferred' if deferrable else 'in the worker slot'}, "
        f"polling every {poll_interval} s).",
        job_name=Param("Job1", type="string", description="the job to start"),
    ):
        ElasticJobsStartJobOperator(
            task_id=START_TASK_ID,
            job_name="{{ params.job_name }}",
            deferrable=deferrable,
            **TARGET,
            **{**WAIT, "poll_interval": poll_interval},
        )

with scenario_dag(
    "deployment_start_mapped",
    "Start every job of `params.job_names` (one mapped task instance each) and wait, deferred.",
    job_names=Param(["Job1"], type="array", items={"type": "string"}, description="jobs to start"),
):

    @task
    def job_names(params: dict | None = None) -> list[str]:
        """The jobs to start, from the run's conf."""
        assert params is not None
        return list(params["job_names"])

    ElasticJobsStartJobOperator.partial(task_id=START_TASK_ID, deferrable=True, **TARGET, **WAIT).expand(
        job_name=job_names()
    )

for dag_id, serial in (("deployment_daily_start", False), ("deployment_daily_start_serial", True)):
    with scenario_dag(
        dag_id,
        "Daily start of `params.job_name`, for backfills"
        + (" (one start task instance at a time: `max_active_tis_per_dag=1`)." if serial else "."),
        schedule="@daily",
        job_name=Param("Job1", type="string", description="the job to start"),
    ):
        ElasticJobsStartJobOperator(
            task_id=START_TASK_ID,
            job_name="{{ params.job_name }}",
            deferrable=True,
            max_active_tis_per_dag=1 if serial else None,
            **TARGET,
            **WAIT,
        )
