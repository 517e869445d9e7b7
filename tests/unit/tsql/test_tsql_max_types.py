"""``(MAX)`` lengths of NVARCHAR, VARCHAR and VARBINARY: SQL Server's unbounded types.

sqlglot renders them for SQLite as ``TEXT(MAX)`` / ``BLOB(MAX)``, which SQLite refused with "near MAX:
syntax error" (Msg 50000) before ``dml._fix_dialect`` dropped the length.
"""

from __future__ import annotations

import pytest

from elasticjobs_emulator import tsql

LONG = "x" * 9000  # longer than NVARCHAR(4000) / VARCHAR(8000): only (MAX) holds it in SQL Server


@pytest.mark.parametrize("column_type", ["NVARCHAR(MAX)", "VARCHAR(MAX)", "nvarchar(max)", "VARCHAR (MAX)"])
def test_create_table_with_max_text_column_round_trips_long_text(server, column_type) -> None:
    rows = server.rows(
        "TargetDb1",
        f"CREATE TABLE dbo.Notes (Id INT NOT NULL, Body {column_type} NULL)\n"
        f"INSERT INTO dbo.Notes (Id, Body) VALUES (1, N'{LONG}')\n"
        "SELECT Id, LEN(Body) FROM dbo.Notes",
    )
    assert rows == [[1, len(LONG)]]


def test_varbinary_max_column_and_cast_to_nvarchar_max(server) -> None:
    rows = server.rows(
        "TargetDb1",
        "CREATE TABLE Blobs (Id INT NOT NULL, Data VARBINARY(MAX) NULL, Note NVARCHAR(MAX))\n"
        "INSERT INTO Blobs (Id, Data, Note) VALUES (1, NULL, CAST(42 AS NVARCHAR(MAX)))\n"
        "SELECT Id, Data, Note FROM Blobs",
    )
    assert rows == [[1, None, "42"]]


def test_sized_types_are_left_alone(server) -> None:
    rows = server.rows(
        "TargetDb1",
        "CREATE TABLE Sized (Name NVARCHAR(50), Code VARCHAR(8))\n"
        "INSERT INTO Sized VALUES (N'a', 'b')\nSELECT Name, Code FROM Sized",
    )
    assert rows == [["a", "b"]]


def test_declare_stays_outside_the_subset_with_a_clear_error(server) -> None:
    with pytest.raises(tsql.UnsupportedStatement) as info:
        server.run("TargetDb1", "DECLARE @v NVARCHAR(MAX) = N'hello'; SELECT @v")
    assert "DECLARE" in info.value.message and "docs/emulator-tsql.md" in info.value.message
