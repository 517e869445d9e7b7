"""Fleet queries: run one SELECT on every database of a target group and get the rows back.

Azure's way is a job step with an output table: the agent appends each target's first result set
to ``[schema].[table]`` of an output database. :class:`ElasticJobsFleetQueryOperator` ensures such a
job, starts and waits for it exactly like :class:`ElasticJobsStartJobOperator` (which it extends:
re-attach on retry, deferral, cancel on kill or timeout, ``fail_on``), then reads the rows of that
execution only through a SQL connection. The guide is ``docs/fleet-queries.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.compat import AirflowException
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.validation import (
    check_conn_id,
    check_name,
    check_positive_int,
    check_server_name,
    invalid,
    is_templated,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_elasticjobs.definitions import JobSpec, StepOutput
    from airflow_elasticjobs.execution_state import ExecutionSummary

# ``definitions``, ``reconcile``, the SQL and file helpers are imported where used: a DAG file pays
# only for this module at parse time (benchmarks/import_cost.py).

STEP_OPTIONS = (
    "timeout_seconds",
    "retry_attempts",
    "initial_retry_interval_seconds",
    "maximum_retry_interval_seconds",
    "retry_interval_backoff_multiplier",
)
"""Keys ``step_options`` may set (the step's ``executionOptions``, see ``StepSpec``)."""
_FETCH_BATCH = 10_000


class ElasticJobsFleetQueryOperator(ElasticJobsStartJobOperator):
    """Run a SELECT on every database of a target group; return the rows of this execution.

    Reconciles a one-step job (the wrapped query, ``target_group``, ``credential``, ``output_table``),
    starts it once per task instance and waits, then reads this execution's rows back from the
    output table through ``output_conn_id``. Each row carries ``target_server_name`` and
    ``target_database_name``; the query must not return those names, ``job_execution_id`` or
    ``internal_execution_id``, must be one SELECT usable as a derived table (every column named, no
    leading CTE, no ``ORDER BY`` without ``TOP``) and its column types must be the same on every
    database.

    Example::

        ElasticJobsFleetQueryOperator(
            task_id="database_sizes",
            job_name="FleetDatabaseSizes",
            query="SELECT SUM(size) * 8 AS size_kb FROM sys.database_files",
            target_group="AllDatabases",
            credential="jobuser",
            output_table={"server_name": "agent-server", "database_name": "JobResults",
                          "table_name": "DatabaseSizes", "credential": "outputuser"},
            output_conn_id="job_results_sql",
            output_path="s3://reports/sizes/{{ ds }}.csv",
        )

    :param job_name: the job this operator owns (created or updated to exactly this one step).
    :param query: the SELECT (templated; a ``.sql`` file path is read as a template).
    :param target_group: target group name (must exist; see ``ElasticJobsTargetGroupOperator``).
    :param credential: job credential the query runs as; ``None`` for an agent with a managed identity.
    :param output_table: ``StepOutput`` or dict: ``server_name``, ``database_name``, ``table_name``,
        optional ``schema_name`` (``dbo``), ``credential`` (the agent writes the rows as it; default:
        ``credential``), ``subscription_id``, ``resource_group_name``.
    :param output_conn_id: SQL connection to the output database's server that can SELECT the table:
        ``odbc`` on Azure, ``elastic_jobs_emulator_sql`` locally; any connection whose hook is a
        ``DbApiHook`` taking ``database=``.
    :param output_path: write all rows to this ``ObjectStoragePath`` (or URL string) instead of XCom.
    :param output_format: ``csv`` or ``parquet`` (pyarrow, extra ``parquet``); ``None``: by the path's
        suffix (``.csv``, ``.parquet``, ``.pq``).
    :param max_xcom_rows: without ``output_path``, more rows than this fail the task (default 1000).
        A retry re-reads the same, finished execution without running the query again.
    :param step_name: the job's step name (default ``fleet_query``).
    :param step_options: the step's execution options (``timeout_seconds``, ``retry_attempts``, …).
    :param description: the job's description.

    Waiting and failing are :class:`ElasticJobsStartJobOperator`'s (``deferrable``, ``timeout``,
    ``fail_on`` …). With ``fail_on`` not containing ``Failed``, a run where some targets failed
    returns the rows of the others, and ``targets`` in XCom lists the failures.

    XCom: the start operator's summary plus ``row_count`` and either ``rows`` (list of dicts) or
    ``path`` and ``format``.
    """

    template_fields: Sequence[str] = (
        *ElasticJobsStartJobOperator.template_fields,
        "query",
        "target_group",
        "credential",
        "output_table",
        "output_conn_id",
        "output_path",
        "output_format",
    )
    template_ext: Sequence[str] = (".sql",)

    def __init__(
        self,
        *,
        job_name: str,
        query: str,
        target_group: str,
        output_table: StepOutput | Mapping[str, Any],
        output_conn_id: str,
        credential: str | None = None,
        output_path: Any = None,
        output_format: str | None = None,
        max_xcom_rows: int = 1000,
        step_name: str = "fleet_query",
        step_options: Mapping[str, Any] | None = None,
        description: str = "Fleet query (airflow-elasticjobs)",
        **kwargs: Any,
    ) -> None:
        self.query = query
        self.target_group = target_group
        self.credential = credential
        self.output_table = output_table
        self.output_conn_id = output_conn_id
        self.output_path = output_path
        self.output_format = output_format
        self.max_xcom_rows = max_xcom_rows
        self.step_name = step_name
        self.step_options = dict(step_options or {})
        self.description = description
        super().__init__(job_name=job_name, wait_for_completion=True, **kwargs)

    def validate(self) -> None:
        """Everything checkable locally, before anything is created remotely."""
        super().validate()
        from airflow_elasticjobs.definitions import StepSpec
        from airflow_elasticjobs.fleet_query_sql import normalize_query
        from airflow_elasticjobs.fleet_results import check_writer_available, result_format

        normalize_query(self.query)
        check_name("target_group", self.target_group)
        check_name("credential", self.credential, required=False)
        check_name("step_name", self.step_name)
        check_conn_id("output_conn_id", self.output_conn_id)
        if self.max_xcom_rows is None:
            raise invalid("max_xcom_rows", None, "give a whole number ≥ 1, or set output_path for any size")
        check_positive_int("max_xcom_rows", self.max_xcom_rows)
        unknown = sorted(set(self.step_options) - set(STEP_OPTIONS))
        if unknown:
            raise invalid(
                "step_options", self.step_options, f"remove {unknown}; allowed: {list(STEP_OPTIONS)}"
            )
        StepSpec("step", "SELECT 1", "group", **self.step_options).validate("step_options")
        if not is_templated(self.output_table):
            self._output()
        if self.output_path is None:
            if self.output_format is not None:
                raise invalid(
                    "output_format", self.output_format, "set output_path too, or drop output_format"
                )
        elif not any(is_templated(v) for v in (self.output_path, self.output_format)):
            check_writer_available(result_format(self.output_path, self.output_format))

    def _output(self) -> StepOutput:
        """``output_table`` coerced and checked; its credential defaults to ``credential``."""
        from dataclasses import replace

        from airflow_elasticjobs.definitions import StepOutput, coerce

        output = coerce(StepOutput, self.output_table, "output_table")
        check_server_name("output_table.server_name", output.server_name)
        check_name("output_table.database_name", output.database_name)
        check_name("output_table.schema_name", output.schema_name)
        check_name("output_table.table_name", output.table_name)
        check_name("output_table.credential", output.credential, required=False)
        if output.credential is None and self.credential is not None:
            output = replace(output, credential=self.credential)
        return output

    def job_spec(self) -> JobSpec:
        """The one-step job: the wrapped query writing to the output table."""
        from airflow_elasticjobs.definitions import build_job
        from airflow_elasticjobs.fleet_query_sql import normalize_query, step_command

        step = {
            "name": self.step_name,
            "command": step_command(normalize_query(self.query)),
            "target_group": self.target_group,
            "credential": self.credential,
            "output": self._output(),
            **self.step_options,
        }
        return build_job(self.job_name, [step], self.description)

    # -- run: ensure the job, then the start operator's start-and-wait --------------------------------
    def run(self, context: Context) -> dict[str, Any]:
        """Reconcile the job (only differences are written), then start or re-attach and wait."""
        from airflow_elasticjobs.reconcile import reconcile_definition

        for change in reconcile_definition(self.hook, self.job_spec()).changes:
            self.log.info("%s", change)
        return super().run(context)

    def _report(self, context: Context, summary: ExecutionSummary) -> dict[str, Any]:
        """The start operator's report (it fails per ``fail_on``), plus this execution's rows."""
        result = super()._report(context, summary)
        return {**result, **self._collect(summary.execution_id)}

    # -- reading the rows back -----------------------------------------------------------------------
    def _collect(self, execution_id: str) -> dict[str, Any]:
        """Rows of ``execution_id`` to XCom (bounded) or to ``output_path``; ``row_count`` either way."""
        from airflow_elasticjobs.fleet_query_sql import HIDDEN_COLUMNS
        from airflow_elasticjobs.fleet_results import RowSource, result_format, write_rows

        output = self._output()
        hook, sql = self._read_back(output)
        with closing(hook.get_conn()) as conn, closing(conn.cursor()) as cursor:
            try:
                cursor.execute(sql, (execution_id,))
            except Exception as err:  # the driver's own error class (pyodbc, the emulator's, …)
                raise AirflowException(
                    f"Could not read the rows of execution {execution_id} from "
                    f"[{output.schema_name}].[{output.table_name}] in database {output.database_name!r} "
                    f"through connection {self.output_conn_id!r}: {str(err).rstrip('.')}. The table is "
                    "created by the first target that succeeds; check that the login can SELECT it."
                ) from err
            columns = [d[0] for d in cursor.description]
            if self.output_path is None:
                rows = cursor.fetchmany(self.max_xcom_rows + 1)
                if len(rows) > self.max_xcom_rows:
                    raise AirflowException(
                        f"The fleet query returned more than max_xcom_rows={self.max_xcom_rows} rows "
                        f"(execution {execution_id}); raise max_xcom_rows or set output_path to write "
                        "every row to a file. A retry reads the same execution's rows again without "
                        "running the query."
                    )
                source = RowSource(columns, [rows], HIDDEN_COLUMNS)
                dicts = source.dicts()
                self.log.info("Read %d rows of execution %s", len(dicts), execution_id)
                return {"row_count": len(dicts), "rows": dicts}
            path = self._path()
            fmt = result_format(path, self.output_format)
            batches = iter(lambda: cursor.fetchmany(_FETCH_BATCH), [])
            count = write_rows(path, fmt, RowSource(columns, batches, HIDDEN_COLUMNS))
        self.log.info("Wrote %d rows of execution %s to %s (%s)", count, execution_id, path, fmt)
        return {"row_count": count, "path": str(path), "format": fmt}

    def _read_back(self, output: StepOutput) -> tuple[Any, str]:
        """The hook of ``output_conn_id`` on the output database, and its SELECT of one execution's rows."""
        from airflow_elasticjobs.fleet_query_sql import read_back_sql

        hook = self._sql_hook(output.database_name)
        return hook, read_back_sql(output.schema_name, output.table_name, _placeholder(hook))

    def _path(self) -> Any:
        from airflow.sdk import ObjectStoragePath

        path = self.output_path
        return path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(str(path))

    def _sql_hook(self, database: str) -> Any:
        """The ``DbApiHook`` of ``output_conn_id`` on ``database`` (whatever the connection type)."""
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        from airflow_elasticjobs.hooks.connection import get_connection

        connection = get_connection("output_conn_id", self.output_conn_id)
        hook = connection.get_hook(hook_params={"database": database})
        if not isinstance(hook, DbApiHook):
            raise invalid(
                "output_conn_id",
                self.output_conn_id,
                f"connection type {connection.conn_type!r} has no SQL (DB-API) hook; use an 'odbc' "
                "connection to the output server (Azure) or 'elastic_jobs_emulator_sql' (emulator)",
            )
        return hook


def _placeholder(hook: Any) -> str:
    """The parameter marker of SQL run through ``hook``.

    ``OdbcHook.placeholder`` is ``DbApiHook``'s default ``%s`` unless the connection's extra sets
    ``placeholder``, but pyodbc binds ``?`` only (its PEP 249 ``paramstyle`` is ``qmark``). The ODBC
    module is looked up, not imported: a hook of it exists only once it is loaded.
    """
    odbc = sys.modules.get("airflow.providers.odbc.hooks.odbc")
    if odbc is not None and isinstance(hook, odbc.OdbcHook) and not hook.connection_extra.get("placeholder"):
        return "?"
    return hook.placeholder
