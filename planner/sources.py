"""An in-memory ``ScanSource`` over a ``pyarrow.Table`` (``conn.register_arrow`` and tests)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from catalog.scan import ColumnStatistics, ScanSplit, TableStatistics


@dataclass(frozen=True, eq=False)
class ArrowTableSource:
    """Splits the table into row ranges of about ``rows_per_split`` rows."""

    table: pa.Table
    rows_per_split: int = 1_000_000
    in_memory = True  # already decoded: re-reading is cheap, scans are never shared
    name: str = "arrow"
    _stats: list = field(default_factory=list, repr=False)

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return ()

    def statistics(self) -> TableStatistics | None:
        if not self._stats:
            cols = {}
            for f in self.table.schema:
                c = self.table.column(f.name)
                cols[f.name] = ColumnStatistics(null_count=c.null_count)
            self._stats.append(TableStatistics(row_count=self.table.num_rows,
                                               total_bytes=self.table.nbytes, columns=cols))
        return self._stats[0]

    def splits(self, predicate: pc.Expression | None = None) -> list[ScanSplit]:
        n = self.table.num_rows
        step = max(1, self.rows_per_split)
        out = [ScanSplit(path=f"memory:{self.name}", format="arrow", start=s, length=min(step, n - s),
                         size_bytes=0) for s in range(0, n, step)]
        return out or [ScanSplit(path=f"memory:{self.name}", format="arrow", start=0, length=0)]

    def read_split(self, split: ScanSplit, columns: Sequence[str] | None = None,
                   predicate: pc.Expression | None = None) -> Iterator[pa.RecordBatch]:
        t = self.table.slice(split.start, split.length or 0)
        if columns is not None:
            t = t.select(list(columns))
        # ``predicate`` only prunes splits (like file sources); the planner filters rows.
        yield from t.to_batches(max_chunksize=256 * 1024)
