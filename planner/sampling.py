"""TABLESAMPLE with Hive's semantics: bucket sampling on a hash, block sampling by size.

* ``BUCKET x OUT OF y ON c`` keeps the rows whose hash of ``c`` falls in bucket x − 1 of
  y: the engine's deterministic hash (``rdd.columnar.hash_partition_ids``), the one that
  places rows in the files of bucketed tables, so the sample of a table bucketed on ``c``
  into y buckets is exactly its bucket file x − 1 (and its other files are not read when
  the table's bucket count is a multiple of y). ``ON rand()`` puts every row in a random
  bucket instead.
* ``n PERCENT`` is Hive's block sampling: whole splits, starting at split
  ``hive.sample.seednumber`` mod the number of splits and going round, until their size
  reaches n % of the table's — so "at least n %", at split granularity, the same splits
  every time for one seed.

The predicates are Arrow kernels over whole batches; the source wrapper only chooses
splits. Everything here is module-level and picklable, for tasks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.scan import ScanSource, ScanSplit, TableStatistics


def bucket_mask(buckets: int, bucket: int, *columns: pa.Array) -> pa.Array:
    """True for the rows whose hash of ``columns`` is in ``bucket`` (0-based) of ``buckets``."""
    from rdd.columnar import hash_partition_ids

    batch = pa.RecordBatch.from_arrays(list(columns), names=[f"c{i}" for i in range(len(columns))])
    return pa.array(hash_partition_ids(batch, batch.schema.names, buckets) == bucket)


def random_bucket_mask(buckets: int, bucket: int, any_column: pa.Array) -> pa.Array:
    """True for about one row in ``buckets``: each row drawn into a random bucket (``ON rand()``)."""
    return pa.array(np.random.default_rng().integers(0, buckets, len(any_column)) == bucket)


def split_weight(split: ScanSplit) -> int:
    """A split's share of the table: its bytes, else its rows (in-memory tables), else 1."""
    return split.size_bytes or split.length or 1


def block_sample(splits: Sequence[ScanSplit], percent: float, seed: int) -> list[ScanSplit]:
    """Hive's ``n PERCENT``: splits from ``seed`` mod len(splits) on, round the list, until
    their weight reaches ``percent`` of the total (always at least one split unless 0 %).

    >>> s = [ScanSplit(path=str(i), format="x", size_bytes=10) for i in range(4)]
    >>> [x.path for x in block_sample(s, 50, seed=3)]
    ['3', '0']
    """
    if not splits or percent <= 0:
        return []
    target = sum(split_weight(s) for s in splits) * percent / 100
    start = seed % len(splits)
    chosen: list[ScanSplit] = []
    size = 0
    for i in range(len(splits)):
        split = splits[(start + i) % len(splits)]
        chosen.append(split)
        size += split_weight(split)
        if size >= target:
            break
    return chosen


@dataclass(frozen=True, slots=True)
class SampledSource:
    """A ``ScanSource`` that reads only some splits of ``inner``: a block sample
    (``percent``) and/or, for a bucketed table, the bucket files a bucket sample can
    match (``bucket = (x − 1, y)``, used when the table's bucket count is a multiple of y)."""

    inner: Any  # ScanSource
    percent: float | None = None
    seed: int = 0
    bucket: tuple[int, int] | None = None

    @property
    def schema(self) -> pa.Schema:
        return self.inner.schema

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return tuple(self.inner.partition_columns)

    @property
    def in_memory(self) -> bool:  # see planner README, shared scans
        return bool(getattr(self.inner, "in_memory", False))

    def statistics(self) -> TableStatistics | None:
        stats = self.inner.statistics()
        fraction = (self.percent if self.percent is not None else 100) / 100
        if self.bucket is not None:
            fraction /= self.bucket[1]
        if stats is None or fraction >= 1:
            return stats
        rows = None if stats.row_count is None else int(stats.row_count * fraction) + 1
        size = None if stats.total_bytes is None else int(stats.total_bytes * fraction) + 1
        return replace(stats, row_count=rows, total_bytes=size)

    def splits(self, predicate: pc.Expression | None = None) -> list[ScanSplit]:
        splits = list(self.inner.splits(predicate))
        if self.bucket is not None:
            index, buckets = self.bucket
            splits = [s for s in splits if s.bucket is None or s.bucket % buckets == index]
        if self.percent is not None:
            splits = block_sample(splits, self.percent, self.seed)
        return splits

    def read_split(self, split: ScanSplit, columns: Sequence[str] | None = None,
                   predicate: pc.Expression | None = None) -> Iterator[pa.RecordBatch]:
        return self.inner.read_split(split, columns, predicate)

    def describe_splits(self, splits: Sequence[ScanSplit]) -> str:
        what = [f"{self.percent:g} PERCENT seed {self.seed}" if self.percent is not None else "",
                f"bucket files {self.bucket[0]} mod {self.bucket[1]}" if self.bucket is not None else ""]
        inner = getattr(self.inner, "describe_splits", None)
        return "sampled " + ", ".join(w for w in what if w) + (f"; {inner(splits)}" if inner else "")


def bucketing_of(source: ScanSource) -> tuple[tuple[str, ...], int] | None:
    """The bucket columns and count of a table source (``CLUSTERED BY … INTO n BUCKETS``)."""
    table = getattr(source, "table", None)
    columns = tuple(getattr(table, "bucket_columns", ()) or ())
    count = getattr(table, "num_buckets", None)
    return (columns, int(count)) if columns and count else None
