"""The catalog's plain-data records: databases, tables, columns, storage, partitions.

All frozen and picklable, so a description of a table can travel into executor tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from catalog.types import to_arrow

MANAGED = "MANAGED"
EXTERNAL = "EXTERNAL"
VIEW = "VIEW"

#: Hive's null partition directory value.
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"

FORMATS = ("parquet", "textfile", "csv", "json", "orc")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # canonical Hive type text, e.g. "varchar(10)"
    comment: str | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return to_arrow(self.type)


@dataclass(frozen=True, slots=True)
class StorageFormat:
    """How a table's files are laid out: the format plus its serde options.

    Delimiters are single characters; defaults are Hive's LazySimpleSerDe ones.
    """

    format: str = "parquet"
    field_delim: str = "\x01"
    collection_delim: str = "\x02"
    map_key_delim: str = "\x03"
    line_delim: str = "\n"
    escape: str | None = None
    null_format: str = "\\N"
    serde: str | None = None
    serde_properties: tuple[tuple[str, str], ...] = ()
    #: what the user wrote after STORED AS (e.g. TEXTFILE), for SHOW CREATE TABLE
    declared: str | None = None

    @property
    def serde_options(self) -> dict[str, str]:
        return dict(self.serde_properties)


@dataclass(frozen=True, slots=True)
class Database:
    name: str
    location: str
    comment: str | None = None
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    db: str
    name: str
    kind: str
    columns: tuple[Column, ...]
    partition_columns: tuple[Column, ...] = ()
    storage: StorageFormat = field(default_factory=StorageFormat)
    location: str | None = None
    comment: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    view_sql: str | None = None
    bucket_columns: tuple[str, ...] = ()
    sort_columns: tuple[tuple[str, str], ...] = ()  # (column, ASC|DESC)
    num_buckets: int | None = None
    created: float = 0.0
    temporary: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.db}.{self.name}"

    @property
    def is_view(self) -> bool:
        return self.kind == VIEW

    @property
    def props(self) -> dict[str, str]:
        return dict(self.properties)

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns + self.partition_columns

    @property
    def partition_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.partition_columns)

    def data_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])

    def arrow_schema(self) -> pa.Schema:
        """Data columns then partition columns, the order every scan returns."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.all_columns])

    def column(self, name: str) -> Column | None:
        low = name.lower()
        for c in self.all_columns:
            if c.name.lower() == low:
                return c
        return None


@dataclass(frozen=True, slots=True)
class Partition:
    """One partition: its values in partition-column order (``None`` = default partition)."""

    values: tuple[tuple[str, str | None], ...]
    location: str
    created: float = 0.0

    @property
    def spec(self) -> str:
        return partition_spec_path(self.values)

    @property
    def value_dict(self) -> dict[str, str | None]:
        return dict(self.values)


def escape_path_value(value: str) -> str:
    """Hive's escaping of a partition value inside a directory name (%XX for specials)."""
    out = []
    for ch in value:
        if ch in _ESCAPED or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"%{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


_ESCAPED = set('"#%\'*/:=?\\{[]^')


def unescape_path_value(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%" and _is_hex(text[i + 1 : i + 3]):
            out.append(chr(int(text[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _is_hex(s: str) -> bool:
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


def partition_spec_path(values: tuple[tuple[str, str | None], ...] | list[tuple[str, Any]]) -> str:
    """``k1=v1/k2=v2`` with Hive escaping; the partition's identity and relative dir."""
    return "/".join(
        f"{escape_path_value(k)}={DEFAULT_PARTITION if v is None else escape_path_value(str(v))}"
        for k, v in values
    )
