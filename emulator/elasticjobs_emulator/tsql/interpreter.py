"""Runs a parsed batch: control flow, PRINT, THROW, RAISERROR, WAITFOR and dispatch to handlers.

Any error ends the batch (as with ``SET XACT_ABORT ON``); statements that ran before it stay
committed, like SQL Server's autocommit mode.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import lru_cache

from sqlglot import exp

from elasticjobs_emulator.tsql import dml, security_statements
from elasticjobs_emulator.tsql.errors import TsqlError, canceled, syntax_error
from elasticjobs_emulator.tsql.lexer import TokenCursor
from elasticjobs_emulator.tsql.parser import Block, If, Simple, Statement, parse_batch
from elasticjobs_emulator.tsql.session import Session

CANCEL_CHECK_SECONDS = 0.05
_DML_KINDS = frozenset(
    {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "CREATE TABLE", "DROP TABLE", "TRUNCATE TABLE"}
)
_DELAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$")


class CompiledBatch:
    """A parsed batch with every sqlglot expression prepared, so errors surface before anything runs."""

    def __init__(self, statements: list[Statement]) -> None:
        self.statements = statements
        self.expressions: dict[int, exp.Expression] = {}
        for st in statements:
            self._compile(st)

    def _compile(self, st: Statement) -> None:
        if isinstance(st, Block):
            for inner in st.statements:
                self._compile(inner)
        elif isinstance(st, If):
            self.expressions[id(st)] = dml.condition(st.condition)
            self._compile(st.then)
            if st.otherwise is not None:
                self._compile(st.otherwise)
        elif st.kind in _DML_KINDS:
            self.expressions[id(st)] = dml.parse(st.text)
        elif st.kind in ("PRINT", "THROW"):
            self.expressions[id(st)] = dml.parse("SELECT " + _rest(st, 1))
        elif st.kind == "RAISERROR":
            self.expressions[id(st)] = _raiserror_arguments(st)


@lru_cache(maxsize=256)
def compile_batch(sql: str) -> CompiledBatch:
    """Parse and compile a batch once per text (a job step runs the same text on every target).

    A compiled batch is never mutated (statements copy their expression before rewriting it).
    """
    return CompiledBatch(parse_batch(sql))


def _rest(st: Simple, start: int) -> str:
    if len(st.tokens) <= start:
        raise syntax_error(st.tokens[-1].display())
    return st.text[st.tokens[start].start - st.tokens[0].start :]


def _raiserror_arguments(st: Simple) -> exp.Expression:
    depth, close = 0, None
    for i, tok in enumerate(st.tokens):
        depth += tok.is_punct("(") - tok.is_punct(")")
        if tok.is_punct(")") and depth == 0:
            close = i
            break
    if close is None or len(st.tokens) < 3 or not st.tokens[1].is_punct("("):
        raise syntax_error("RAISERROR")
    cur = TokenCursor(st.tokens, close + 1)
    if cur.accept_word("WITH"):
        while True:
            if cur.name("an option").upper() != "NOWAIT":
                raise syntax_error(cur.tokens[cur.pos - 1].display())
            if not cur.accept_punct(","):
                break
    cur.expect_end()
    inner = st.text[st.tokens[2].start - st.tokens[0].start : st.tokens[close].start - st.tokens[0].start]
    return dml.parse("SELECT " + inner)


def _format_raiserror(template: str, args: list[object]) -> str:
    """printf-style substitution of RAISERROR (``%s``, ``%d``, ``%i``, ``%u``, ``%%``)."""
    values = iter(args)

    def sub(match: re.Match[str]) -> str:
        return "%" if match[0] == "%%" else str(next(values, "(null)"))

    return re.sub(r"%%|%-?\d*(?:\.\d+)?[sdiuxXo]", sub, template)


class Interpreter:
    """Executes a :class:`CompiledBatch` in a :class:`Session`."""

    def __init__(self, session: Session, batch: CompiledBatch) -> None:
        self.s = session
        self.batch = batch

    def run(self) -> None:
        """Run every statement in order."""
        for st in self.batch.statements:
            self.statement(st)

    def statement(self, st: Statement) -> None:
        """Run one statement (recursively for blocks and IF)."""
        self.s.check_cancel()
        if isinstance(st, Block):
            for inner in st.statements:
                self.statement(inner)
        elif isinstance(st, If):
            row = dml.scalar_row(self.s, self.batch.expressions[id(st)])
            if row and row[0]:
                self.statement(st.then)
            elif st.otherwise is not None:
                self.statement(st.otherwise)
        elif st.kind in _DML_KINDS:
            result = dml.execute(self.s, self.batch.expressions[id(st)])
            if result is not None:
                self.s.result.result_sets.append(result)
        else:
            _HANDLERS[st.kind](self, st)

    def print_(self, st: Simple) -> None:
        """``PRINT expression``."""
        row = dml.scalar_row(self.s, self.batch.expressions[id(st)])
        self.s.result.messages.append("" if not row or row[0] is None else str(row[0]))

    def throw(self, st: Simple) -> None:
        """``THROW number, message, state``."""
        row = dml.scalar_row(self.s, self.batch.expressions[id(st)])
        if len(row) != 3:
            raise TsqlError(102, 15, "THROW needs three arguments: error_number, message, state.")
        try:
            number = int(str(row[0]))
        except ValueError:
            raise TsqlError(35100, 16, "Error number in THROW must be an integer >= 50000.") from None
        if number < 50000:
            raise TsqlError(
                35100,
                16,
                f"Error number {number} in the THROW statement is outside the valid range. "
                "Specify an error number in the valid range of 50000 to 2147483647.",
            )
        raise TsqlError(number, 16, str(row[1]))

    def raiserror(self, st: Simple) -> None:
        """``RAISERROR(message, severity, state[, arguments…]) [WITH NOWAIT]``."""
        row = dml.scalar_row(self.s, self.batch.expressions[id(st)])
        if len(row) < 3:
            raise TsqlError(102, 15, "RAISERROR needs at least message, severity and state.")
        message = _format_raiserror(str(row[0]), list(row[3:]))
        severity = int(str(row[1]))
        if severity <= 10:
            self.s.result.messages.append(message)
            return
        raise TsqlError(50000, min(severity, 25), message)

    def waitfor(self, st: Simple) -> None:
        """``WAITFOR DELAY 'hh:mm[:ss[.mmm]]'``, interruptible by the cancel flag."""
        cur = TokenCursor(st.tokens, 2)  # WAITFOR DELAY (checked when the batch was parsed)
        text = cur.string("the delay as 'hh:mm:ss'")
        cur.expect_end()
        match = _DELAY.match(text.strip())
        if not match or int(match[1]) >= 24 or int(match[2]) >= 60 or int(match[3] or 0) >= 60:
            raise TsqlError(148, 15, f"Incorrect time syntax in time string '{text}' used with WAITFOR.")
        hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
        millis = int((match[4] or "0").ljust(3, "0"))
        deadline = time.monotonic() + hours * 3600 + minutes * 60 + seconds + millis / 1000
        while (left := deadline - time.monotonic()) > 0:
            if self.s.cancel is not None:
                if self.s.cancel.wait(min(left, CANCEL_CHECK_SECONDS)):
                    raise canceled()
            else:
                time.sleep(min(left, CANCEL_CHECK_SECONDS))

    def use(self, st: Simple) -> None:
        """``USE`` is rejected as Azure SQL Database does."""
        raise TsqlError(40508, 16, "USE statement is not supported to switch between databases. "
                        "Use a new connection to connect to a different database.")  # fmt: skip


#: Statement kind → handler, one table for every batch (building it per batch was a few percent of
#: the emulator's CPU per target in a 10,000-database fan-out).
_HANDLERS: dict[str, Callable[[Interpreter, Simple], None]] = {
    "CREATE LOGIN": lambda i, st: security_statements.create_login(i.s, st),
    "ALTER LOGIN": lambda i, st: security_statements.alter_login(i.s, st),
    "DROP LOGIN": lambda i, st: security_statements.drop_login(i.s, st),
    "CREATE USER": lambda i, st: security_statements.create_user(i.s, st),
    "DROP USER": lambda i, st: security_statements.drop_user(i.s, st),
    "GRANT": lambda i, st: security_statements.grant_or_revoke(i.s, st),
    "REVOKE": lambda i, st: security_statements.grant_or_revoke(i.s, st),
    "ALTER ROLE": lambda i, st: security_statements.alter_role(i.s, st),
    "PRINT": Interpreter.print_,
    "THROW": Interpreter.throw,
    "RAISERROR": Interpreter.raiserror,
    "WAITFOR": Interpreter.waitfor,
    "SET": lambda i, st: None,  # SET NOCOUNT only: the emulator never sends "(n rows affected)"
    "USE": Interpreter.use,
}
