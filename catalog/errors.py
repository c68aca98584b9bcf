"""Typed catalog errors; every message names the object it is about.

The SQL session maps these onto PEP 249 exceptions (``ProgrammingError`` for the
"not found / exists / bad spec" family, ``OperationalError`` for locks and I/O,
``DataError`` for unparseable data) and adds the statement position.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base class of everything the catalog raises on purpose."""


class DatabaseNotFound(CatalogError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Database not found: {name}")
        self.name = name


class DatabaseExists(CatalogError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Database already exists: {name}")
        self.name = name


class DatabaseNotEmpty(CatalogError):
    def __init__(self, name: str, tables: int) -> None:
        super().__init__(
            f"Database {name} is not empty ({tables} table(s)); use DROP DATABASE ... CASCADE"
        )
        self.name = name


class TableNotFound(CatalogError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Table or view not found: {name}")
        self.name = name


class TableExists(CatalogError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Table already exists: {name}")
        self.name = name


class NotATable(CatalogError):
    """A view used where a table is required, or the other way round."""


class ColumnError(CatalogError):
    """Unknown, duplicate or ill-typed column."""


class PartitionSpecError(CatalogError):
    """A PARTITION (...) clause that does not match the table's partition columns."""


class PartitionNotFound(CatalogError):
    pass


class PartitionExists(CatalogError):
    pass


class HiveTypeError(CatalogError):
    """A Hive type string that does not parse, or an Arrow type with no Hive equivalent."""


class MetastoreLocked(CatalogError):
    """Another process holds the metastore's write lock longer than the busy timeout."""


class MetastoreVersionError(CatalogError):
    """The metastore was written by a newer Lamna than this one."""


class DataFormatError(CatalogError):
    """A data file that cannot be read, or (strict mode) a field that does not parse.

    ``path`` always names the file; ``line`` and ``column`` are set when known (1-based).
    """

    def __init__(
        self, message: str, path: str, line: int | None = None, column: str | None = None
    ) -> None:
        where = path if line is None else f"{path}, line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{message} ({where})")
        self.path = path
        self.line = line
        self.column = column


class WriteError(CatalogError):
    """A write that failed; the table keeps its previous contents."""
