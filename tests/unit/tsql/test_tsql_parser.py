"""Batch splitting: statements without semicolons, IF/ELSE, blocks and keywords inside statements."""

from __future__ import annotations

import pytest

from elasticjobs_emulator.tsql.errors import TsqlError
from elasticjobs_emulator.tsql.lexer import IDENT, STRING, tokenize
from elasticjobs_emulator.tsql.parser import Block, If, Simple, parse_batch


def kinds(sql: str) -> list[str]:
    return [st.kind if isinstance(st, Simple) else type(st).__name__ for st in parse_batch(sql)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "CREATE TABLE t (a INT) INSERT INTO t SELECT 1 UNION ALL SELECT 2 SELECT * FROM t",
            ["CREATE TABLE", "INSERT", "SELECT"],
        ),
        ("UPDATE t SET a = 1 SET NOCOUNT ON", ["UPDATE", "SET"]),
        ("INSERT INTO t VALUES (1) SELECT * FROM t", ["INSERT", "SELECT"]),
        ("INSERT INTO t DEFAULT VALUES SELECT 1", ["INSERT", "SELECT"]),
        ("INSERT INTO t (a) SELECT 2 SELECT 3", ["INSERT", "SELECT"]),
        ("GRANT SELECT, INSERT ON t TO a GRANT CREATE TABLE TO b", ["GRANT", "GRANT"]),
        ("DROP TABLE IF EXISTS t DROP TABLE u", ["DROP TABLE", "DROP TABLE"]),
        ("ALTER ROLE db_owner DROP MEMBER x PRINT 'a'", ["ALTER ROLE", "PRINT"]),
        ("WITH c AS (SELECT 1 AS a) SELECT a FROM c SELECT 2", ["WITH", "SELECT"]),
        ("SELECT CASE WHEN 1 = 1 THEN 'a' ELSE 'b' END;;; PRINT 'x'", ["SELECT", "PRINT"]),
        ("IF 1 = 1 PRINT 'a' ELSE PRINT 'b' PRINT 'c'", ["If", "PRINT"]),
        ("BEGIN PRINT 'a' BEGIN PRINT 'b' END END", ["Block"]),
        ("", []),
    ],
)
def test_statement_boundaries(sql, expected) -> None:
    assert kinds(sql) == expected


def test_if_keeps_the_condition_text_and_both_branches() -> None:
    (st,) = parse_batch(
        "IF NOT EXISTS (SELECT * FROM sys.tables WHERE name = 'x') BEGIN PRINT 'a' END ELSE PRINT 'b'"
    )
    assert isinstance(st, If) and isinstance(st.then, Block) and isinstance(st.otherwise, Simple)
    assert st.condition == "NOT EXISTS (SELECT * FROM sys.tables WHERE name = 'x')"


def test_lexer_unescapes_quotes_and_brackets_and_drops_nested_comments() -> None:
    tokens = tokenize("/* a /* nested */ comment */ [x]]y] N'it''s' -- tail\n\"q\"\"d\"")
    assert [(t.kind, t.value) for t in tokens] == [(IDENT, "x]y"), (STRING, "it's"), (IDENT, 'q"d')]


@pytest.mark.parametrize("sql", ["SELECT 'open", "SELECT [open", "/* open", "ELSE PRINT 1", "BEGIN PRINT 1"])
def test_malformed_batches_are_syntax_errors(sql) -> None:
    with pytest.raises(TsqlError):
        parse_batch(sql)
