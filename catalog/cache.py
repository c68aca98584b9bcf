"""The columnar table cache (Shark's memory store): ``CACHE TABLE`` keeps a table's rows
in memory as Arrow, one chunk per storage split, with per-chunk column statistics so
that scans skip chunks a predicate rules out.

* ``TableCache`` holds the chunks, LRU under a byte budget. One per process by default;
  a server passes one ``TableCache`` to every session's ``Catalog.open`` to share it.
* An entry remembers the table's data version: a write (in any process) moves the
  version, the entry no longer matches and is rebuilt from storage on the next scan.
  A table marked cached (property ``lamna.cached``) is rebuilt the same way after an
  eviction or a restart.
* ``CachedTableSource`` is the ``ScanSource`` of a cached table. It pickles as plain
  data (an entry id, the storage snapshot and chunk statistics, never the rows): a
  task in this process reads the chunk from memory, a task in a worker process (or
  after an eviction) reads the same rows from the chunk's storage split.
"""

from __future__ import annotations

import functools
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from catalog.files import resolve
from catalog.formats.text import rows_only
from catalog.scan import ColumnStatistics, ScanSplit, TableStatistics
from catalog.source import TableSource

CACHED_PROPERTY = "lamna.cached"
DEFAULT_BUDGET_BYTES = 2 << 30

# Entry id -> rows, for tasks running in this process. Weak: the TableCache owns the
# rows; once it evicts them, scans fall back to storage instead of keeping them alive.
_LIVE: weakref.WeakValueDictionary[str, _Entry] = weakref.WeakValueDictionary()


class _Entry:
    """One cached table: chunks (one per storage split) and what they describe."""

    def __init__(self, key: tuple[str, str], version: int, chunks: list[pa.Table]) -> None:
        self.id = uuid.uuid4().hex
        self.key = key
        self.version = version
        self.chunks = chunks
        self.nbytes = sum(c.nbytes for c in chunks)


class TableCache:
    """Cached tables of a process, least recently used evicted beyond ``budget_bytes``."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._sources: dict[tuple[str, str], tuple[tuple[ScanSplit, ...], tuple[dict[str, ColumnStatistics], ...]]] = {}
        self._too_big: dict[tuple[str, str], int] = {}  # key -> data version that did not fit
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], version: int) -> _Entry | None:
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return None
            if e.version != version:  # written since: stale everywhere
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return e

    def put(self, entry: _Entry, splits: tuple[ScanSplit, ...], stats: tuple[dict[str, ColumnStatistics], ...]) -> bool:
        """Keep ``entry``; False if it alone exceeds the budget (it is then not kept)."""
        with self._lock:
            self._drop(entry.key)
            if entry.nbytes > self.budget_bytes:
                self._too_big[entry.key] = entry.version
                return False
            self._entries[entry.key] = entry
            self._sources[entry.key] = (splits, stats)
            _LIVE[entry.id] = entry
            while sum(e.nbytes for e in self._entries.values()) > self.budget_bytes:
                oldest = next(iter(self._entries))
                self._drop(oldest)
            return True

    def fits(self, key: tuple[str, str], version: int) -> bool:
        """False when this version of the table was already found too big to cache
        (so every scan does not read it twice trying again)."""
        with self._lock:
            return self._too_big.get(key) != version

    def layout(self, key: tuple[str, str]) -> tuple[tuple[ScanSplit, ...], tuple[dict[str, ColumnStatistics], ...]]:
        with self._lock:
            return self._sources[key]

    def drop(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return self._drop(key)

    def _drop(self, key: tuple[str, str]) -> bool:
        e = self._entries.pop(key, None)
        self._sources.pop(key, None)
        if e is not None:
            _LIVE.pop(e.id, None)
        return e is not None

    def clear(self) -> list[tuple[str, str]]:
        with self._lock:
            keys = list(self._entries)
            for k in keys:
                self._drop(k)
            return keys

    def keys(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._entries)

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return sum(e.nbytes for e in self._entries.values())


def chunk_statistics(table: pa.Table) -> dict[str, ColumnStatistics]:
    """min/max/null count of each orderable column of one chunk (for pruning)."""
    out = {}
    for f in table.schema:
        col = table.column(f.name)
        t = f.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_string(t)
                or pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_boolean(t)):
            out[f.name] = ColumnStatistics(null_count=col.null_count)
            continue
        mm = pc.min_max(col)
        out[f.name] = ColumnStatistics(mm["min"].as_py(), mm["max"].as_py(), col.null_count)
    return out


def read_chunk(source: TableSource, split: ScanSplit) -> pa.Table:
    """Task body: one storage split as one in-memory chunk."""
    batches = list(source.read_split(split))
    return (pa.Table.from_batches(batches, schema=source.schema).combine_chunks()
            if batches else source.schema.empty_table())


def build(source: TableSource, version: int, cache: TableCache, rdd_context: Any = None) -> _Entry | None:
    """Read every split of ``source`` into memory and cache it: as parallel tasks of
    ``rdd_context`` when given (their chunks are collected here), else in this thread."""
    splits = tuple(source.splits())
    task = functools.partial(read_chunk, source)
    if rdd_context is not None and len(splits) > 1:
        chunks = rdd_context.parallelize(list(splits), len(splits)).map(task).collect()
    else:
        chunks = [task(s) for s in splits]
    entry = _Entry((source.table.db, source.table.name), version, chunks)
    stats = tuple(chunk_statistics(c) for c in chunks)
    return entry if cache.put(entry, splits, stats) else None


@dataclass(frozen=True, slots=True)
class CachedTableSource:
    """``ScanSource`` over a cached table (see the module docstring)."""

    storage: TableSource
    entry_id: str
    storage_splits: tuple[ScanSplit, ...]
    chunk_stats: tuple[dict[str, ColumnStatistics], ...]
    row_count: int

    @property
    def schema(self) -> pa.Schema:
        return self.storage.schema

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return self.storage.partition_columns

    def statistics(self) -> TableStatistics | None:
        base = self.storage.statistics() or TableStatistics()
        return replace(base, row_count=self.row_count)

    def splits(self, predicate: pc.Expression | None = None) -> list[ScanSplit]:
        keep = self._prune(predicate)
        return [
            ScanSplit(path=f"lamna-cache:{self.entry_id}", format="cache", start=i,
                      size_bytes=self.storage_splits[i].size_bytes,
                      partition_values=self.storage_splits[i].partition_values)
            for i in keep
        ]

    def read_split(
        self, split: ScanSplit, columns: Sequence[str] | None = None, predicate: pc.Expression | None = None,
    ) -> Iterator[pa.RecordBatch]:
        entry = _LIVE.get(self.entry_id)
        if entry is None:  # another process, or evicted meanwhile: the same rows from storage
            yield from self.storage.read_split(self.storage_splits[split.start], columns, predicate)
            return
        chunk = entry.chunks[split.start]
        if columns is not None and not columns:
            yield rows_only(chunk.num_rows)  # count(*): rows, no columns
            return
        if columns is not None:
            chunk = chunk.select(list(columns))
        yield from chunk.to_batches(max_chunksize=256 * 1024)

    def _prune(self, predicate: pc.Expression | None) -> list[int]:
        n = len(self.storage_splits)
        if predicate is None or n == 0:
            return list(range(n))
        guarantees = [self._guarantee(s) for s in self.chunk_stats]
        try:
            dataset = ds.FileSystemDataset.from_paths(
                [f"/c/{i}" for i in range(n)], schema=self.schema, format=ds.IpcFileFormat(),
                filesystem=resolve("/")[0], partitions=guarantees,
            )
            return sorted(int(f.path.rsplit("/", 1)[1]) for f in dataset.get_fragments(filter=predicate))
        except (pa.ArrowException, TypeError, ValueError):
            return list(range(n))

    def _guarantee(self, stats: dict[str, ColumnStatistics]) -> pc.Expression:
        """What every row of a chunk satisfies, from its min/max/null count."""
        expr = pc.scalar(True)
        for name, s in stats.items():
            f = self.schema.field(name)
            if s.min is None or s.max is None:
                continue
            lo, hi = pa.scalar(s.min, f.type), pa.scalar(s.max, f.type)
            term = (pc.field(name) >= lo) & (pc.field(name) <= hi)
            if s.null_count:
                term = term | pc.field(name).is_null()
            expr = expr & term
        return expr

    def __reduce__(self) -> tuple[Any, ...]:
        # plain data only: the rows stay in this process's cache
        return (CachedTableSource, (self.storage, self.entry_id, self.storage_splits, self.chunk_stats, self.row_count))
