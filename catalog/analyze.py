"""Statistics of the catalog: reading them (for the planner) and ANALYZE TABLE.
A mixin of ``Catalog``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa

from catalog import stats as statsmod
from catalog.errors import (
    ColumnError,
)
from catalog.metastore import Metastore
from catalog.model import (
    Table,
    partition_spec_path,
)
from catalog.scan import ColumnStatistics, TableStatistics
from catalog.validation import PartitionSpec

log = logging.getLogger(__name__)


def split_statistics(source: Any, wanted: tuple[str, ...], schema: pa.Schema,
                     item: tuple[int, Any]) -> tuple[int, statsmod.StatsAccumulator]:
    """Task body: the partial statistics of one split (tagged with its partition's index)."""
    index, split = item
    acc = statsmod.StatsAccumulator(schema, wanted)
    for batch in source.read_split(split, list(wanted)):
        acc.add(batch)
    return index, acc


class StatsOps:
    """Statistics; expects ``metastore``, ``scan_source`` and ``check_partition_spec`` on self."""

    metastore: Metastore

    def statistics(self, db: str, name: str, spec: str = "") -> TableStatistics | None:
        row, cols = self.metastore.get_statistics(db.lower(), name.lower(), spec)
        if row is None and not cols:
            return None
        return TableStatistics(
            row_count=row[0] if row else None,
            total_bytes=row[1] if row else None,
            columns={
                c: ColumnStatistics(statsmod.decode_value(mn), statsmod.decode_value(mx), nulls, distinct)
                for c, (mn, mx, nulls, distinct) in cols.items()
            },
        )

    def analyze(self, db: str, name: str, *, partition: PartitionSpec = (), columns: Sequence[str] | None = None,
                for_columns: bool = False, noscan: bool = False, rdd_context: Any = None) -> dict[str, Any]:
        """ANALYZE TABLE: row count and bytes (and column stats if ``for_columns``),
        for the whole table and each partition analyzed. ``noscan``: file counts and
        bytes only, from the listing (row counts become unknown). With an
        ``rdd_context`` the splits are read by parallel tasks whose partial statistics
        are merged here."""
        t = self._require_table(db, name)
        values = self.check_partition_spec(t, partition, full=False, allow_dynamic=True)
        static = [(k, v) for k, v in values if v is not None]
        if for_columns:
            wanted = [c.name for c in t.columns] if not columns else [self._column_name(t, c) for c in columns]
        else:
            wanted = []
        source = self.scan_source(t.db, t.name, use_cache=False)
        parts = [p for p in source.parts if all(dict(p.raw).get(k) == v for k, v in static)]
        schema = t.arrow_schema()
        whole_table = bool(t.partition_columns) and not static
        table_acc = statsmod.StatsAccumulator(schema, wanted) if whole_table else None
        items = [] if noscan else [
            (i, split) for i, part in enumerate(parts) for split in replace(source, parts=(part,)).splits()
        ]
        task = functools.partial(split_statistics, source, tuple(wanted), schema)
        if rdd_context is not None and len(items) > 1:
            slices = min(len(items), max(1, int(getattr(rdd_context, "defaultParallelism", 2) or 2)) * 2)
            partials = rdd_context.parallelize(items, slices).map(task).collect()
        else:
            partials = [task(item) for item in items]
        accs = [statsmod.StatsAccumulator(schema, wanted) for _ in parts]
        for i, acc in partials:
            accs[i].merge(acc)
            if table_acc is not None:
                table_acc.merge(acc)
        computed_parts = []
        for part, acc in zip(parts, accs):
            spec = partition_spec_path(part.raw) if t.partition_columns else ""
            computed_parts.append((spec, acc.result(), sum(f.size for f in part.files), len(part.files)))
        if table_acc is not None:
            computed_parts.append(("", table_acc.result(), sum(b for _, _, b, _ in computed_parts),
                                   sum(n for _, _, _, n in computed_parts)))
        results: dict[str, Any] = {}
        with self.metastore.transaction() as tx:
            for spec, computed, nbytes, nfiles in computed_parts:
                self.metastore.set_statistics(
                    tx, t.db, t.name, spec, None if noscan else computed.row_count, nbytes, nfiles,
                    {c: (statsmod.encode_value(mn), statsmod.encode_value(mx), nulls, distinct)
                     for c, (mn, mx, nulls, distinct) in computed.columns.items()},
                )
                if spec or not t.partition_columns:
                    results[spec] = computed
        return results

    @staticmethod
    def _column_name(t: Table, name: str) -> str:
        c = t.column(name)
        if c is None or c.name in t.partition_names:
            raise ColumnError(f"Column {name} not found in {t.qualified_name}")
        return c.name
