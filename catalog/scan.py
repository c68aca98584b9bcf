"""The contract between stored data and the planner: statistics, splits and a reader.

Every table the planner can scan (managed Parquet, external text/CSV/JSON/ORC, the
columnar cache, an in-memory Arrow table in tests) is exposed as a ``ScanSource``. The
planner's scan operator only calls ``splits`` on the driver and ``read_split`` inside a
task, so projection and predicate pushdown meet storage in exactly one place, and the
predicate language is Arrow's own (``pyarrow.compute.Expression``): no planner types
leak into the catalog.

A ``ScanSource`` and its ``ScanSplit``s are plain, picklable data: ``read_split`` runs in
executor tasks, possibly in another process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True, slots=True)
class ColumnStatistics:
    """What ANALYZE (or a cache build) learned about one column; any field may be unknown."""

    min: Any = None
    max: Any = None
    null_count: int | None = None
    distinct_count: int | None = None


@dataclass(frozen=True, slots=True)
class TableStatistics:
    """Size estimates that drive join selection and reduce-partition counts."""

    row_count: int | None = None
    total_bytes: int | None = None
    columns: dict[str, ColumnStatistics] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScanSplit:
    """One unit of parallel scan work: a file, a byte range of one, or cached blocks.

    ``partition_values`` are the Hive ``key=value`` directory values of the file, added
    to each batch as constant columns by the reader. ``bucket`` is the bucket the
    split's rows all belong to, for sources with a ``Bucketing``.
    """

    path: str
    format: str
    start: int = 0
    length: int | None = None
    row_groups: tuple[int, ...] | None = None
    partition_values: tuple[tuple[str, Any], ...] = ()
    size_bytes: int = 0
    bucket: int | None = None


@dataclass(frozen=True, slots=True)
class Bucketing:
    """A source whose rows are bucketed (``CLUSTERED BY (columns) INTO num_buckets``).

    Row r is in bucket ``rdd.columnar.hash_partition_ids(rows, columns, num_buckets)[r]``
    (hashed on the declared column types), the hash and modulus of
    ``BatchHashPartitioner(columns, num_buckets)``: a scan that reads the splits of
    bucket i as partition i is partitioned exactly like a shuffle on ``columns`` into
    ``num_buckets`` partitions. Within a bucket of one Hive partition the rows are
    ordered by ``sort_columns`` (``(column, "ASC"|"DESC")``).
    """

    columns: tuple[str, ...]
    num_buckets: int
    sort_columns: tuple[tuple[str, str], ...] = ()


@runtime_checkable
class ScanSource(Protocol):
    """A scannable table. ``schema`` lists data columns then partition columns."""

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def partition_columns(self) -> tuple[str, ...]: ...

    def statistics(self) -> TableStatistics | None: ...

    def splits(self, predicate: pc.Expression | None = None) -> list[ScanSplit]:
        """Splits that may hold rows satisfying ``predicate``.

        Prunes partitions, files and row groups the predicate rules out; may keep
        extra splits (the predicate is re-applied to rows by the planner), never drop
        a split that could hold a matching row.
        """
        ...

    def read_split(
        self,
        split: ScanSplit,
        columns: Sequence[str] | None = None,
        predicate: pc.Expression | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Batches of ``split`` with only ``columns`` (in that order; ``None`` = all).

        ``predicate`` may be used to skip data early but need not be applied exactly.
        A column may come dictionary-encoded (the columnar cache keeps low-cardinality
        strings so); readers cast each column to its ``schema`` type.
        """
        ...


# Optional, not part of the Protocol (so existing sources need not change):
#
#   def describe_splits(self, splits: Sequence[ScanSplit]) -> str
#
# One line on what ``splits`` (a result of ``splits(predicate)``) cover, shown by EXPLAIN
# beside the scan, e.g. the columnar cache's "cached MEMORY_AND_DISK: 1 of 3 partitions
# (2 skipped by statistics)".
