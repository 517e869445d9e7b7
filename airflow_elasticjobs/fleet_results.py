"""Rows of a fleet query as XCom-safe dicts, or written to a CSV or Parquet file.

Value conversion for XCom and CSV (:func:`json_safe`): ``None``, ``bool``, ``int``, ``float`` and
``str`` stay; ``Decimal`` becomes its exact string; ``datetime``/``date``/``time`` ISO 8601 text;
``UUID`` its string; bytes ``0x…`` hex; anything else ``str()``. Parquet keeps the driver's native
types (pyarrow maps them) except ``UUID`` (string) and ``bytearray``/``memoryview`` (bytes).
"""

from __future__ import annotations

import csv
import importlib.util
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from airflow_elasticjobs.validation import invalid

FORMATS = ("csv", "parquet")
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
PARQUET_FIX = (
    "install pyarrow (pip install 'airflow-elasticjobs[parquet]') or write CSV (output_format='csv')"
)


def result_format(path: Any, output_format: str | None) -> str:
    """``csv`` or ``parquet``: ``output_format`` when given, else from the path's suffix."""
    if output_format is not None:
        if output_format not in FORMATS:
            raise invalid(
                "output_format", output_format, f"use one of {', '.join(FORMATS)} or None (by suffix)"
            )
        return output_format
    suffix = _suffix(path)
    if suffix not in _SUFFIXES:
        raise invalid(
            "output_format",
            None,
            f"the output_path suffix {suffix or '(none)'!r} names no format; end the path in "
            f"{', '.join(_SUFFIXES)} or set output_format to one of {', '.join(FORMATS)}",
        )
    return _SUFFIXES[suffix]


def check_writer_available(fmt: str) -> None:
    """Fail naming ``output_format`` and the fix when Parquet is asked for without pyarrow."""
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise invalid("output_format", fmt, f"pyarrow is not installed; {PARQUET_FIX}")


def _suffix(path: Any) -> str:
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def json_safe(value: Any) -> Any:
    """One column value as a JSON-serializable value (see the module docstring)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex().upper()
    return str(value)


def _parquet_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


class RowSource:
    """The rows of a cursor, in batches, without the columns named in ``hidden``.

    :param columns: the cursor's column names (``cursor.description``).
    :param batches: batches of row tuples (e.g. from ``cursor.fetchmany``).
    :param hidden: column names left out of every row.
    """

    def __init__(
        self, columns: Sequence[str], batches: Iterable[Sequence[Sequence[Any]]], hidden: Iterable[str]
    ):
        hidden_lower = {h.lower() for h in hidden}
        self._keep = [i for i, c in enumerate(columns) if c.lower() not in hidden_lower]
        self.columns = [columns[i] for i in self._keep]
        self._batches = batches

    def batches(self) -> Iterator[list[list[Any]]]:
        """Rows as lists of the kept columns' values, batch by batch (one pass only)."""
        for batch in self._batches:
            yield [[row[i] for i in self._keep] for row in batch]

    def dicts(self) -> list[dict[str, Any]]:
        """All rows as JSON-safe dicts (column name -> value)."""
        return [
            {c: json_safe(v) for c, v in zip(self.columns, row, strict=True)}
            for batch in self.batches()
            for row in batch
        ]


def write_rows(path: Any, fmt: str, source: RowSource) -> int:
    """Write every row of ``source`` to ``path`` (an ``ObjectStoragePath``) as ``fmt``; the row count.

    The parent directory is created first (a no-op on object stores without directories).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return _write_csv(path, source)
    return _write_parquet(path, source)


def _write_csv(path: Any, source: RowSource) -> int:
    """Header line, then the rows, streamed batch by batch; ``None`` is an empty field."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(source.columns)
        for batch in source.batches():
            writer.writerows([["" if v is None else json_safe(v) for v in row] for row in batch])
            count += len(batch)
    return count


def _write_parquet(path: Any, source: RowSource) -> int:
    """One Parquet table of all rows (column types inferred by pyarrow from the values)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise invalid("output_format", "parquet", f"pyarrow is not installed; {PARQUET_FIX}") from None
    columns: list[list[Any]] = [[] for _ in source.columns]
    for batch in source.batches():
        for row in batch:
            for values, value in zip(columns, row, strict=True):
                values.append(_parquet_value(value))
    table = pa.table(dict(zip(source.columns, columns, strict=True)))
    with path.open("wb") as handle:
        pq.write_table(table, handle)
    return table.num_rows
