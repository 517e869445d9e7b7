"""qmark parameter binding of the DB-API driver: values become T-SQL literals, never syntax."""

from __future__ import annotations

import datetime
import decimal

import pytest

from elasticjobs_emulator import dbapi


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (True, "1"),
        (7, "7"),
        (1.5, "1.5"),
        (decimal.Decimal("2.50"), "2.50"),
        ("it's", "N'it''s'"),
        (b"\x01\xab", "0x01AB"),
        (datetime.date(2025, 1, 2), "N'2025-01-02'"),
        (datetime.datetime(2025, 1, 2, 3, 4, 5), "N'2025-01-02 03:04:05'"),
    ],
)
def test_literals(value, literal) -> None:
    assert dbapi.literal(value) == literal


@pytest.mark.parametrize(
    ("value", "error"),
    [(float("nan"), dbapi.DataError), ("a\x00", dbapi.DataError), (object(), dbapi.InterfaceError)],
)
def test_unrepresentable_values_are_refused(value, error) -> None:
    with pytest.raises(error):
        dbapi.literal(value)


def test_only_placeholders_outside_quotes_and_comments_are_bound() -> None:
    sql = "SELECT '?', [a?b], \"c?\" -- ?\n/* ? */ FROM t WHERE x = ? AND y = ?"
    assert dbapi.bind(sql, ("it's; DROP TABLE t; --", None)) == (
        "SELECT '?', [a?b], \"c?\" -- ?\n/* ? */ FROM t WHERE x = N'it''s; DROP TABLE t; --' AND y = NULL"
    )
    assert dbapi.bind("SELECT 'it''s ?' , ?", (1,)) == "SELECT 'it''s ?' , 1"
    assert dbapi.bind("SELECT ?", None) == "SELECT ?"


@pytest.mark.parametrize(
    ("params", "error"),
    [((1, 2), dbapi.ProgrammingError), ({"a": 1}, dbapi.InterfaceError), ("ab", dbapi.InterfaceError)],
)
def test_parameter_count_and_shape_are_checked(params, error) -> None:
    with pytest.raises(error):
        dbapi.bind("SELECT ?", params)


def test_connect_validates_its_arguments_before_any_request() -> None:
    with pytest.raises(dbapi.InterfaceError, match="'server' is empty"):
        dbapi.connect(host="127.0.0.1", port=1, server="", database="master", user="u", password="p")
    with pytest.raises(dbapi.InterfaceError, match="scheme 'ftp'"):
        dbapi.connect(
            host="127.0.0.1", port=1, server="s", database="master", user="u", password="p", scheme="ftp"
        )
    assert (dbapi.apilevel, dbapi.paramstyle, dbapi.threadsafety) == ("2.0", "qmark", 1)
    assert issubclass(dbapi.IntegrityError, dbapi.DatabaseError) and issubclass(
        dbapi.DatabaseError, dbapi.Error
    )


def test_an_unreachable_emulator_is_an_operational_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(dbapi.OperationalError, match="Cannot reach the emulator"):
        dbapi.connect(
            host="127.0.0.1", port=port, server="s", database="master", user="u", password="p", timeout=2
        )
