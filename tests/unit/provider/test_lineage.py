"""OpenLineage mapping of an execution: T-SQL parsed per step, datasets per target database, fallback."""

from __future__ import annotations

import json

import pytest
from azure.mgmt.sql import models
from openlineage.client.serde import Serde

from airflow_elasticjobs import lineage
from airflow_elasticjobs.dataset_names import namespace
from airflow_elasticjobs.execution_state import ExecutionSummary, Lifecycle, TargetResult
from airflow_elasticjobs.fleet_query_sql import step_command
from airflow_elasticjobs.lineage import DatasetName, OutputTable, Step, StepTables, Table, parse_step

SERVER = "targetsrv"
SPACE = namespace(SERVER)  # mssql://targetsrv.database.windows.net:1433


def target(step: str, database: str | None, lifecycle: str = "Succeeded", step_id: int = 1) -> TargetResult:
    return TargetResult(step_id, step, SERVER, database, lifecycle)


# -- parsing -----------------------------------------------------------------------------------
def test_reads_and_writes_with_default_schema_dbo():
    parsed = parse_step("copy", "INSERT INTO dbo.OrdersCopy (id) SELECT id FROM Orders")
    assert parsed == StepTables(
        "copy", inputs=(Table(None, "dbo", "Orders"),), outputs=(Table(None, "dbo", "OrdersCopy"),)
    )


def test_three_part_and_bracketed_names_keep_their_database_and_schema():
    parsed = parse_step("x", "INSERT INTO Archive.sales.[Orders] SELECT * FROM [Live].[sales].[Orders]")
    assert parsed.inputs == (Table("Live", "sales", "Orders"),)
    assert parsed.outputs == (Table("Archive", "sales", "Orders"),)
    assert parsed.unparsed is None


@pytest.mark.parametrize(
    "sql",
    ["WAITFOR DELAY '00:00:05'", "EXEC dbo.usp_Load", "EXEC sp_executesql N'INSERT INTO t SELECT 1'"],
    ids=["waitfor", "procedure", "dynamic-sql"],
)
def test_statements_hiding_their_tables_are_unparsed(sql):
    parsed = parse_step("hidden", sql)
    assert (parsed.inputs, parsed.outputs) == ((), ())
    # openlineage-sql 1.54 parses these and finds no table; older releases report a parse error
    # instead (1.37, as of Airflow 3.0.6's release: all three; 1.45: WAITFOR). Either way the step
    # says why it has no tables (docs/lineage.md).
    assert parsed.unparsed == lineage.NO_TABLE or parsed.unparsed.startswith("statement 1: ")


def test_a_parse_error_names_the_statement_and_the_parser_message():
    parsed = parse_step("bad", "SELEC * FROM t")
    assert parsed.unparsed is not None
    assert parsed.unparsed.startswith("statement 1: ")
    assert "SELEC" in parsed.unparsed


def test_the_fleet_query_step_with_the_agent_variable_reads_its_tables_and_writes_none():
    # The fleet query's real step T-SQL starts with `SELECT $(job_execution_id) AS ...`, which is
    # not T-SQL: without replacing the variable the parser fails at `(` and the read-only query
    # would report every target database as an output (docs/lineage.md, "Agent variables").
    sql = step_command("SELECT o.id FROM dbo.Orders AS o JOIN Sales.sales.Customers AS c ON c.id = o.cid")
    assert sql.startswith("SELECT $(job_execution_id) AS ")
    assert parse_step("fleet_query", sql) == StepTables(
        "fleet_query", inputs=(Table(None, "dbo", "Orders"), Table("Sales", "sales", "Customers"))
    )


@pytest.mark.parametrize(
    ("sql", "neutral"),
    [
        ("SELECT $(job_execution_id) AS x FROM t", "SELECT NULL AS x FROM t"),
        ("SELECT $(JOB_EXECUTION_ID), $(Job_Execution_Id)", "SELECT NULL, NULL"),
        ("INSERT INTO log VALUES ('$(job_execution_id)')", "INSERT INTO log VALUES ('NULL')"),
        # Not the documented variable: left for the parser, which reports it (docs/lineage.md).
        ("SELECT $(job_id), $(job_execution_id_x), $ (job_execution_id)", None),
    ],
    ids=["select", "any-case", "in-a-string", "other-tokens"],
)
def test_only_the_documented_agent_variable_is_replaced_by_null(sql, neutral):
    assert lineage.without_agent_variables(sql) == (neutral or sql)


@pytest.mark.parametrize("sql", [None, "", "  \n"])
def test_a_step_without_sql_is_unparsed(sql):
    assert parse_step("empty", sql).unparsed == "the step has no T-SQL"


def test_read_step_from_the_sdk_model_defaults_the_output_schema_to_dbo():
    step = models.JobStep(
        properties=models.JobStepProperties(
            step_id=1,
            action=models.JobStepAction(value="SELECT COUNT(*) AS n FROM Orders"),
            output=models.JobStepOutput(
                server_name="ResultsSrv", database_name="Results", table_name="Counts", credential="c"
            ),
        )
    )
    step.name = "collect"  # read-only in the model, set by the server
    read = lineage.read_step(step)
    assert read.tables == StepTables("collect", inputs=(Table(None, "dbo", "Orders"),))
    assert read.output == OutputTable("ResultsSrv", "Results", "dbo", "Counts")


# -- datasets ----------------------------------------------------------------------------------
def test_tables_repeat_per_target_database_and_the_output_table_once():
    step = Step(
        StepTables("copy", inputs=(Table(None, "dbo", "Orders"), Table("Ref", "dbo", "Rates"))),
        OutputTable("ResultsSrv", "Results", "dbo", "Counts"),
    )
    inputs, outputs = lineage.step_datasets(step, [target("copy", "Db1"), target("copy", "Db2")])
    assert inputs == [
        DatasetName(SPACE, "Db1.dbo.Orders"),
        DatasetName(SPACE, "Ref.dbo.Rates"),
        DatasetName(SPACE, "Db2.dbo.Orders"),
        DatasetName(SPACE, "Ref.dbo.Rates"),
    ]
    assert outputs == [DatasetName(namespace("ResultsSrv"), "Results.dbo.Counts")]


def test_an_unparsed_step_reports_each_target_database_as_an_output():
    step = Step(StepTables("pause", unparsed=lineage.NO_TABLE))
    inputs, outputs = lineage.step_datasets(step, [target("pause", "Db1"), target("pause", "Db2")])
    assert inputs == []
    assert outputs == [DatasetName(SPACE, "Db1"), DatasetName(SPACE, "Db2")]


def summary(*targets: TargetResult) -> ExecutionSummary:
    return ExecutionSummary("exec-1", "Job1", Lifecycle.SUCCEEDED, targets)


COPY = Step(
    StepTables("Copy", inputs=(Table(None, "dbo", "Orders"),), outputs=(Table(None, "dbo", "OrdersCopy"),))
)
PAUSE = Step(StepTables("pause", unparsed=lineage.NO_TABLE))


def test_operator_lineage_matches_targets_to_steps_and_deduplicates():
    result = lineage.operator_lineage(
        summary(
            target("copy", "Db1"),  # step names match case-insensitively, as in ARM
            target("copy", "Db2", "Failed"),
            target("copy", None),  # the server's expansion: not a database target
            target("pause", "Db1", step_id=2),
        ),
        job_version=3,
        steps=[COPY, PAUSE, COPY],
    )
    assert [(d.namespace, d.name) for d in result.inputs] == [
        (SPACE, "Db1.dbo.Orders"),
        (SPACE, "Db2.dbo.Orders"),
    ]
    assert [(d.namespace, d.name) for d in result.outputs] == [
        (SPACE, "Db1.dbo.OrdersCopy"),
        (SPACE, "Db2.dbo.OrdersCopy"),
        (SPACE, "Db1"),
    ]
    facet = result.run_facets[lineage.EXECUTION_FACET]
    assert (facet.executionId, facet.jobName, facet.jobVersion, facet.lifecycle) == (
        "exec-1",
        "Job1",
        3,
        "Succeeded",
    )
    assert facet.targetCounts == {"Succeeded": 2, "Failed": 1}
    assert facet.stepCounts == [
        {"stepId": 1, "stepName": "copy", "counts": {"Succeeded": 1, "Failed": 1}},
        {"stepId": 2, "stepName": "pause", "counts": {"Succeeded": 1}},
    ]
    error = result.run_facets[lineage.EXTRACTION_ERROR_FACET]
    assert (error.totalTasks, error.failedTasks) == (3, 1)
    assert [(e.task, e.taskNumber) for e in error.errors] == [("pause", 2)]
    assert error.errors[0].errorMessage == f"step 'pause' not parsed: {lineage.NO_TABLE}"


def test_no_extraction_error_facet_when_every_step_parsed(caplog):
    result = lineage.operator_lineage(summary(target("Copy", "Db1")), job_version=1, steps=[COPY])
    assert set(result.run_facets) == {lineage.EXECUTION_FACET}
    assert "incomplete" not in caplog.text


def test_an_unparsed_step_is_logged(caplog):
    lineage.operator_lineage(summary(target("pause", "Db1")), job_version=1, steps=[PAUSE])
    assert "Lineage of step 'pause' of job 'Job1' is incomplete" in caplog.text


def test_the_execution_facet_serializes_with_its_schema_url():
    facet = lineage.execution_facet(summary(target("Copy", "Db1")), job_version=2)
    data = json.loads(Serde.to_json(facet))
    assert data["_schemaURL"] == facet._schemaURL
    assert data["_schemaURL"].startswith("https://")
    assert data["executionId"] == "exec-1"
    assert data["targetCounts"] == {"Succeeded": 1}


# -- the operator's method -----------------------------------------------------------------------
def test_no_lineage_before_an_execution_was_started():
    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator

    operator = ElasticJobsStartJobOperator(task_id="start", job_name="Job1")
    assert operator.get_openlineage_facets_on_complete(task_instance=None) is None
