"""Statistics: computing them from batches (ANALYZE) and storing typed values as JSON.

Distinct counts are exact up to ``DISTINCT_EXACT_LIMIT`` values per column, after which
the count seen so far is kept as a lower-bound estimate (what the planner needs is an
order of magnitude). min/max are for orderable primitive columns only.
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

DISTINCT_EXACT_LIMIT = 1_000_000


def encode_value(v: Any) -> Any:
    """A JSON-safe, type-tagged form of a statistic value."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, datetime.datetime):
        return {"timestamp": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"date": v.isoformat()}
    return None


def decode_value(v: Any) -> Any:
    if isinstance(v, dict):
        if "decimal" in v:
            return decimal.Decimal(v["decimal"])
        if "timestamp" in v:
            return datetime.datetime.fromisoformat(v["timestamp"])
        if "date" in v:
            return datetime.date.fromisoformat(v["date"])
        return None
    return v


def _orderable(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_string(t) or pa.types.is_date(t) or pa.types.is_timestamp(t)
            or pa.types.is_boolean(t))


@dataclass(slots=True)
class _ColumnAcc:
    type: pa.DataType
    nulls: int = 0
    min: Any = None
    max: Any = None
    uniques: list[pa.Array] = field(default_factory=list)
    unique_count: int = 0
    capped: bool = False

    def add(self, arr: pa.Array) -> None:
        self.nulls += arr.null_count
        if not _orderable(self.type):
            return
        mm = pc.min_max(arr)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        if lo is not None:
            if isinstance(lo, float) and math.isnan(lo):
                lo = None
            self.min = lo if self.min is None or (lo is not None and lo < self.min) else self.min
            self.max = hi if self.max is None or (hi is not None and hi > self.max) else self.max
        if not self.capped:
            self.uniques.append(pc.unique(arr.drop_null()))
            if len(self.uniques) > 16:
                self._compact()

    def merge(self, other: _ColumnAcc) -> None:
        """Fold in another task's accumulator of the same column."""
        self.nulls += other.nulls
        for v in (other.min, other.max):
            if v is not None:
                self.min = v if self.min is None or v < self.min else self.min
                self.max = v if self.max is None or v > self.max else self.max
        if other.capped:
            self.capped, self.uniques = True, []
            self.unique_count = max(self.unique_count, other.unique_count)
        elif not self.capped:
            self.uniques.extend(other.uniques)
            if len(self.uniques) > 16:
                self._compact()

    def _compact(self) -> None:
        merged = pc.unique(pa.chunked_array(self.uniques, self.type))
        self.unique_count = len(merged)
        self.uniques = [merged]
        if self.unique_count > DISTINCT_EXACT_LIMIT:
            self.capped = True
            self.uniques = []

    def result(self) -> tuple[Any, Any, int, int | None]:
        if not _orderable(self.type):
            return None, None, self.nulls, None
        if not self.capped:
            self._compact()
        return self.min, self.max, self.nulls, self.unique_count


@dataclass(frozen=True, slots=True)
class ComputedStats:
    row_count: int
    columns: dict[str, tuple[Any, Any, int, int | None]]


class StatsAccumulator:
    """Statistics of everything ``add``-ed: row count and, for ``columns``, per-column
    (min, max, null count, distinct count)."""

    def __init__(self, schema: pa.Schema, columns: Iterable[str] | None) -> None:
        self.names = list(columns or [])
        self.accs = {n: _ColumnAcc(schema.field(n).type) for n in self.names}
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for n in self.names:
            self.accs[n].add(batch.column(batch.schema.get_field_index(n)))

    def merge(self, other: StatsAccumulator) -> StatsAccumulator:
        self.rows += other.rows
        for n in self.names:
            self.accs[n].merge(other.accs[n])
        return self

    def result(self) -> ComputedStats:
        return ComputedStats(self.rows, {n: a.result() for n, a in self.accs.items()})


def compute(batches: Iterable[pa.RecordBatch], schema: pa.Schema, with_columns: Iterable[str] | None) -> ComputedStats:
    """Row count, and per-column (min, max, null count, distinct count) if asked."""
    acc = StatsAccumulator(schema, with_columns)
    for batch in batches:
        acc.add(batch)
    return acc.result()
