"""The DAGs of ``benchmarks/fanout_vs_mapped.py``, parameterised by the DAG run's conf.

The same file serves both of its modes: ``dag.test()`` in the benchmark's own process, and the
local deployment (``scripts/stack``'s ``LocalStack``), whose dag-processor parses this folder as a
DAG bundle. Every name comes from the conf; the connections are created by the benchmark.

* ``bench_fanout_elastic_deferred`` / ``bench_fanout_elastic_in_slot`` /
  ``bench_fanout_elastic_defer_after``: one ``ElasticJobsStartJobOperator`` starting
  ``params.job_name`` and waiting for it, polling every 0.5 s: in the triggerer, in its worker
  slot, or deferrable with ``defer_after=30`` (in its slot for up to 30 s, then in the triggerer).
* ``bench_fanout_mapped_tasks`` (baseline): ``databases`` (one task instance reading
  ``params.databases``), then ``run_batch`` mapped over them, each running ``params.sql`` through
  ``ElasticJobsEmulatorSqlHook`` (the emulator's SQL data plane) as the job user.

No retries: a task instance that fails shows as failed in the benchmark's figures.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

ELASTIC_CONN_ID = "elastic_jobs_fanout"
SQL_CONN_ID = "elastic_jobs_fanout_sql"
#: The elastic DAG of each way to wait, by variant: its id and how the start operator waits.
ELASTIC_DAGS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "deferred": ("bench_fanout_elastic_deferred", "deferred", {"deferrable": True}),
    "in_slot": ("bench_fanout_elastic_in_slot", "in the worker slot", {"deferrable": False}),
    "defer_after": (
        "bench_fanout_elastic_defer_after",
        "in the worker slot for up to 30 s, then deferred",
        {"deferrable": True, "defer_after": 30},
    ),
}
MAPPED_DAG = "bench_fanout_mapped_tasks"
#: Every DAG of this file by id (the benchmark runs them with ``dag.test()``).
DAGS: dict[str, DAG] = {}


def bench_dag(dag_id: str, doc: str, **params: Param) -> DAG:
    """A manually triggered DAG with ``params`` and native rendering, no retries."""
    return DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        render_template_as_native_obj=True,
        tags=["elastic-jobs", "benchmark"],
        doc_md=doc,
        params=params,
        default_args={"retries": 0},
    )


for dag_id, waits, wait_kwargs in ELASTIC_DAGS.values():
    with bench_dag(
        dag_id,
        f"Start `params.job_name` and wait ({waits}).",
        job_name=Param("Fanout", type="string", description="the job to start"),
    ) as dag:
        ElasticJobsStartJobOperator(
            task_id="fanout",
            elastic_jobs_conn_id=ELASTIC_CONN_ID,
            job_name="{{ params.job_name }}",
            poll_interval=0.5,
            progress_interval=1.0,
            **wait_kwargs,
        )
    DAGS[dag_id] = dag

with bench_dag(
    MAPPED_DAG,
    "Run `params.sql` on every database of `params.databases`, one mapped task instance each.",
    databases=Param(["Db0000"], type="array", items={"type": "string"}, description="target databases"),
    sql=Param("SELECT 1", type="string", description="the T-SQL batch each task runs"),
) as dag:

    @task
    def databases(params: dict | None = None) -> list[str]:
        """The target databases, from the run's conf."""
        assert params is not None
        return list(params["databases"])

    @task
    def run_batch(database: str, params: dict | None = None) -> None:
        """Run the batch on one database as the connection's login."""
        from elasticjobs_emulator.hooks.emulator_sql import ElasticJobsEmulatorSqlHook

        assert params is not None
        ElasticJobsEmulatorSqlHook(SQL_CONN_ID, database=database).run(params["sql"])

    run_batch.expand(database=databases())

DAGS[MAPPED_DAG] = dag
