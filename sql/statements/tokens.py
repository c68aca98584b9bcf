"""A token cursor for the Hive forms sqlglot leaves as an opaque ``Command``.

``SHOW ...``, ``MSCK REPAIR TABLE``, ``ALTER TABLE ... ADD|DROP PARTITION``,
``CHANGE COLUMN``, ``UNSET TBLPROPERTIES``, ``CREATE DATABASE ... WITH DBPROPERTIES``
and ``RESET`` are parsed here by recursive descent over sqlglot's own Hive tokens
(so quoting and escapes match the rest of the dialect), keeping every token's offset
for error positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from sqlglot.dialects.hive import Hive
from sqlglot.tokens import Token, TokenType

from sql.statements.errors import StatementError, offset_position


class _Tokenizer(Hive.Tokenizer):
    COMMANDS: ClassVar[set] = set()  # tokenize SHOW/ALTER/... bodies instead of swallowing them


@dataclass(frozen=True, slots=True)
class Name:
    db: str | None
    name: str
    offset: int

    @property
    def text(self) -> str:
        return f"{self.db}.{self.name}" if self.db else self.name


class Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[Token] = []
        for t in _Tokenizer().tokenize(text):
            if t.token_type == TokenType.SEMICOLON:
                continue
            if t.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) and " " in t.text.strip():
                # multi-word keywords ("MSCK REPAIR") become one token per word
                for m in re.finditer(r"\S+", text[t.start : t.end + 1]):
                    self.toks.append(Token(TokenType.VAR, m.group(0), t.line, t.col, t.start + m.start(), t.start + m.end() - 1))
                continue
            self.toks.append(t)
        self.i = 0

    # -- cursor -----------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def offset(self) -> int:
        tok = self.peek()
        return tok.start if tok is not None else len(self.text.rstrip().rstrip(";"))

    def position(self, offset: int | None = None) -> tuple[int, int]:
        return offset_position(self.text, self.offset() if offset is None else offset)

    def error(self, message: str, offset: int | None = None) -> StatementError:
        return StatementError(message, *self.position(offset))

    def is_kw(self, *words: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok is not None and tok.token_type != TokenType.STRING and tok.text.upper() in words

    def accept(self, *words: str) -> bool:
        """Consume the keyword sequence ``words`` if it is next."""
        for k, w in enumerate(words):
            if not self.is_kw(w, ahead=k):
                return False
        self.i += len(words)
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            tok = self.peek()
            found = "end of statement" if tok is None else repr(tok.text)
            raise self.error(f"Expected {' '.join(words)}, found {found}")

    def accept_punct(self, ch: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.text == ch and tok.token_type != TokenType.STRING:
            self.i += 1
            return True
        return False

    def expect_punct(self, ch: str) -> None:
        if not self.accept_punct(ch):
            tok = self.peek()
            raise self.error(f"Expected {ch!r}, found {'end of statement' if tok is None else repr(tok.text)}")

    def expect_end(self) -> None:
        if not self.at_end():
            raise self.error(f"Unexpected {self.peek().text!r}")  # type: ignore[union-attr]

    # -- pieces -----------------------------------------------------------------------

    def identifier(self, what: str = "a name") -> tuple[str, int]:
        tok = self.peek()
        if tok is None or tok.token_type == TokenType.STRING or not (tok.text[:1].isalnum() or tok.text[:1] == "_" or tok.token_type == TokenType.IDENTIFIER):
            raise self.error(f"Expected {what}")
        self.i += 1
        return tok.text, tok.start

    def qualified_name(self, what: str = "a table name") -> Name:
        first, off = self.identifier(what)
        if self.accept_punct("."):
            second, _ = self.identifier(what)
            return Name(first.lower(), second.lower(), off)
        return Name(None, first.lower(), off)

    def string(self, what: str = "a quoted string") -> str:
        tok = self.peek()
        if tok is None or tok.token_type != TokenType.STRING:
            raise self.error(f"Expected {what}")
        self.i += 1
        return tok.text

    def literal_text(self) -> str | None:
        """A partition value: quoted string, number (with sign) or NULL."""
        tok = self.peek()
        if tok is None:
            raise self.error("Expected a value")
        if tok.token_type == TokenType.STRING:
            self.i += 1
            return tok.text
        sign = ""
        if tok.text in ("-", "+"):
            sign = tok.text
            self.i += 1
            tok = self.peek()
            if tok is None:
                raise self.error("Expected a number")
        if tok.token_type == TokenType.NUMBER:
            self.i += 1
            return sign + tok.text
        if tok.text.upper() == "NULL":
            self.i += 1
            return None
        if tok.text.upper() in ("TRUE", "FALSE"):
            self.i += 1
            return tok.text.lower()
        raise self.error(f"Expected a value, found {tok.text!r}")

    def partition_spec(self, allow_dynamic: bool = False) -> tuple[list[tuple[str, str | None]], int]:
        """``PARTITION (k = v, k2 [= v2])`` after the PARTITION keyword was seen."""
        start = self.offset()
        self.expect_punct("(")
        out: list[tuple[str, str | None]] = []
        while True:
            name, _ = self.identifier("a partition column")
            if self.accept_punct("="):
                out.append((name.lower(), self.literal_text()))
            elif allow_dynamic:
                out.append((name.lower(), None))
            else:
                raise self.error(f"Partition column {name} needs a value")
            if self.accept_punct(")"):
                return out, start
            self.expect_punct(",")

    def properties(self) -> list[tuple[str, str]]:
        """``('k' = 'v', ...)``."""
        self.expect_punct("(")
        out = []
        while True:
            k = self.string("a property name")
            self.expect_punct("=")
            out.append((k, self.string("a property value")))
            if self.accept_punct(")"):
                return out
            self.expect_punct(",")

    def string_list(self) -> list[str]:
        """``('k', ...)``."""
        self.expect_punct("(")
        out = []
        while True:
            out.append(self.string("a property name"))
            if self.accept_punct(")"):
                return out
            self.expect_punct(",")

    def rest_text(self) -> str:
        """The raw text from the current token to the end (a type, an expression)."""
        return self.text[self.offset():].strip().rstrip(";").strip()
