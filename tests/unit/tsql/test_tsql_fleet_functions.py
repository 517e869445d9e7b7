"""What fleet queries need of the T-SQL subset: ``@@SERVERNAME``, ``sys.database_files`` and the
job agent's ``$(job_execution_id)`` substitution."""

from __future__ import annotations

import pytest

from elasticjobs_emulator import tsql
from elasticjobs_emulator.tsql.job_variables import substitute_job_variables

SIZE_SQL = "SELECT SUM(CAST([size] AS BIGINT)) * 8 AS kb FROM sys.database_files WHERE [type_desc] = 'ROWS'"


def test_servername_is_the_logical_server_name_also_inside_a_derived_table(server) -> None:
    rows = server.rows("TargetDb1", "SELECT @@SERVERNAME AS s, q.* FROM (SELECT DB_NAME() AS d) AS q")
    assert rows == [["target-server", "TargetDb1"]]
    assert server.rows("TargetDb1", "SELECT @@servername") == [["target-server"]]


def test_other_system_functions_stay_unsupported(server) -> None:
    with pytest.raises(tsql.UnsupportedStatement, match="@@ROWCOUNT"):
        server.run("TargetDb1", "SELECT @@SERVERNAME, @@ROWCOUNT")


def test_database_files_size_is_the_file_size_in_8_kb_pages_and_grows_with_data(server) -> None:
    files = server.run("TargetDb1", "SELECT file_id, type, type_desc, name, size FROM sys.database_files")
    [[file_id, kind, kind_desc, name, pages]] = files.result_sets[0].rows
    assert (file_id, kind, kind_desc, name) == (1, 0, "ROWS", "data_0")
    path = server.catalog.database_file("TargetDb1")
    [[before]] = server.rows("TargetDb1", SIZE_SQL)
    assert before == pages * 8
    server.run(
        "TargetDb1",
        "CREATE TABLE big (v NVARCHAR(4000)); "
        + " ".join(f"INSERT INTO big VALUES ('{'x' * 4000}');" for _ in range(20)),
    )
    [[after]] = server.rows("TargetDb1", SIZE_SQL)
    assert after > before
    assert after * 1024 >= path.stat().st_size - 8192  # the committed file, WAL pages aside


def test_job_execution_id_is_substituted_as_a_string_literal_case_insensitively() -> None:
    command = "SELECT $(job_execution_id) AS a, $(JOB_EXECUTION_ID) AS b, '$(job_execution_id)' AS c"
    assert substitute_job_variables(command, "1234-ab") == (
        "SELECT '1234-ab' AS a, '1234-ab' AS b, ''1234-ab'' AS c"
    )
    assert substitute_job_variables("SELECT $(other)", "x") == "SELECT $(other)"


def test_a_kept_connection_answers_functions_for_the_batch_running_on_it(server) -> None:
    """The functions are registered once per connection; each batch's answers are its own login's."""
    server.add_login("reader", "Read3r-Pass!", databases=("TargetDb1",))
    who = "SELECT CURRENT_USER, USER_NAME(), DB_NAME()"
    assert server.rows("TargetDb1", who) == [["sqladmin", "dbo", "TargetDb1"]]
    assert server.rows("TargetDb1", who, login="reader", password="Read3r-Pass!") == [
        ["reader", "reader", "TargetDb1"]
    ]
    assert server.rows("TargetDb1", who) == [["sqladmin", "dbo", "TargetDb1"]]
