"""Fleet query arguments fail locally, naming the field and the fix, before anything remote."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from airflow_elasticjobs.fleet_query_sql import read_back_sql, step_command
from airflow_elasticjobs.operators.fleet_query import ElasticJobsFleetQueryOperator
from airflow_elasticjobs.validation import ElasticJobsValidationError

OUTPUT = {"server_name": "results-srv", "database_name": "Results", "table_name": "Rows"}
GOOD: dict[str, Any] = {
    "job_name": "Fleet",
    "query": "SELECT DB_NAME() AS db",
    "target_group": "AllDatabases",
    "credential": "jobuser",
    "output_table": OUTPUT,
    "output_conn_id": "results_sql",
}

# (overrides, text naming the field, text of the fix)
BAD = [
    ({"query": ""}, "query", "give the SELECT"),
    ({"query": " ;; "}, "query", "not only semicolons"),
    ({"query": "WITH x AS (SELECT 1 AS a) SELECT a FROM x"}, "query", "inline the CTE"),
    ({"query": "SELECT 1 AS a\nGO\n"}, "query", "remove GO"),
    ({"target_group": ""}, "target_group", "non-empty name"),
    ({"credential": "a/b"}, "credential", "remove the characters"),
    ({"output_conn_id": " "}, "output_conn_id", "Airflow connection"),
    ({"output_table": {"server_name": "s", "database_name": "d"}}, "output_table", "required keys"),
    ({"output_table": {**OUTPUT, "table_name": "a/b"}}, "output_table.table_name", "remove the characters"),
    ({"output_table": {**OUTPUT, "colour": "red"}}, "output_table", "remove unknown keys"),
    ({"output_table": {**OUTPUT, "server_name": "Bad_Server"}}, "output_table.server_name", ""),
    ({"output_path": "file:///tmp/rows.txt"}, "output_format", "end the path in"),
    ({"output_path": "file:///tmp/rows.csv", "output_format": "xlsx"}, "output_format", "csv, parquet"),
    ({"output_format": "csv"}, "output_format", "set output_path"),
    ({"max_xcom_rows": 0}, "max_xcom_rows", "whole number"),
    ({"max_xcom_rows": None}, "max_xcom_rows", "output_path"),
    ({"step_options": {"retries": 1}}, "step_options", "allowed"),
    ({"step_options": {"retry_attempts": -1}}, "retry_attempts", "whole number"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), BAD, ids=lambda v: str(v)[:50])
def test_bad_argument_fails_at_parse_time(
    overrides: dict[str, Any], field: str, fix: str, no_network
) -> None:
    with pytest.raises(ElasticJobsValidationError) as caught:
        ElasticJobsFleetQueryOperator(task_id="t", **{**GOOD, **overrides})
    assert field in str(caught.value)
    assert fix in str(caught.value)
    assert no_network == []


def test_parquet_without_pyarrow_fails_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what find_spec sees when it is not installed
    with pytest.raises(ElasticJobsValidationError, match=r"output_format.*airflow-elasticjobs\[parquet\]"):
        ElasticJobsFleetQueryOperator(task_id="t", **GOOD, output_path="file:///tmp/rows.parquet")
    ElasticJobsFleetQueryOperator(task_id="t", **GOOD, output_path="file:///tmp/rows.csv")


def test_rendered_template_is_validated_in_execute_before_any_call(no_network: list[Any]) -> None:
    op = ElasticJobsFleetQueryOperator(task_id="t", **{**GOOD, "query": "{{ params.query }}"})
    op.query = "   "  # what the template rendered to
    with pytest.raises(ElasticJobsValidationError, match="query"):
        op.execute(context={})  # type: ignore[arg-type]
    assert no_network == []


def test_the_job_has_one_step_writing_the_wrapped_query_to_the_output_table() -> None:
    op = ElasticJobsFleetQueryOperator(
        task_id="t", **{**GOOD, "query": "SELECT 1 AS a;\n"}, step_options={"retry_attempts": 0}
    )
    [step] = op.job_spec().steps
    assert step.command == step_command("SELECT 1 AS a")
    assert step.target_group == "AllDatabases"
    assert step.retry_attempts == 0
    assert step.output.credential == "jobuser"  # defaults to the step's credential
    assert step.output.table_name == "Rows"


def test_step_command_puts_the_execution_server_and_database_before_the_users_columns() -> None:
    command = step_command("SELECT name FROM sys.tables")
    assert command.startswith(
        "SELECT $(job_execution_id) AS [job_execution_id], @@SERVERNAME AS [target_server_name], "
        "DB_NAME() AS [target_database_name], [fleet_query].*"
    )
    assert "FROM (\nSELECT name FROM sys.tables\n) AS [fleet_query]" in command


def test_read_back_selects_one_execution_with_quoted_names() -> None:
    assert read_back_sql("dbo", "odd]name", "?") == (
        "SELECT * FROM [dbo].[odd]]name] WHERE [job_execution_id] = ? "
        "ORDER BY [target_server_name], [target_database_name]"
    )


def test_a_templated_path_is_checked_once_rendered() -> None:
    op = ElasticJobsFleetQueryOperator(
        task_id="t", **GOOD, output_path="{{ params.dir }}/rows", output_format="parquet"
    )
    assert {"output_path", "output_format", "query", "output_table"} <= set(op.template_fields)
    op.output_path = "file:///tmp/rows"
    op.output_format = None
    with pytest.raises(ElasticJobsValidationError, match="output_format"):
        op.validate()
