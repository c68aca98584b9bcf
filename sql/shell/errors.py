"""One clear message per failed statement: the error, the statement line, a caret.

The engine's errors carry a 1-based line:column (as attributes, or as a ``(line L:C)``
suffix of the message); a server's errors carry PostgreSQL's character position. Both
become the same picture, so embedded and remote runs print the same text:

    Error: Column 'nope' cannot be resolved
    LINE 1: select nope from t
                   ^
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SUFFIX = re.compile(r"\s*\(line (\d+):(\d+)\)\s*$")


@dataclass(frozen=True)
class ErrorReport:
    message: str
    line: int | None = None
    column: int | None = None
    internal: bool = False  # a bug, not a user error: worth a traceback under --debug


def _position_to_line_col(text: str, position: int) -> tuple[int, int]:
    """1-based (line, column) of PostgreSQL's 1-based character ``position`` in ``text``."""
    offset = max(0, min(position - 1, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _first_line(message: str) -> str:
    return message.strip().split("\n", 1)[0] if message.strip() else message


def classify(exc: BaseException, statement: str) -> ErrorReport:
    """The message and position of ``exc`` raised by running ``statement``."""
    diag = getattr(exc, "diag", None)
    if diag is not None:  # psycopg: the server's fields
        message = diag.message_primary or str(exc)
        m = _SUFFIX.search(message)
        if m:
            return ErrorReport(message[:m.start()], int(m.group(1)), int(m.group(2)))
        pos = diag.statement_position
        if pos:
            return ErrorReport(message, *_position_to_line_col(statement, int(pos)))
        return ErrorReport(_first_line(message))
    from sql import errors as E  # the engine is loaded by the time a statement failed

    if not isinstance(exc, E.Error):
        return ErrorReport(f"internal error: {type(exc).__name__}: {exc}", internal=True)
    bare, line, column = getattr(exc, "bare", None), getattr(exc, "line", None), getattr(exc, "column", None)
    if isinstance(bare, str) and isinstance(line, int):
        return ErrorReport(bare, line, column if isinstance(column, int) else None)
    message = str(exc)
    m = _SUFFIX.search(message)
    if m:
        return ErrorReport(message[:m.start()], int(m.group(1)), int(m.group(2)))
    return ErrorReport(message)


#: Longer statement lines are cut to a window around the caret (psql does the same).
WINDOW = 100


def render(report: ErrorReport, statement: str, where: str = "") -> list[str]:
    """The lines to print: ``where`` (e.g. ``file.sql:12: ``) prefixes the message."""
    lines = [f"{where}Error: {report.message}"]
    src = statement.split("\n")
    if report.line is not None and 1 <= report.line <= len(src):
        text = src[report.line - 1].expandtabs(1)
        col = min(report.column - 1, len(text)) if report.column and report.column >= 1 else None
        if len(text) > WINDOW:
            start = 0 if col is None else max(0, min(col - WINDOW // 2, len(text) - WINDOW))
            cut = text[start:start + WINDOW]
            head, tail = ("..." if start > 0 else ""), ("..." if start + WINDOW < len(text) else "")
            text = head + cut + tail
            if col is not None:
                col = col - start + len(head)
        prefix = f"LINE {report.line}: "
        lines.append(prefix + text)
        if col is not None:
            lines.append(" " * (len(prefix) + col) + "^")
    return lines
