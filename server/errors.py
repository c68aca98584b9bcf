"""SQLSTATE codes: the server's own errors, and the engine's PEP 249 errors mapped onto them.

Clients branch on SQLSTATE (psql prints it, pgJDBC and psycopg raise by class), so the
code must say what happened; the message is the engine's, without a traceback.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sql

log = logging.getLogger(__name__)

SUCCESSFUL = "00000"
WARNING = "01000"
FEATURE_NOT_SUPPORTED = "0A000"
PROTOCOL_VIOLATION = "08P01"
INVALID_PASSWORD = "28P01"
INVALID_AUTHORIZATION = "28000"
SYNTAX_ERROR = "42601"
UNDEFINED_TABLE = "42P01"
UNDEFINED_COLUMN = "42703"
UNDEFINED_FUNCTION = "42883"
UNDEFINED_OBJECT = "42704"
DUPLICATE_TABLE = "42P07"
DUPLICATE_CURSOR = "42P03"
INVALID_CURSOR_NAME = "34000"
INVALID_SQL_STATEMENT_NAME = "26000"
DUPLICATE_PREPARED_STATEMENT = "42P05"
INSUFFICIENT_PRIVILEGE = "42501"
DATATYPE_MISMATCH = "42804"
SYNTAX_OR_ACCESS = "42000"
DATA_EXCEPTION = "22000"
INVALID_TEXT_REPRESENTATION = "22P02"
DIVISION_BY_ZERO = "22012"
QUERY_CANCELED = "57014"
ADMIN_SHUTDOWN = "57P01"
TOO_MANY_CONNECTIONS = "53300"
OUT_OF_MEMORY = "53200"
IN_FAILED_TRANSACTION = "25P02"
OPERATIONAL = "58000"
INTERNAL = "XX000"


@dataclass
class PgError(Exception):
    """An error to send to the client as an ErrorResponse."""

    code: str
    message: str
    position: int | None = None
    detail: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


_LINE_COL = re.compile(r"\s*\(line (\d+):(\d+)\)\s*$")


def _position(text: str, line: int | None, column: int | None) -> int | None:
    """1-based character offset of ``line:column`` in ``text`` (PostgreSQL's P field)."""
    if line is None or column is None:
        return None
    lines = text.split("\n")
    if line < 1 or line > len(lines):
        return None
    offset = sum(len(x) + 1 for x in lines[:line - 1])
    return offset + max(1, min(column, len(lines[line - 1]) + 1))


def _with_sqlstate(ex: BaseException) -> BaseException | None:
    """The exception, or one it was raised from, that carries a ``sqlstate``."""
    seen: set[int] = set()
    current: BaseException | None = ex
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(getattr(current, "sqlstate", None), str):
            return current
        current = current.__cause__ or current.__context__
    return None


def engine_error(ex: Exception, position_text: str | None, statement: str) -> PgError:
    """What a client is told about ``ex``, raised while the engine ran ``statement``
    (on the server or a query process): a PgError as it is, the engine's own errors
    mapped with positions in ``position_text`` (the text the client sent, if it is what
    the engine saw), anything else as an internal error, logged."""
    if isinstance(ex, PgError):
        return ex
    if isinstance(ex, sql.Error):
        return from_engine(ex, position_text)
    error = from_engine(ex, None)
    if error.code == INTERNAL:
        log.warning("engine error in %r: %s", statement[:200], ex, exc_info=log.isEnabledFor(logging.DEBUG))
    return error


def from_engine(ex: BaseException, text: str | None) -> PgError:
    """Map an exception from ``sql`` to a PgError; ``text`` is the SQL the engine saw.

    Positions are only reported when ``text`` is what the client sent (no translation).
    """
    coded = _with_sqlstate(ex)
    if coded is not None:  # the engine said which SQLSTATE (a memory cap, say)
        return PgError(str(coded.sqlstate), str(coded) or type(coded).__name__)  # type: ignore[attr-defined]
    message = str(ex)
    bare = getattr(ex, "bare", None)
    line, column = getattr(ex, "line", None), getattr(ex, "column", None)
    m = _LINE_COL.search(message)
    if m:
        if line is None:
            line, column = int(m.group(1)), int(m.group(2))
        message = message[:m.start()]
    if bare:
        message = bare
    position = _position(text, line, column) if text is not None else None
    low = message.lower()
    if type(ex).__name__ in ("JobCancelled", "TaskKilled") or "cancelled" in low and "job" in low:
        return PgError(QUERY_CANCELED, "canceling statement due to user request")
    if isinstance(ex, sql.ParseError) or low.startswith("syntax error"):
        code = SYNTAX_ERROR
    elif "not found" in low and ("table" in low or "view" in low):
        code = UNDEFINED_TABLE
    elif "cannot be resolved" in low or ("column" in low and ("not found" in low or "unknown" in low)):
        code = UNDEFINED_COLUMN
    elif "function" in low and ("unknown" in low or "undefined" in low or "not found" in low):
        code = UNDEFINED_FUNCTION
    elif "already exists" in low:
        code = DUPLICATE_TABLE
    elif "database" in low and ("not found" in low or "does not exist" in low):
        code = "3F000"
    elif isinstance(ex, sql.NotSupportedError):
        code = FEATURE_NOT_SUPPORTED
    elif isinstance(ex, sql.DataError):
        code = DATA_EXCEPTION
    elif isinstance(ex, sql.ProgrammingError):
        code = SYNTAX_OR_ACCESS
    elif isinstance(ex, sql.OperationalError):
        code = OPERATIONAL
    elif isinstance(ex, (ArithmeticError, ValueError, TypeError)):
        code = DATA_EXCEPTION
    else:
        code = INTERNAL
    return PgError(code, message.strip() or type(ex).__name__, position)
