"""Tokens of a T-SQL batch: words, quoted identifiers, string literals, numbers and punctuation.

Comments (``--`` and nested ``/* */``) are dropped. Every token keeps its position so that a
statement can be handed to ``sqlglot`` as the exact text the user wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

from elasticjobs_emulator.tsql.errors import TsqlError, syntax_error

WORD, IDENT, STRING, NUMBER, PUNCT = "word", "ident", "string", "number", "punct"

_WORD_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_@#")
_WORD_CHARS = _WORD_START | set("0123456789$")
_TWO_CHAR_PUNCT = {"::", "<>", "!=", ">=", "<=", "+=", "-=", "*=", "/="}
_QUOTES = {"'": ("'", STRING), "[": ("]", IDENT), '"': ('"', IDENT)}  # opening → (closing, kind)


@dataclass(frozen=True)
class Token:
    """One token: ``kind``, its ``value`` (unescaped for identifiers and strings), and its span."""

    kind: str
    value: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        """Upper-cased value of a word (keywords are case-insensitive); '' for other kinds."""
        return self.value.upper() if self.kind == WORD else ""

    def is_word(self, *words: str) -> bool:
        """Whether this token is one of the given keywords."""
        return self.kind == WORD and self.value.upper() in words

    def is_punct(self, *chars: str) -> bool:
        """Whether this token is one of the given punctuation marks."""
        return self.kind == PUNCT and self.value in chars

    def display(self) -> str:
        """How the token may appear in an error message (string literals are never echoed)."""
        return "<string literal>" if self.kind == STRING else self.value


def _quoted(sql: str, i: int, close: str) -> tuple[str, int]:
    """Read a quoted run starting after the opening quote; a doubled ``close`` escapes it."""
    out = []
    j = i
    while True:
        k = sql.find(close, j)
        if k < 0:
            raise TsqlError(105, 15, "Unclosed quotation mark after the character string.")
        out.append(sql[j:k])
        if sql.startswith(close * 2, k):
            out.append(close)
            j = k + 2
            continue
        return "".join(out), k + 1


def _skip_block_comment(sql: str, i: int) -> int:
    depth = 0
    while i < len(sql):
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise TsqlError(113, 15, "Missing end comment mark '*/'.")


def tokenize(sql: str) -> list[Token]:
    """Split a batch into tokens; raise :class:`TsqlError` on unterminated quotes or comments."""
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i):
            nl = sql.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif c in _QUOTES or (c in "nN" and sql.startswith("'", i + 1)):
            opening = i if c in _QUOTES else i + 1  # N'…' (Unicode literal): the quote follows the N
            close, kind = _QUOTES[sql[opening]]
            value, end = _quoted(sql, opening + 1, close)
            tokens.append(Token(kind, value, i, end))
            i = end
        elif c in _WORD_START:
            j = i + 1
            while j < n and sql[j] in _WORD_CHARS:
                j += 1
            tokens.append(Token(WORD, sql[i:j], i, j))
            i = j
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "."):
                j += 1
            tokens.append(Token(NUMBER, sql[i:j], i, j))
            i = j
        elif sql[i : i + 2] in _TWO_CHAR_PUNCT:
            tokens.append(Token(PUNCT, sql[i : i + 2], i, i + 2))
            i += 2
        elif c in "(),;.=<>+-*/%!&|^~:":
            tokens.append(Token(PUNCT, c, i, i + 1))
            i += 1
        else:
            raise syntax_error(c)
    return tokens


class TokenCursor:
    """Reads the tokens of one statement left to right (for the hand-parsed statements)."""

    def __init__(self, tokens: list[Token], pos: int = 0) -> None:
        self.tokens = tokens
        self.pos = pos

    def peek(self) -> Token | None:
        """The next token, or None at the end."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, expected: str = "more") -> Token:
        """Consume and return the next token; a syntax error names what was expected at the end."""
        tok = self.peek()
        if tok is None:
            last = self.tokens[-1].display() if self.tokens else ""
            raise TsqlError(102, 15, f"Incorrect syntax near '{last}': {expected} expected.")
        self.pos += 1
        return tok

    def accept_word(self, *words: str) -> str | None:
        """Consume the next token if it is one of ``words``; return it upper-cased."""
        tok = self.peek()
        if tok is not None and tok.is_word(*words):
            self.pos += 1
            return tok.upper
        return None

    def expect_word(self, *words: str) -> str:
        """Consume one of ``words`` or raise a syntax error."""
        tok = self.next(" or ".join(words))
        if not tok.is_word(*words):
            raise syntax_error(tok.display())
        return tok.upper

    def accept_punct(self, char: str) -> bool:
        """Consume the next token if it is the punctuation ``char``."""
        tok = self.peek()
        if tok is not None and tok.is_punct(char):
            self.pos += 1
            return True
        return False

    def expect_punct(self, char: str) -> None:
        """Consume ``char`` or raise a syntax error."""
        tok = self.next(f"'{char}'")
        if not tok.is_punct(char):
            raise syntax_error(tok.display())

    def name(self, what: str = "a name") -> str:
        """Consume one identifier (plain word or ``[quoted]``/``"quoted"``) and return it unquoted."""
        tok = self.next(what)
        if tok.kind not in (WORD, IDENT) or not tok.value:
            raise syntax_error(tok.display())
        return tok.value

    def multipart_name(self) -> list[str]:
        """Consume ``a.b.c`` (each part plain or quoted) and return the parts."""
        parts = [self.name()]
        while self.accept_punct("."):
            parts.append(self.name())
        return parts

    def string(self, what: str = "a string literal") -> str:
        """Consume a string literal and return its value."""
        tok = self.next(what)
        if tok.kind != STRING:
            raise syntax_error(tok.display())
        return tok.value

    def expect_end(self) -> None:
        """Raise a syntax error if tokens remain."""
        tok = self.peek()
        if tok is not None:
            raise syntax_error(tok.display())
