"""Statement errors: PEP 249 exceptions that name the object and the position.

``StatementError`` and friends subclass ``sql.errors``' PEP 249 classes, so the session
can re-raise them unchanged; ``bare`` is the message without position, ``line`` and
``column`` are 1-based, ``cause`` the catalog error behind it (if any).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlglot
from sqlglot import exp

from catalog import errors as cerr
from sql import errors as pep


class _Positioned:
    def _init(self, message: str, line: int | None, column: int | None) -> str:
        self.bare, self.line, self.column = message, line, column
        return f"{message} (line {line}:{column})" if line is not None else message


class StatementError(pep.ProgrammingError, _Positioned):
    """Unknown or existing object, wrong partition spec, type mismatch, bad syntax."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(self._init(message, line, column))


class StatementOperationalError(pep.OperationalError, _Positioned):
    """Locked metastore, unreadable files."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(self._init(message, line, column))


class StatementDataError(pep.DataError, _Positioned):
    """Data that does not parse (strict text mode) or does not fit its column."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(self._init(message, line, column))


class StatementNotSupported(pep.NotSupportedError, _Positioned):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(self._init(message, line, column))


Position = tuple[int, int]


def offset_position(text: str, offset: int) -> Position:
    """1-based (line, column) of a character offset in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def node_position(node: exp.Expression | None, text: str) -> Position:
    """Where a parsed node starts: the earliest token offset sqlglot recorded under it."""
    if node is None:
        return 1, 1
    starts = [
        n.meta["start"] for n in node.walk() if isinstance(n, exp.Expression) and "start" in n.meta
    ]
    if not starts:
        return 1, 1
    return offset_position(text, min(starts))


def error_class(e: BaseException) -> type:
    if isinstance(e, (cerr.MetastoreLocked,)):
        return StatementOperationalError
    if isinstance(e, cerr.DataFormatError):
        return StatementDataError
    if isinstance(e, cerr.WriteError) and "does not convert" in str(e):
        return StatementError
    return StatementError


@contextmanager
def located(position: Position) -> Iterator[None]:
    """Turn catalog errors raised inside into positioned PEP 249 errors."""
    try:
        yield
    except cerr.CatalogError as e:
        cls = error_class(e)
        err = cls(str(e), *position)
        err.cause = e  # type: ignore[attr-defined]
        raise err from e
    except sqlglot.errors.ParseError as e:
        raise StatementError(f"Syntax error: {e}", *position) from e
