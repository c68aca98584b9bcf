"""PEP 249 exception hierarchy, plus the engine's typed errors mapped onto it."""

from __future__ import annotations

import builtins


class Warning(builtins.Exception):  # noqa: A001 - PEP 249 name
    pass


class Error(builtins.Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class ParseError(ProgrammingError):
    """The SQL text does not parse."""


class BindError(ProgrammingError):
    """A name or type does not resolve; carries the position in the SQL text."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line, self.column, self.bare = line, column, message
        if line is not None:
            message = f"{message} (line {line}:{column})"
        super().__init__(message)
