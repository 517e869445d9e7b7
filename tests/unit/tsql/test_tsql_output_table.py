"""A job step's output table: creation, appends, replacement per internal id, permissions, shape checks."""

from __future__ import annotations

import sqlite3

import pytest

from elasticjobs_emulator import tsql
from elasticjobs_emulator.tsql.output_table import affinity, sql_type

RESULTS = tsql.OutputTable("dbo", "results")
WRITER_GRANTS = "GRANT CREATE TABLE TO writer; GRANT ALTER, SELECT, INSERT, DELETE ON SCHEMA::dbo TO writer"
ID_1 = "11111111-1111-1111-1111-111111111111"
ID_2 = "22222222-2222-2222-2222-222222222222"


def _result(*rows: list) -> tsql.ResultSet:
    return tsql.ResultSet(["database_name", "n"], [list(row) for row in rows])


def _write(server, result: tsql.ResultSet, internal_id: str = ID_1, login: str = "sqladmin", **kw) -> int:
    password = "Adm1n-Pass!" if login == "sqladmin" else "Out-Pass-42x"
    principal = server.login("TargetDb1", login, password)
    return tsql.write_output(server.catalog, "TargetDb1", principal, RESULTS, result, internal_id, **kw)


def test_missing_table_is_created_with_the_result_columns_plus_internal_execution_id(server):
    assert _write(server, _result(["TargetDb1", 7])) == 1
    rows = server.rows("TargetDb1", "SELECT internal_execution_id, database_name, n FROM dbo.results")
    assert rows == [[ID_1, "TargetDb1", 7]]
    assert server.rows("TargetDb1", "SELECT name FROM sys.tables") == [["results"]]
    with sqlite3.connect(server.catalog.database_file("TargetDb1")) as db:
        info = [(r[1], r[2], r[3]) for r in db.execute("PRAGMA table_info(results)")]
        indexes = [r[1] for r in db.execute("PRAGMA index_list(results)")]
    assert info == [
        ("internal_execution_id", "UNIQUEIDENTIFIER", 1),
        ("database_name", "NVARCHAR", 0),
        ("n", "BIGINT", 0),
    ]
    assert indexes == ["IX_results_Internal_Execution_ID"]


def test_other_ids_append_and_the_same_id_replaces_its_rows(server):
    _write(server, _result(["TargetDb1", 1], ["TargetDb1", 2]), ID_1)
    _write(server, _result(["TargetDb2", 3]), ID_2)
    _write(server, _result(["TargetDb1", 4]), ID_1)  # a retried attempt of the same target execution
    rows = server.rows("TargetDb1", "SELECT internal_execution_id, n FROM results ORDER BY n")
    assert rows == [[ID_2, 3], [ID_1, 4]]


def test_empty_result_set_creates_the_table_and_writes_nothing(server):
    assert _write(server, _result()) == 0
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM results") == [[0]]


def test_a_login_with_the_documented_permissions_can_create_and_write(server):
    server.add_login("writer", "Out-Pass-42x", ("TargetDb1",), WRITER_GRANTS)
    assert _write(server, _result(["TargetDb1", 1]), login="writer") == 1


@pytest.mark.parametrize(
    ("grants", "number", "words"),
    [
        (
            "GRANT ALTER, SELECT, INSERT, DELETE ON SCHEMA::dbo TO writer",
            262,
            "CREATE TABLE permission denied",
        ),
        ("GRANT CREATE TABLE TO writer", 2760, 'schema name "dbo"'),
        ("GRANT CREATE TABLE TO writer; GRANT ALTER, SELECT, DELETE ON SCHEMA::dbo TO writer", 229, "INSERT"),
        ("GRANT CREATE TABLE TO writer; GRANT ALTER, SELECT, INSERT ON SCHEMA::dbo TO writer", 229, "DELETE"),
    ],
)
def test_missing_permissions_fail_with_sql_servers_error(server, grants, number, words):
    server.add_login("writer", "Out-Pass-42x", ("TargetDb1",), grants)
    with pytest.raises(tsql.TsqlError) as error:
        _write(server, _result(["TargetDb1", 1]), login="writer")
    assert error.value.number == number and words in error.value.message
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM sys.tables") == [[0]]


def test_an_existing_table_needs_no_create_table_permission(server):
    _write(server, _result(["TargetDb1", 1]))
    server.add_login(
        "writer", "Out-Pass-42x", ("TargetDb1",), "GRANT ALTER, SELECT, INSERT, DELETE ON results TO writer"
    )
    assert _write(server, _result(["TargetDb1", 2]), ID_2, login="writer") == 1


ID_COLUMN = "internal_execution_id UNIQUEIDENTIFIER"


@pytest.mark.parametrize(
    ("columns", "number", "words"),
    [
        (f"{ID_COLUMN}, database_name NVARCHAR(128)", 213, "(database_name)"),
        (f"{ID_COLUMN}, db NVARCHAR(128), n INT", 213, "does not match"),
        ("database_name NVARCHAR(128), n INT", 207, "internal_execution_id"),
        (f"{ID_COLUMN}, database_name INT, n INT", 245, "'database_name'"),
    ],
)
def test_a_table_of_another_shape_is_rejected_and_left_unchanged(server, columns, number, words):
    server.run("TargetDb1", f"CREATE TABLE results ({columns})")
    with pytest.raises(tsql.TsqlError) as error:
        _write(server, _result(["TargetDb1", 1]))
    assert error.value.number == number and words in error.value.message
    assert "dbo].[results]" in error.value.message
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM results") == [[0]]


def test_a_precreated_table_of_the_right_shape_is_used_in_any_column_order(server):
    server.run(
        "TargetDb1",
        "CREATE TABLE results (N BIGINT, internal_execution_id UNIQUEIDENTIFIER, Database_Name NVARCHAR(50))",
    )
    assert _write(server, _result(["TargetDb1", 5])) == 1
    assert server.rows("TargetDb1", "SELECT N, Database_Name FROM results") == [[5, "TargetDb1"]]


@pytest.mark.parametrize(
    ("columns", "number"),
    [(["a", "A"], 2705), (["internal_execution_id", "b"], 2705), (["a", " "], 1038)],
)
def test_result_set_column_names_no_table_can_have_are_rejected(server, columns, number):
    with pytest.raises(tsql.TsqlError) as error:
        _write(server, tsql.ResultSet(columns, [[1, 2]]))
    assert error.value.number == number


def test_other_schemas_and_internal_tables_are_rejected(server):
    principal = server.login("TargetDb1")
    for target, number in (
        (tsql.OutputTable("sales", "t"), 2760),
        (tsql.OutputTable("dbo", "__emulator_x"), 208),
    ):
        with pytest.raises(tsql.TsqlError) as error:
            tsql.write_output(server.catalog, "TargetDb1", principal, target, _result(["x", 1]), ID_1)
        assert error.value.number == number


def test_unknown_database_is_msg_4060(server):
    principal = server.login("TargetDb1")
    with pytest.raises(tsql.TsqlError) as error:
        tsql.write_output(server.catalog, "Nope", principal, RESULTS, _result(), ID_1)
    assert error.value.number == 4060


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, 2], "BIGINT"), ([1, 2.5], "FLOAT"), ([1, "x"], "NVARCHAR"), ([None], "NVARCHAR"),
     ([True, False], "BIT"), ([b"\x00"], "VARBINARY")],
)  # fmt: skip
def test_new_column_types_follow_the_values(values, expected):
    assert sql_type(values) == expected


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("INT", "INTEGER"),
        ("NVARCHAR(50)", "TEXT"),
        ("", "BLOB"),
        ("FLOAT", "REAL"),
        ("UNIQUEIDENTIFIER", "NUMERIC"),
    ],
)
def test_affinity_follows_sqlite_rules(declared, expected):
    assert affinity(declared) == expected
