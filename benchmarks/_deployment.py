"""Benchmarks on the local deployment: ``scripts/stack``'s ``LocalStack``, DAG runs through its REST API.

:func:`start` starts the stack (PostgreSQL, the emulator, api-server, scheduler with the
LocalExecutor, dag-processor, triggerers) with ``benchmarks/dags`` as a second DAG bundle;
:func:`api_listing` waits until its api-server lists the DAGs asked for. :func:`timed_run`
triggers one DAG run through the REST API and measures it from the outside:

- ``wall_s``: from the trigger request until the client sees the run finished (polled every 0.2 s);
- ``task_instances``, ``failed_task_instances`` (any end state but success) from the REST API;
- ``state_mismatch_events``: ``log`` rows of the scheduler failing a task instance because its
  executor reported an end the task instance's state does not match (:data:`STATE_MISMATCH`),
  with the first five messages in ``state_mismatch_messages``;
- ``task_instance_s``: the sum over task instances of ``end_date - start_date`` (for a task that
  deferred, this includes its time in the triggerer, where it held no worker slot);
- ``metadata_rows_added``: rows the Airflow database holds after the run minus before (an exact
  ``count(*)`` of every table, summed), with the tables that gained rows in ``rows_added_by_table``.
  Rows inserted and deleted again within the run (the trigger row of a deferred task, once the
  triggerer has cleaned it up) do not count; the deployment's own background writes in the same
  interval do. (PostgreSQL's per-table insert counters, ``pg_stat_user_tables.n_tup_ins``, would
  count the former, but an idle backend publishes them only up to 10 s late.)
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from scripts.stack import LocalStack
from scripts.stack.postgres import DATABASE, USER
from tests.deployment.client import FINISHED, DeploymentApi, wait_until

DAGS = Path(__file__).parent / "dags"
POLL_S = 0.2
#: The ``log`` event the scheduler records when it fails a task instance whose executor reported an
#: end while the task instance looked queued or running (see docs/performance.md, the deferral race).
STATE_MISMATCH = "state mismatch"


def start(state_dir: Path, triggerers: int = 1) -> LocalStack:
    """Start the stack with ``benchmarks/dags`` as a second DAG bundle (stopped again on failure)."""
    return LocalStack(state_dir, dag_folders=[DAGS], triggerers=triggerers).start()


def api_listing(stack: LocalStack, dag_ids: list[str]) -> DeploymentApi:
    """The stack's REST API, once the api-server lists every DAG of ``dag_ids``."""
    api = DeploymentApi(stack.api_url, *stack.login)
    wait_until(lambda: set(dag_ids) <= set(api.dag_ids()), 120, f"the DAGs {dag_ids} to be listed", 1)
    return api


def _query(stack: LocalStack, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows ``sql`` answers in the Airflow database."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=stack.postgres.port, user=USER, dbname=DATABASE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()
    finally:
        connection.close()


def table_rows(stack: LocalStack) -> dict[str, int]:
    """Rows per table of the Airflow database (``public`` schema), counted."""
    tables = [
        name for (name,) in _query(stack, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    counts = " UNION ALL ".join(f'SELECT %s, count(*) FROM public."{name}"' for name in tables)
    return dict(_query(stack, counts, tuple(tables)))


def state_mismatches(stack: LocalStack) -> dict[int, str]:
    """The scheduler's :data:`STATE_MISMATCH` ``log`` rows so far: id and message (which executor
    state met which task-instance state)."""
    rows = _query(stack, "SELECT id, extra FROM log WHERE event = %s", (STATE_MISMATCH,))
    return {row_id: extra or "" for row_id, extra in rows}


def _seconds(ti: dict[str, Any]) -> float:
    if not ti.get("start_date") or not ti.get("end_date"):
        return 0.0
    return (datetime.fromisoformat(ti["end_date"]) - datetime.fromisoformat(ti["start_date"])).total_seconds()


def timed_run(
    stack: LocalStack, api: DeploymentApi, dag_id: str, conf: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """Trigger one run of ``dag_id`` with ``conf`` and measure it (see the module docstring)."""
    before, mismatched_before = table_rows(stack), state_mismatches(stack)
    started = time.perf_counter()
    run_id = api.trigger(dag_id, conf)
    run = wait_until(
        lambda: (r := api.dag_run(dag_id, run_id))["state"] in FINISHED and r,
        timeout,
        f"run {dag_id}/{run_id} to finish",
        POLL_S,
    )
    wall = time.perf_counter() - started
    after = table_rows(stack)
    mismatches = [
        text for row_id, text in sorted(state_mismatches(stack).items()) if row_id not in mismatched_before
    ]
    instances = api.task_instances(dag_id, run_id)
    added = {table: rows - before.get(table, 0) for table, rows in after.items()}
    return {
        "wall_s": wall,
        "dag_run_state": run["state"],
        "task_instances": len(instances),
        "failed_task_instances": sum(1 for ti in instances if ti["state"] != "success"),
        "state_mismatch_events": len(mismatches),
        "state_mismatch_messages": [text[:400] for text in mismatches[:5]],
        "task_instance_s": sum(_seconds(ti) for ti in instances),
        "metadata_rows_added": sum(added.values()),
        "rows_added_by_table": {table: rows for table, rows in added.items() if rows},
    }
