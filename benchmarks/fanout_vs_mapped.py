"""One elastic job over N databases vs a mapped per-database task DAG, both run by Airflow.

The same T-SQL (the tutorial's idempotent ``IF NOT EXISTS … CREATE TABLE``) reaches N emulated
databases (N = 100; smoke: 5, without the warm-up run) in two ways, each a DAG run with
``dag.test()`` against the emulator process and a throw-away Airflow metadata database:

- ``elastic job``: one ``ElasticJobsStartJobOperator`` task starting a job whose target group is
  the whole target server (expanded to its N databases by the agent, which runs them in parallel
  up to its capacity) and waiting for it in the worker (poll interval 0.5 s);
- ``mapped tasks`` (baseline): one task mapped over the N databases, each running the batch
  through ``ElasticJobsEmulatorSqlHook`` (the SQL data plane) as the same job user.

Wall time of each ``dag.test()`` and the task instances each creates; afterwards every database is
checked to hold each approach's table, so neither figure comes from a run that
silently did less. ``dag.test()`` runs task instances one after another in one process; a
deployment with parallel workers runs mapped tasks concurrently, at the cost of one worker slot
and one process start per database.

Run: ``python -m benchmarks.fanout_vs_mapped [--smoke]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import parse_args, report

ROOT = Path(__file__).resolve().parents[1]
ELASTIC_CONN_ID = "elastic_jobs_fanout"
SQL_CONN_ID = "elastic_jobs_fanout_sql"
ELASTIC_TABLE = "FanoutElastic"
MAPPED_TABLE = "FanoutMapped"


def prepare_airflow_home(home: Path) -> None:
    """Point Airflow at a fresh home with a migrated SQLite metadata DB (before importing airflow)."""
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(home / "dags")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    (home / "dags").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL, cwd=ROOT
    )


def register_connections(world: Any) -> None:
    """The ARM connection (agent server) and the SQL data-plane connection (target server, job user)."""
    from tests.integration.executions_world import JOB_PASSWORD
    from tests.integration.provider.execution_support import connection_json

    os.environ[f"AIRFLOW_CONN_{ELASTIC_CONN_ID.upper()}"] = connection_json(world)
    os.environ[f"AIRFLOW_CONN_{SQL_CONN_ID.upper()}"] = world.emulator.sql_connection_json(
        world.target_server, "jobuser", JOB_PASSWORD, schema="master"
    )


def elastic_dag(job: str) -> Any:
    """One task: start the job over the whole target server and wait for it."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

    with DAG("bench_fanout_elastic_job", schedule=None, catchup=False) as dag:
        ElasticJobsStartJobOperator(
            task_id="fanout",
            elastic_jobs_conn_id=ELASTIC_CONN_ID,
            job_name=job,
            deferrable=False,
            poll_interval=0.5,
            progress_interval=1.0,
        )
    return dag


def mapped_dag(databases: list[str]) -> Any:
    """One task mapped over the databases, each running the batch through the SQL data plane."""
    from airflow.sdk import DAG, task

    from tests.integration.executions_world import TUTORIAL_SQL

    sql = TUTORIAL_SQL.format(table=MAPPED_TABLE)

    with DAG("bench_fanout_mapped_tasks", schedule=None, catchup=False) as dag:

        @task
        def run_batch(database: str) -> None:
            from elasticjobs_emulator.hooks.emulator_sql import ElasticJobsEmulatorSqlHook

            ElasticJobsEmulatorSqlHook(SQL_CONN_ID, database=database).run(sql)

        run_batch.expand(database=databases)
    return dag


def warm_up_dag() -> Any:
    """A one-task DAG run first, so neither approach pays Airflow's first-run start-up."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG("bench_fanout_warm_up", schedule=None, catchup=False) as dag:
        EmptyOperator(task_id="warm_up")
    return dag


def timed_run(dag: Any) -> dict[str, Any]:
    """Serialize the DAG, run it with ``dag.test()``; wall time, run state, task-instance count."""
    from tests.integration.provider.execution_support import serialize_dag

    serialize_dag(dag)
    started = time.perf_counter()
    dag_run = dag.test()
    wall = time.perf_counter() - started
    instances = dag_run.get_task_instances()
    return {
        "wall_s": wall,
        "dag_run_state": str(dag_run.state),
        "task_instances": len(instances),
        "failed_task_instances": sum(1 for ti in instances if ti.state != "success"),
    }


def databases_with_table(world: Any, table: str) -> int:
    """In how many target databases ``table`` exists (``sys.tables``)."""
    return sum(1 for database in world.databases if table in world.tables(database))


def run(count: int, *, warm_up: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Build N target databases, run both DAGs, check every database, and compare.

    :param warm_up: first run a throw-away DAG so neither approach pays Airflow's first-run start-up.
    """
    from tests.integration.executions_world import TUTORIAL_SQL, World, fast_options
    from tests.support.emulator import EmulatorProcess, unique_name

    with tempfile.TemporaryDirectory(prefix="elasticjobs-fanout-") as tmp:
        prepare_airflow_home(Path(tmp) / "airflow")
        emulator = EmulatorProcess(
            Path(tmp) / "emulator", token=os.urandom(12).hex(), agent_provisioning_seconds=0.1
        )
        emulator.start()
        try:
            databases = tuple(f"Db{i:04d}" for i in range(count))
            world = World(emulator, emulator.management_client(), unique_name("rg"), databases=databases)
            world.build()
            register_connections(world)
            group = world.target_group("WholeServer", [world.server_member()])
            job = world.job(
                "Fanout", [("Step1", group, TUTORIAL_SQL.format(table=ELASTIC_TABLE), fast_options())]
            )
            if warm_up:
                timed_run(warm_up_dag())
            results = {
                "elastic job (one task)": timed_run(elastic_dag(job)),
                "mapped tasks, one per database (baseline)": timed_run(mapped_dag(list(databases))),
            }
            checks = {
                "elastic job (one task)": databases_with_table(world, ELASTIC_TABLE),
                "mapped tasks, one per database (baseline)": databases_with_table(world, MAPPED_TABLE),
            }
        finally:
            emulator.stop()
    baseline = results["mapped tasks, one per database (baseline)"]
    rows = [
        {
            "databases": count,
            "approach": name,
            **result,
            "databases_with_table": checks[name],
            "speedup_vs_mapped": baseline["wall_s"] / result["wall_s"],
        }
        for name, result in results.items()
    ]
    elastic = results["elastic job (one task)"]
    summary = {
        "elastic_speedup_over_mapped": baseline["wall_s"] / elastic["wall_s"],
        "task_instance_ratio_mapped_over_elastic": baseline["task_instances"] / elastic["task_instances"],
        "all_databases_written_by_both": all(row["databases_with_table"] == count for row in rows),
    }
    return rows, summary


def main() -> None:
    """Measure and report."""
    args = parse_args(__doc__.splitlines()[0])
    rows, summary = run(5, warm_up=False) if args.smoke else run(100)
    report("fanout_vs_mapped", rows, summary, smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
