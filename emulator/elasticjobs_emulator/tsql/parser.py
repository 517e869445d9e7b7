"""Batch -> statement tree: blocks, IF/ELSE, and simple statements with their kind.

T-SQL lets statements follow each other without ``;``. A simple statement therefore ends at a
``;``, at ``ELSE``/``END`` (outside ``CASE``), or at a keyword that starts a new statement, with
the few exceptions where such a keyword belongs to the running statement (``INSERT … SELECT``,
``UPDATE … SET``, ``… UNION SELECT``, ``DROP TABLE IF EXISTS``, ``GRANT SELECT, INSERT …``).
The whole batch is parsed before anything runs, as SQL Server compiles a batch first: a syntax
error or an unsupported statement anywhere means nothing runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from elasticjobs_emulator.tsql.errors import UnsupportedStatement, syntax_error
from elasticjobs_emulator.tsql.lexer import WORD, Token, tokenize

STATEMENT_START = frozenset(
    [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE",
        "DROP",
        "ALTER",
        "GRANT",
        "REVOKE",
        "DENY",
        "PRINT",
        "THROW",
        "RAISERROR",
        "WAITFOR",
        "IF",
        "BEGIN",
        "WHILE",
        "DECLARE",
        "SET",
        "EXEC",
        "EXECUTE",
        "USE",
        "TRUNCATE",
        "MERGE",
        "RETURN",
        "COMMIT",
        "ROLLBACK",
        "SAVE",
        "GO",
        "DBCC",
        "BACKUP",
        "RESTORE",
        "BREAK",
        "CONTINUE",
        "GOTO",
    ]
)
_SET_OPERATORS = frozenset({"UNION", "ALL", "EXCEPT", "INTERSECT"})
_SECURITY_LISTS = frozenset({"GRANT", "REVOKE", "DENY"})

# statement kind (first words) -> handled by the interpreter
SUPPORTED_KINDS = frozenset(
    {
        "SELECT",
        "WITH",
        "INSERT",
        "UPDATE",
        "DELETE",
        "CREATE TABLE",
        "DROP TABLE",
        "TRUNCATE TABLE",
        "CREATE LOGIN",
        "ALTER LOGIN",
        "DROP LOGIN",
        "CREATE USER",
        "DROP USER",
        "GRANT",
        "REVOKE",
        "ALTER ROLE",
        "PRINT",
        "THROW",
        "RAISERROR",
        "WAITFOR",
        "SET",
        "USE",
    }
)
_TWO_WORD_VERBS = frozenset({"CREATE", "DROP", "ALTER", "TRUNCATE", "BEGIN"})


@dataclass
class Simple:
    """One simple statement: its ``kind`` (e.g. ``CREATE TABLE``), tokens and source text."""

    kind: str
    tokens: list[Token]
    text: str


@dataclass
class Block:
    """``BEGIN … END``."""

    statements: list[Statement] = field(default_factory=list)


@dataclass
class If:
    """``IF condition statement [ELSE statement]``; ``condition`` is T-SQL expression text."""

    condition: str
    then: Statement
    otherwise: Statement | None


Statement = Simple | Block | If


def statement_kind(tokens: list[Token]) -> str:
    """The kind of a statement from its first words, e.g. ``CREATE LOGIN`` or ``SELECT``."""
    first = tokens[0].upper or tokens[0].value
    if first in _TWO_WORD_VERBS and len(tokens) > 1 and tokens[1].upper:
        return f"{first} {tokens[1].upper}"
    return first


class _Parser:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens = tokenize(sql)
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def skip_semicolons(self) -> None:
        while (tok := self.peek()) is not None and tok.is_punct(";"):
            self.pos += 1

    def batch(self) -> list[Statement]:
        statements = []
        self.skip_semicolons()
        while self.peek() is not None:
            statements.append(self.statement())
            self.skip_semicolons()
        return statements

    def statement(self) -> Statement:
        tok = self.peek()
        if tok is None:
            raise syntax_error("end of batch")
        if tok.is_word("BEGIN"):
            return self.block()
        if tok.is_word("IF"):
            return self.if_statement()
        if tok.is_word("ELSE", "END"):
            raise syntax_error(tok.value)
        return self.simple()

    def block(self) -> Block:
        begin = self.tokens[self.pos]
        after = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
        if after is not None and after.is_word(
            "TRY", "CATCH", "TRAN", "TRANSACTION", "DISTRIBUTED", "ATOMIC"
        ):
            raise UnsupportedStatement(f"BEGIN {after.upper}")
        self.pos += 1
        block = Block()
        while True:
            self.skip_semicolons()
            tok = self.peek()
            if tok is None:
                raise syntax_error(begin.value + " (missing END)")
            if tok.is_word("END"):
                self.pos += 1
                return block
            block.statements.append(self.statement())

    def if_statement(self) -> If:
        self.pos += 1
        start = self.pos
        depth = 0
        while (tok := self.peek()) is not None:
            if tok.is_punct("("):
                depth += 1
            elif tok.is_punct(")"):
                depth -= 1
            elif depth == 0 and tok.upper in STATEMENT_START and self.pos > start:
                break
            self.pos += 1
        if tok is None or self.pos == start:
            raise syntax_error("IF (a condition and a statement must follow)")
        condition = self.sql[self.tokens[start].start : self.tokens[self.pos - 1].end]
        then = self.statement()
        self.skip_semicolons()
        otherwise = None
        if (tok := self.peek()) is not None and tok.is_word("ELSE"):
            self.pos += 1
            otherwise = self.statement()
        return If(condition, then, otherwise)

    def simple(self) -> Simple:
        start = self.pos
        first = self.tokens[start]
        head = first.upper
        depth = case_depth = 0
        seen_to = False  # GRANT/REVOKE/DENY: a new statement may start only after TO/FROM …
        nested_dml_allowed = head in {"INSERT", "WITH"}
        set_allowed = head == "UPDATE"
        self.pos += 1
        while (tok := self.peek()) is not None:
            prev = self.tokens[self.pos - 1]
            word = tok.upper
            if tok.is_punct("("):
                depth += 1
            elif tok.is_punct(")"):
                depth -= 1
            elif depth == 0 and tok.is_punct(";"):
                break
            elif depth == 0 and word == "CASE":
                case_depth += 1
            elif depth == 0 and word == "END":
                if case_depth == 0:
                    break
                case_depth -= 1
            elif depth == 0 and word == "ELSE" and case_depth == 0:
                break
            elif depth == 0 and word in ("TO", "FROM") and head in _SECURITY_LISTS:
                seen_to = True
            elif (
                depth == 0
                and word in STATEMENT_START
                and not self._continues(head, word, prev, start, seen_to, nested_dml_allowed, set_allowed)
            ):
                break
            if depth == 0 and word in {"SELECT", "INSERT", "UPDATE", "DELETE"} and nested_dml_allowed:
                nested_dml_allowed = prev.upper in _SET_OPERATORS
            if depth == 0 and word in {"VALUES", "DEFAULT"} and head == "INSERT":
                nested_dml_allowed = False  # INSERT … VALUES (…) SELECT …: the SELECT is a new statement
            if depth == 0 and word == "SET" and set_allowed:
                set_allowed = False
            self.pos += 1
        tokens = self.tokens[start : self.pos]
        text = self.sql[tokens[0].start : tokens[-1].end]
        return Simple(statement_kind(tokens), tokens, text)

    def _continues(
        self,
        head: str,
        word: str,
        prev: Token,
        start: int,
        seen_to: bool,
        nested_dml_allowed: bool,
        set_allowed: bool,
    ) -> bool:
        """Whether a statement-start keyword inside a statement still belongs to it."""
        if word == "SELECT" and (prev.upper in _SET_OPERATORS or nested_dml_allowed):
            return True
        if word in {"INSERT", "UPDATE", "DELETE"} and nested_dml_allowed and head == "WITH":
            return True
        if word == "SET" and set_allowed:
            return True
        if head in _SECURITY_LISTS:
            return not seen_to or prev.is_punct(",") or prev.upper in {"TO", "FROM", "WITH"}
        if head == "ALTER" and word in {"ALTER", "DROP"}:
            return True
        return head == "DROP" and word == "IF" and self.pos == start + 2


def parse_batch(sql: str) -> list[Statement]:
    """Parse a batch; raise :class:`TsqlError` on a syntax error or an unsupported statement."""
    if not sql.strip():
        return []
    statements = _Parser(sql).batch()
    for simple in iter_simple(statements):
        check_supported(simple)
    return statements


def iter_simple(statements: list[Statement]) -> Iterator[Simple]:
    """Every simple statement of a tree, depth first."""
    for st in statements:
        if isinstance(st, Simple):
            yield st
        elif isinstance(st, Block):
            yield from iter_simple(st.statements)
        else:
            yield from iter_simple([st.then] + ([st.otherwise] if st.otherwise else []))


def check_supported(simple: Simple) -> None:
    """Raise :class:`UnsupportedStatement` naming the statement unless the subset covers it."""
    if simple.kind == "GO":
        raise UnsupportedStatement(
            "GO",
            "GO is a batch separator of client tools (sqlcmd, SSMS), not T-SQL: send each batch separately.",
        )
    if simple.tokens[0].kind != WORD:
        raise syntax_error(simple.tokens[0].display())
    if simple.kind not in SUPPORTED_KINDS:
        raise UnsupportedStatement(simple.kind)
    if simple.kind == "WAITFOR" and not (len(simple.tokens) > 1 and simple.tokens[1].is_word("DELAY")):
        raise UnsupportedStatement(" ".join(t.value for t in simple.tokens[:2]), "Only WAITFOR DELAY is.")
    if simple.kind == "SET" and not (len(simple.tokens) == 3 and simple.tokens[1].is_word("NOCOUNT")):
        raise UnsupportedStatement(
            " ".join(t.value for t in simple.tokens[:2]), "Only SET NOCOUNT ON|OFF is."
        )
