"""One elastic job over N databases vs a mapped per-database task DAG, both run by Airflow.

The same T-SQL (the tutorial's idempotent ``IF NOT EXISTS … CREATE TABLE``) reaches N emulated
databases in two ways, the DAGs of ``benchmarks/dags/fanout_vs_mapped.py`` (parameterised by the
run's conf):

- ``elastic job``: one ``ElasticJobsStartJobOperator`` task starting a job whose target group is
  the whole target server (expanded to its N databases by the agent, which runs them in parallel
  up to its capacity) and waiting for it, polling every 0.5 s: in its worker slot, deferred to
  the triggerer, or deferrable with ``defer_after=30`` (in its slot until the job ends, as it does
  here within seconds; deferred only if it still runs after 30 s);
- ``mapped tasks`` (baseline): one task reading the databases from the conf, then one task mapped
  over them, each running the batch through ``ElasticJobsEmulatorSqlHook`` (the SQL data plane)
  as the same job user.

Two modes, each against its own emulator process and its own world (N databases):

- ``dag.test()`` (N = 100; smoke: 5, without the warm-up run): the in-slot elastic DAG and the
  mapped DAG in this process, with a throw-away SQLite metadata database; task instances run one
  after another;
- ``deployment`` (N = 100 and 1,000, ``--sizes``; smoke: 5, the elastic job deferred and with
  ``defer_after`` only, the stack starting while ``dag.test()`` runs): the local deployment of
  ``scripts/stack.sh`` (PostgreSQL, scheduler with the LocalExecutor, a triggerer, api-server,
  dag-processor; ``benchmarks/_deployment.py``), one stack for every size and approach, each DAG
  run triggered through the REST API; the elastic job in all three ways, after warm-up runs over
  one database. Besides wall time and task instances: task-instance seconds, the metadata-database
  rows written and the scheduler's "state mismatch" failures (see ``benchmarks/_deployment.py``).
  Skipped, with the reason, where PostgreSQL is not installed (outside CI).

Afterwards every database is checked to hold each approach's table, so no figure comes from a run
that silently did less; a failed task instance is counted and reported, not retried.

Run: ``python -m benchmarks.fanout_vs_mapped [--smoke] [--sizes 100 1000]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import parse_args, report

if TYPE_CHECKING:
    from scripts.stack import LocalStack
    from tests.integration.executions_world import World

ROOT = Path(__file__).resolve().parents[1]
ELASTIC_IN_SLOT = "elastic job, waiting in its slot (one task)"
ELASTIC_DEFERRED = "elastic job, deferred (one task)"
ELASTIC_DEFER_AFTER = "elastic job, deferrable with defer_after=30 s (one task)"
MAPPED = "mapped tasks, one per database (baseline)"
#: The elastic arms by variant (the keys of the DAG file's ``ELASTIC_DAGS``, and the suffix of their
#: figures in the summary): the approach and the table its job creates.
ELASTIC_VARIANTS = {
    "deferred": (ELASTIC_DEFERRED, "FanoutElasticDeferred"),
    "in_slot": (ELASTIC_IN_SLOT, "FanoutElasticInSlot"),
    "defer_after": (ELASTIC_DEFER_AFTER, "FanoutElasticDeferAfter"),
}
#: The variants that hold a worker slot while the job runs (here, with ``defer_after``, the whole
#: time): their task-instance seconds are slot seconds.
IN_SLOT_VARIANTS = ("in_slot", "defer_after")
DAG_TEST = "dag.test()"
DEPLOYMENT = "deployment"
SMOKE_SIZE = 5
DAG_TEST_SIZE = 100
DEPLOYMENT_SIZES = (100, 1000)


@dataclass
class Arm:
    """One approach: its DAG, the run's conf and the table its batch creates in every database."""

    approach: str
    dag_id: str
    conf: dict[str, Any]
    table: str


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


def connections(world: World) -> dict[str, str]:
    """The ARM connection (agent server) and the SQL data-plane connection (target server, job user),
    by connection id, as ``AIRFLOW_CONN_*`` JSON."""
    from benchmarks.dags.fanout_vs_mapped import ELASTIC_CONN_ID, SQL_CONN_ID
    from tests.integration.executions_world import JOB_PASSWORD
    from tests.integration.provider.execution_support import connection_json

    sql = world.emulator.sql_connection_json(world.target_server, "jobuser", JOB_PASSWORD, schema="master")
    return {ELASTIC_CONN_ID: connection_json(world), SQL_CONN_ID: sql}


def arms(world: World, variants: tuple[str, ...]) -> list[Arm]:
    """The elastic job in each of ``variants`` (keys of :data:`ELASTIC_VARIANTS`), then the mapped
    baseline."""
    from benchmarks.dags.fanout_vs_mapped import ELASTIC_DAGS, MAPPED_DAG
    from tests.integration.executions_world import TUTORIAL_SQL, fast_options

    group = world.target_group("WholeServer", [world.server_member()])
    chosen = []
    for variant in variants:
        approach, table = ELASTIC_VARIANTS[variant]
        job = world.job(table, [("Step1", group, TUTORIAL_SQL.format(table=table), fast_options())])
        chosen.append(Arm(approach, ELASTIC_DAGS[variant][0], {"job_name": job}, table))
    mapped_conf = {"databases": list(world.databases), "sql": TUTORIAL_SQL.format(table="FanoutMapped")}
    return [*chosen, Arm(MAPPED, MAPPED_DAG, mapped_conf, "FanoutMapped")]


def warm_up_arms(world: World, *, deferred: bool) -> list[Arm]:
    """Runs over the first database only, creating a table no measured run uses: the mapped DAG (and
    with ``deferred`` the deferred elastic DAG), so no measured run pays a component's first start."""
    from benchmarks.dags.fanout_vs_mapped import ELASTIC_DAGS, MAPPED_DAG
    from tests.integration.executions_world import TUTORIAL_SQL, fast_options

    sql = TUTORIAL_SQL.format(table="FanoutWarmUp")
    first = {"databases": list(world.databases[:1]), "sql": sql}
    chosen = [Arm("warm-up", MAPPED_DAG, first, "FanoutWarmUp")]
    if deferred:
        group = world.target_group("WarmUp", [world.database_member(world.databases[0])])
        job = world.job("FanoutWarmUp", [("Step1", group, sql, fast_options())])
        chosen.append(Arm("warm-up", ELASTIC_DAGS["deferred"][0], {"job_name": job}, "FanoutWarmUp"))
    return chosen


def build_world(emulator: Any, count: int) -> World:
    """A resource group whose target server has ``count`` databases (``Db0000`` ...), agent and job user."""
    from tests.integration.executions_world import World
    from tests.support.emulator import unique_name

    databases = tuple(f"Db{i:04d}" for i in range(count))
    return World(emulator, emulator.management_client(), unique_name("rg"), databases=databases).build()


def databases_with_table(world: World, table: str) -> int:
    """In how many target databases ``table`` exists (``sys.tables``)."""
    return sum(1 for database in world.databases if table in world.tables(database))


def measure(
    mode: str, world: World, chosen: list[Arm], timed: Callable[[Arm], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Run every arm with ``timed``, check every database; rows with the ratios to the mapped baseline."""
    results = {}
    for arm in chosen:
        load = os.getloadavg()[0]
        results[arm.approach] = {**timed(arm), "load_avg_1m": load}
    baseline = results[MAPPED]
    rows = []
    for arm in chosen:
        result = results[arm.approach]
        rows.append(
            {
                "mode": mode,
                "databases": len(world.databases),
                "approach": arm.approach,
                **result,
                "databases_with_table": databases_with_table(world, arm.table),
                "mapped_over_this_wall": baseline["wall_s"] / result["wall_s"],
            }
        )
    return rows


def dag_test_rows(count: int, *, warm_up: bool) -> list[dict[str, Any]]:
    """Both DAGs with ``dag.test()`` in this process over ``count`` databases.

    :param warm_up: first run the mapped DAG over one database (:func:`warm_up_arms`).
    """
    from tests.integration.provider.execution_support import serialize_dag
    from tests.support.emulator import EmulatorProcess

    with tempfile.TemporaryDirectory(prefix="elasticjobs-fanout-") as tmp:
        prepare_airflow_home(Path(tmp) / "airflow")
        from benchmarks.dags.fanout_vs_mapped import DAGS

        emulator = EmulatorProcess(
            Path(tmp) / "emulator", token=os.urandom(12).hex(), agent_provisioning_seconds=0.1
        )
        emulator.start()
        try:
            world = build_world(emulator, count)
            for conn_id, connection in connections(world).items():
                os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection
            chosen = arms(world, ("in_slot",))
            for dag in DAGS.values():
                serialize_dag(dag)

            def timed(arm: Arm) -> dict[str, Any]:
                started = time.perf_counter()
                dag_run = DAGS[arm.dag_id].test(run_conf=arm.conf)
                wall = time.perf_counter() - started
                instances = dag_run.get_task_instances()
                return {
                    "wall_s": wall,
                    "dag_run_state": str(dag_run.state),
                    "task_instances": len(instances),
                    "failed_task_instances": sum(1 for ti in instances if ti.state != "success"),
                }

            for arm in warm_up_arms(world, deferred=False) if warm_up else ():
                timed(arm)
            return measure(DAG_TEST, world, chosen, timed)
        finally:
            emulator.stop()


def deployment_rows(
    stack: LocalStack, sizes: list[int], variants: tuple[str, ...], *, warm_up: bool
) -> list[dict[str, Any]]:
    """Every approach on the running deployment ``stack``, for each size (one world each).

    :param variants: the elastic variants to run (keys of :data:`ELASTIC_VARIANTS`).
    :param warm_up: first run the deferred elastic and the mapped DAG over one database.
    """
    from benchmarks import _deployment
    from benchmarks.dags.fanout_vs_mapped import DAGS

    rows: list[dict[str, Any]] = []
    with _deployment.api_listing(stack, list(DAGS)) as api:
        for count in sizes:
            world = build_world(stack.emulator, count)
            for conn_id, connection in connections(world).items():
                api.request("DELETE", f"connections/{conn_id}")
                api.add_connection(conn_id, connection)
            chosen = arms(world, variants)
            timeout = 120 + 2 * count

            def timed(arm: Arm) -> dict[str, Any]:
                return _deployment.timed_run(stack, api, arm.dag_id, arm.conf, timeout)  # noqa: B023

            for arm in warm_up_arms(world, deferred=True) if warm_up else ():
                timed(arm)
            rows += measure(DEPLOYMENT, world, chosen, timed)
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per mode and size, each figure of the mapped baseline over the elastic job's (higher: the
    elastic job costs less), the failed task instances, and whether every database got every table."""
    figures: dict[str, Any] = {}
    for mode, count in dict.fromkeys((row["mode"], row["databases"]) for row in rows):
        by = {row["approach"]: row for row in rows if (row["mode"], row["databases"]) == (mode, count)}
        mapped = by[MAPPED]
        prefix = f"{mode.replace('.', '_').replace('()', '')}_{count}"
        for suffix, (approach, _table) in ELASTIC_VARIANTS.items():
            if approach not in by:
                continue
            elastic = by[approach]
            figures[f"{prefix}_wall_mapped_over_elastic_{suffix}"] = mapped["wall_s"] / elastic["wall_s"]
            if "metadata_rows_added" in elastic:
                figures[f"{prefix}_metadata_rows_mapped_over_elastic_{suffix}"] = (
                    mapped["metadata_rows_added"] / elastic["metadata_rows_added"]
                )
        elastic = by.get(ELASTIC_IN_SLOT) or by[ELASTIC_DEFERRED]
        ratio = mapped["task_instances"] / elastic["task_instances"]
        figures[f"{prefix}_task_instances_mapped_over_elastic"] = ratio
        for suffix in IN_SLOT_VARIANTS:
            in_slot = by.get(ELASTIC_VARIANTS[suffix][0])
            if "task_instance_s" in mapped and in_slot is not None:
                figures[f"{prefix}_task_instance_seconds_mapped_over_elastic_{suffix}"] = (
                    mapped["task_instance_s"] / in_slot["task_instance_s"]
                )
        for count_key in ("failed_task_instances", "state_mismatch_events"):
            if count_key in mapped:
                figures[f"{prefix}_{count_key}"] = sum(row[count_key] for row in by.values())
    figures["all_databases_written_by_every_approach"] = all(
        row["databases_with_table"] == row["databases"] for row in rows
    )
    return figures


def main() -> None:
    """Measure and report: ``dag.test()``, then the deployment (skipped, with the reason, without
    PostgreSQL). In smoke size the stack starts while ``dag.test()`` runs, and the elastic job runs
    deferred and with ``defer_after`` only (the in-slot variant is the ``dag.test()`` one); in full
    size the stack starts after, so it does not load the machine during the ``dag.test()`` figures."""
    from benchmarks import _deployment
    from scripts.stack.postgres import unavailable

    args = parse_args(__doc__.splitlines()[0], sizes=DEPLOYMENT_SIZES)
    missing = unavailable()
    if missing:
        print(f"deployment mode skipped: {missing}", flush=True)
    with ExitStack() as running, ThreadPoolExecutor(1) as background:
        state_dir = running.enter_context(tempfile.TemporaryDirectory(prefix="elasticjobs-fanout-stack-"))

        def start_stack() -> LocalStack:
            stack = _deployment.start(Path(state_dir))
            running.callback(stack.stop)
            return stack

        starting = background.submit(start_stack) if args.smoke and not missing else None
        rows = dag_test_rows(SMOKE_SIZE if args.smoke else DAG_TEST_SIZE, warm_up=not args.smoke)
        if not missing:
            stack = starting.result() if starting else start_stack()
            print(f"deployment up: {stack.timings}", flush=True)
            if args.smoke:
                rows += deployment_rows(stack, [SMOKE_SIZE], ("deferred", "defer_after"), warm_up=False)
            else:
                rows += deployment_rows(stack, args.sizes, tuple(ELASTIC_VARIANTS), warm_up=True)
    report("fanout_vs_mapped", rows, summary(rows), smoke=args.smoke, output=args.output)


if __name__ == "__main__":
    main()
