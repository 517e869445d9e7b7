"""OpenLineage facets of one job execution: datasets per target database, from the steps' T-SQL.

What is emitted, how datasets are named and what happens when a step cannot be parsed is in
``docs/lineage.md``. In short:

* each step of the job version the execution ran is parsed with the OpenLineage provider's SQL
  parser (:class:`~airflow.providers.openlineage.sqlparser.SQLParser`, dialect ``mssql``, default
  schema ``dbo``); the tables it reads become inputs and the tables it writes outputs, once per
  target database the step ran on (a table named ``db.schema.table`` keeps its database, on the
  target's server);
* the job agent's scripting variable ``$(job_execution_id)`` (the only one this project documents;
  the fleet query's step selects it) is not T-SQL: it is replaced by ``NULL`` before parsing;
* a step the parser cannot read (a parse error, or no table found: ``WAITFOR``, ``EXEC`` of a
  procedure or of dynamic SQL, DDL it does not know) contributes each of its target databases as an
  output dataset named after the database, and the run gets the standard ``extractionError`` facet
  naming the step and the reason;
* a step's ``output`` table (where the agent writes the first result set) is an output dataset;
* the run gets :class:`ElasticJobsExecutionRunFacet`: execution id, job, job version, lifecycle and
  the per-target outcome counts.

Names come from :mod:`airflow_elasticjobs.dataset_names`. This module imports the OpenLineage
provider at the top: only the start operator's ``get_openlineage_facets_on_complete`` imports it,
which the OpenLineage listener calls only when that provider (the ``openlineage`` extra) is installed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.sqlparser import SQLParser
from attrs import define
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import RunFacet, extraction_error_run

from airflow_elasticjobs.dataset_names import namespace, table_name
from airflow_elasticjobs.execution_state import ExecutionSummary, TargetResult, read_summary

log = logging.getLogger(__name__)

#: The OpenLineage SQL parser's name of the T-SQL dialect.
DIALECT = "mssql"
#: SQL Server's default schema, for tables a statement names without one.
DEFAULT_SCHEMA = "dbo"
#: Run facet keys.
EXECUTION_FACET = "elasticJobsExecution"
EXTRACTION_ERROR_FACET = "extractionError"

#: The agent's scripting variable in a step's command, any case (docs/lineage.md, "Agent variables").
AGENT_VARIABLE = re.compile(r"\$\(job_execution_id\)", re.IGNORECASE)
#: What :data:`AGENT_VARIABLE` becomes for the parser: an expression that names no table.
NEUTRAL_LITERAL = "NULL"

NO_TABLE = (
    "the SQL parser found no table in it (statements such as WAITFOR, EXEC of a procedure or of "
    "dynamic SQL hide the tables they use)"
)


@define
class ElasticJobsExecutionRunFacet(RunFacet):
    """The Elastic Jobs execution behind an Airflow task run.

    Field names are camelCase, as in OpenLineage's own facets.

    :param executionId: the root job execution id.
    :param jobName: the job.
    :param jobVersion: the job version the execution ran.
    :param lifecycle: the execution's lifecycle when the event was built.
    :param targetCounts: per-database target executions in each lifecycle, e.g. ``{"Succeeded": 3}``.
    :param stepCounts: the same per step: ``[{"stepId", "stepName", "counts"}]``.
    """

    executionId: str
    jobName: str
    jobVersion: int | None
    lifecycle: str
    targetCounts: dict[str, int]
    stepCounts: list[dict[str, Any]]


@dataclass(frozen=True)
class Table:
    """A table a step names; ``database`` ``None``: the target database the step runs on."""

    database: str | None
    schema: str
    name: str


@dataclass(frozen=True)
class StepTables:
    """What the parser found in one step's T-SQL.

    ``unparsed`` says why the tables are unknown or incomplete (``None``: fully parsed); the
    tables that were found are kept either way.
    """

    step_name: str
    inputs: tuple[Table, ...] = ()
    outputs: tuple[Table, ...] = ()
    unparsed: str | None = None


@dataclass(frozen=True)
class OutputTable:
    """A step's ``output``: the table its first result set is written to."""

    server: str
    database: str
    schema: str
    table: str


@dataclass(frozen=True)
class Step:
    """One step of the job version an execution ran: its parsed tables and its output table."""

    tables: StepTables
    output: OutputTable | None = None


@dataclass(frozen=True)
class DatasetName:
    """An OpenLineage dataset's namespace and name."""

    namespace: str
    name: str


def parse_step(step_name: str, sql: str | None) -> StepTables:
    """Parse one step's T-SQL into the tables it reads and writes (see the module docstring)."""
    if not sql or not sql.strip():
        return StepTables(step_name, unparsed="the step has no T-SQL")
    meta = SQLParser(dialect=DIALECT, default_schema=DEFAULT_SCHEMA).parse(without_agent_variables(sql))
    if meta is None:
        return StepTables(step_name, unparsed="the SQL parser returned no result")
    inputs = tuple(_table(t) for t in meta.in_tables)
    outputs = tuple(_table(t) for t in meta.out_tables)
    unparsed = None
    if meta.errors:
        unparsed = "; ".join(f"statement {e.index + 1}: {e.message}" for e in meta.errors)
    elif not inputs and not outputs:
        unparsed = NO_TABLE
    return StepTables(step_name, inputs, outputs, unparsed)


def without_agent_variables(sql: str) -> str:
    """``sql`` with every ``$(job_execution_id)`` replaced by ``NULL``, so the SQL parser can read it.

    The agent substitutes the variable textually before running the step; its value is no table,
    so a literal keeps the statement's tables as they are.
    """
    return AGENT_VARIABLE.sub(NEUTRAL_LITERAL, sql)


def _table(meta: Any) -> Table:
    return Table(meta.database or None, meta.schema or DEFAULT_SCHEMA, meta.name)


def read_step(step: Any) -> Step:
    """A step from an SDK ``JobStep`` (of a job version)."""
    props = step.properties
    action = props.action
    tables = parse_step(step.name, action.value if action is not None else None)
    out = props.output
    if out is None:
        return Step(tables)
    output = OutputTable(
        out.server_name, out.database_name, out.schema_name or DEFAULT_SCHEMA, out.table_name
    )
    return Step(tables, output)


def step_datasets(step: Step, targets: Iterable[TargetResult]) -> tuple[list[DatasetName], list[DatasetName]]:
    """Inputs and outputs of one step over its per-database ``targets``, plus its output table."""
    inputs: list[DatasetName] = []
    outputs: list[DatasetName] = []
    for target in targets:
        server, database = target.server_name or "", target.database_name or ""
        space = namespace(server)
        inputs += [DatasetName(space, _name(t, database)) for t in step.tables.inputs]
        outputs += [DatasetName(space, _name(t, database)) for t in step.tables.outputs]
        if step.tables.unparsed:
            outputs.append(DatasetName(space, database))
    if step.output is not None:
        out = step.output
        outputs.append(DatasetName(namespace(out.server), table_name(out.database, out.schema, out.table)))
    return inputs, outputs


def _name(table: Table, target_database: str) -> str:
    return table_name(table.database or target_database, table.schema, table.name)


def _step_targets(summary: ExecutionSummary, step_name: str) -> list[TargetResult]:
    wanted = step_name.lower()
    return [t for t in summary.database_targets if (t.step_name or "").lower() == wanted]


def operator_lineage(
    summary: ExecutionSummary, job_version: int | None, steps: Sequence[Step]
) -> OperatorLineage:
    """The OpenLineage datasets and run facets of an execution of ``steps`` (in step order)."""
    inputs: dict[DatasetName, None] = {}
    outputs: dict[DatasetName, None] = {}
    errors = []
    for number, step in enumerate(steps, start=1):
        step_inputs, step_outputs = step_datasets(step, _step_targets(summary, step.tables.step_name))
        inputs.update(dict.fromkeys(step_inputs))
        outputs.update(dict.fromkeys(step_outputs))
        if step.tables.unparsed:
            log.warning(
                "Lineage of step %r of job %r is incomplete: %s; its target databases are reported as "
                "output datasets instead",
                step.tables.step_name,
                summary.job_name,
                step.tables.unparsed,
            )
            errors.append(
                extraction_error_run.Error(
                    errorMessage=f"step {step.tables.step_name!r} not parsed: {step.tables.unparsed}",
                    task=step.tables.step_name,
                    taskNumber=number,
                )
            )
    run_facets: dict[str, Any] = {EXECUTION_FACET: execution_facet(summary, job_version)}
    if errors:
        run_facets[EXTRACTION_ERROR_FACET] = extraction_error_run.ExtractionErrorRunFacet(
            totalTasks=len(steps), failedTasks=len(errors), errors=errors
        )
    return OperatorLineage(
        inputs=[Dataset(namespace=d.namespace, name=d.name) for d in inputs],
        outputs=[Dataset(namespace=d.namespace, name=d.name) for d in outputs],
        run_facets=run_facets,
    )


def execution_facet(summary: ExecutionSummary, job_version: int | None) -> ElasticJobsExecutionRunFacet:
    """The :class:`ElasticJobsExecutionRunFacet` of ``summary``."""
    return ElasticJobsExecutionRunFacet(
        executionId=summary.execution_id,
        jobName=summary.job_name,
        jobVersion=job_version,
        lifecycle=summary.lifecycle.value,
        targetCounts=summary.counts(),
        stepCounts=[
            {"stepId": s["step_id"], "stepName": s["step_name"], "counts": s["counts"]}
            for s in summary.step_counts()
        ],
    )


def execution_lineage(hook: Any, job_name: str, execution_id: str) -> OperatorLineage | None:
    """Read the execution, its target executions and its job version's steps; build the lineage.

    The steps are those of the version the execution ran (the job's current steps only if ARM names
    no version). ``None`` when the execution no longer exists (logged).
    """
    execution = hook.get_execution(job_name, execution_id)
    if execution is None:
        log.warning("No lineage: execution %s of job %r no longer exists", execution_id, job_name)
        return None
    summary = read_summary(hook, job_name, execution)
    job_version = execution.job_version
    steps = (
        hook.list_version_steps(job_name, job_version)
        if job_version is not None
        else hook.list_steps(job_name)
    )
    return operator_lineage(summary, job_version, [read_step(s) for s in steps])
