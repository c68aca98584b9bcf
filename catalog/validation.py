"""Checks and normal forms of table definitions (names, columns, partition values)."""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Sequence
from dataclasses import replace

import pyarrow as pa

from catalog.convert import partition_text
from catalog.errors import (
    ColumnError,
    PartitionSpecError,
)
from catalog.formats.textconv import parse_column
from catalog.model import (
    VIEW,
    Column,
    Table,
)
from catalog.types import parse_hive_type

log = logging.getLogger(__name__)


#: a partition spec as given by a statement: (column, value text or None for dynamic)
PartitionSpec = Sequence[tuple[str, str | None]]


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """Hive SHOW ... LIKE pattern: ``*`` any, ``|`` alternatives, case-insensitive."""
    alts = [fnmatch.translate(p.strip().lower()) for p in pattern.split("|")]
    return re.compile("|".join(f"(?:{a})" for a in alts))


def normalize_table(t: Table) -> Table:
    lower = lambda cs: tuple(replace(c, name=c.name.lower()) for c in cs)
    return replace(
        t, db=t.db.lower(), name=t.name.lower(), columns=lower(t.columns),
        partition_columns=lower(t.partition_columns),
        bucket_columns=tuple(b.lower() for b in t.bucket_columns),
        sort_columns=tuple((c.lower(), d) for c, d in t.sort_columns),
    )


def check_columns(t: Table) -> None:
    seen: set[str] = set()
    for c in t.all_columns:
        if c.name in seen:
            raise ColumnError(f"Duplicate column {c.name} in {t.qualified_name}")
        seen.add(c.name)
        parse_hive_type(c.type)
    for c in t.partition_columns:
        if parse_hive_type(c.type).is_complex:
            raise ColumnError(f"Partition column {c.name} of {t.qualified_name} cannot be of type {c.type}")
    names = {c.name: c for c in t.columns}
    for what, cols in (("Bucket", t.bucket_columns), ("Sort", tuple(c for c, _ in t.sort_columns))):
        for b in cols:
            if b not in names:
                raise ColumnError(f"{what} column {b} is not a (non-partition) column of {t.qualified_name}")
            if parse_hive_type(names[b].type).is_complex:
                raise ColumnError(f"{what} column {b} of {t.qualified_name} cannot be of type {names[b].type}")
    if t.num_buckets is not None and (t.num_buckets < 1 or not t.bucket_columns):
        raise ColumnError(f"Table {t.qualified_name} needs bucket columns and at least 1 bucket, "
                          f"not {t.num_buckets}")
    if t.kind != VIEW and not t.columns:
        raise ColumnError(f"Table {t.qualified_name} needs at least one column")


def check_partition_value(t: Table, col: Column, value: str) -> str:
    """Validate a partition value against its column type; returns its canonical text."""
    parsed = parse_column(pa.array([value]), parse_hive_type(col.type), ("\x01",) * 8, "\x00")
    if parsed.bad.any() or (parsed.array[0].as_py() is None and value != ""):
        raise PartitionSpecError(
            f"Partition value {value!r} of {t.qualified_name}.{col.name} is not a valid {col.type}"
        )
    if parsed.array[0].as_py() is None:
        return value
    return partition_text(parsed.array)[0].as_py()
