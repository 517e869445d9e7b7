"""Row conversion (XCom-safe dicts) and the CSV / Parquet writers of fleet queries."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from airflow_elasticjobs.fleet_query_sql import HIDDEN_COLUMNS
from airflow_elasticjobs.fleet_results import RowSource, json_safe, result_format, write_rows
from airflow_elasticjobs.validation import ElasticJobsValidationError

COLUMNS = ["job_execution_id", "target_server_name", "target_database_name", "v", "internal_execution_id"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (7, 7),
        (1.5, 1.5),
        ("x", "x"),
        (Decimal("12345678901234567890.0001"), "12345678901234567890.0001"),
        (datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "2025-01-02T03:04:05.000006+00:00"),
        (date(2025, 1, 2), "2025-01-02"),
        (time(3, 4, 5), "03:04:05"),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
        (b"\x00\xab", "0x00AB"),
        (memoryview(b"\x01"), "0x01"),
    ],
)
def test_json_safe(value: object, expected: object) -> None:
    assert json_safe(value) == expected
    json.dumps(json_safe(value))


def _source(rows: list[list[object]]) -> RowSource:
    return RowSource(COLUMNS, [rows[:1], rows[1:]], HIDDEN_COLUMNS)


ROWS = [
    ["e", "srv", "Db1", Decimal("1.50"), "i1"],
    ["e", "srv", "Db2", None, "i2"],
]


def test_rows_become_dicts_without_the_execution_and_internal_columns() -> None:
    assert _source(ROWS).dicts() == [
        {"target_server_name": "srv", "target_database_name": "Db1", "v": "1.50"},
        {"target_server_name": "srv", "target_database_name": "Db2", "v": None},
    ]


@pytest.mark.parametrize(
    ("path", "given", "expected"),
    [
        ("s3://b/r.csv", None, "csv"),
        ("/tmp/r.PARQUET", None, "parquet"),
        ("file:///tmp/r.pq", None, "parquet"),
        ("s3://b/r.data", "csv", "csv"),
    ],
)
def test_format_from_suffix_or_parameter(path: str, given: str | None, expected: str) -> None:
    assert result_format(path, given) == expected


def test_no_suffix_and_no_format_names_the_fix() -> None:
    with pytest.raises(ElasticJobsValidationError, match=r"output_format.*\(none\).*\.csv"):
        result_format("s3://bucket/report", None)


def test_csv_has_a_header_and_empty_fields_for_null(tmp_path: Path) -> None:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(f"file://{tmp_path}/new/dir/r.csv")
    assert write_rows(path, "csv", _source(ROWS)) == 2
    with (tmp_path / "new/dir/r.csv").open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["target_server_name", "target_database_name", "v"],
            ["srv", "Db1", "1.50"],
            ["srv", "Db2", ""],
        ]


def test_parquet_keeps_native_types(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    from airflow.sdk import ObjectStoragePath

    rows = [["e", "srv", "Db1", 5, "i"], ["e", "srv", "Db2", None, "i"]]
    path = ObjectStoragePath(f"file://{tmp_path}/r.parquet")
    assert write_rows(path, "parquet", _source(rows)) == 2
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column_names == ["target_server_name", "target_database_name", "v"]
    assert table.to_pylist()[0] == {"target_server_name": "srv", "target_database_name": "Db1", "v": 5}
    assert str(table.schema.field("v").type) == "int64"
