"""``CachedTableSource``: the ``ScanSource`` of a cached table or query result, and
``ResultFiles``, the storage a cached query's blocks are recomputed from.

A cached source is a plain, picklable snapshot of one cache entry: its storage, its
block layout and (on the driver) the statistics of its blocks. ``splits`` prunes blocks
by those statistics; ``read_split`` runs inside a scan task and asks the executor's
block manager for the block, computing it from its storage split if it is not there
(never built, or evicted under MEMORY_ONLY: recomputed from lineage) or reading it
back from its spill file (evicted under MEMORY_AND_DISK). Outside a task (a driver-side
read) it reads storage directly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.cache.blocks import BlockInfo, compute_block, info_of, read_block
from catalog.cache.policy import rdd_level
from catalog.cache.prune import prune
from catalog.cache.registry import REGISTRY, BlockRef
from catalog.scan import ScanSource, ScanSplit, TableStatistics

CACHE_FORMAT = "cache"


@dataclass(frozen=True, slots=True)
class CachedTableSource:
    """``ScanSource`` over one cache entry (see the module docstring)."""

    entry_id: str
    label: str
    level: str
    storage: ScanSource
    blocks: tuple[BlockRef, ...]
    infos: tuple[BlockInfo | None, ...] = ()  # driver side only: not shipped to tasks
    #: scans of in-memory data are never shared by the planner (re-reading is cheap)
    in_memory = True

    @property
    def schema(self) -> pa.Schema:
        return self.storage.schema

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return self.storage.partition_columns

    def statistics(self) -> TableStatistics | None:
        base = self.storage.statistics() or TableStatistics()
        if self.infos and all(i is not None for i in self.infos):
            rows = sum(i.rows for i in self.infos)  # type: ignore[union-attr]
            return replace(base, row_count=rows)
        return base

    def splits(self, predicate: pc.Expression | None = None) -> list[ScanSplit]:
        infos = self.infos or (None,) * len(self.blocks)
        keep = prune(self.schema, [b.split.partition_values for b in self.blocks], infos, predicate)
        if predicate is not None and len(keep) < len(self.blocks):
            kept = set(keep)
            REGISTRY.count_skipped(self.entry_id, [b.block_id for i, b in enumerate(self.blocks) if i not in kept])
        out = []
        for i in keep:
            ref, info = self.blocks[i], infos[i]
            out.append(ScanSplit(path=f"lamna-cache:{ref.block_id}", format=CACHE_FORMAT, start=i,
                                 size_bytes=info.stored_bytes if info is not None else ref.split.size_bytes,
                                 partition_values=ref.split.partition_values))
        return out

    def describe_splits(self, splits: Sequence[ScanSplit]) -> str:
        """For EXPLAIN: how many cache partitions a scan reads of how many."""
        n = len(self.blocks)
        return f"cached {self.level}: {len(splits)} of {n} partitions ({n - len(splits)} skipped by statistics)"

    def read_split(
        self, split: ScanSplit, columns: Sequence[str] | None = None, predicate: pc.Expression | None = None,
    ) -> Iterator[pa.RecordBatch]:
        from rdd import TaskContext

        ref = self.blocks[split.start]
        task = TaskContext.get()
        if task is None:  # on the driver: no executor, no block manager
            yield from self.storage.read_split(ref.split, columns, predicate)
            return
        manager = task.env.block_manager
        values = manager.get_or_compute(ref.block_id, rdd_level(self.level),
                                        functools.partial(compute_block, self.storage, ref.split))
        if not REGISTRY.noted(self.entry_id, ref.block_id, manager):
            REGISTRY.note_block(self.entry_id, ref.block_id, manager, info_of(values))
        yield from read_block(values, self.schema, ref.split.partition_values, columns)

    def __reduce__(self) -> tuple[Any, ...]:
        # tasks need the layout, not the statistics
        return (CachedTableSource, (self.entry_id, self.label, self.level, self.storage, self.blocks))


def build_block(source: CachedTableSource, index: int) -> tuple[str, BlockInfo]:
    """Task body of an eager build (CACHE TABLE, warm-up, write-through): make sure block
    ``index`` is in this executor's block manager; returns its id and statistics."""
    from rdd import TaskContext

    ref = source.blocks[index]
    task = TaskContext.get()
    assert task is not None, "build_block runs inside a task"
    manager = task.env.block_manager
    values = manager.get_or_compute(ref.block_id, rdd_level(source.level),
                                    functools.partial(compute_block, source.storage, ref.split))
    info = info_of(values)
    REGISTRY.note_block(source.entry_id, ref.block_id, manager, info)
    return ref.block_id, info


@dataclass(frozen=True, slots=True)
class ResultFiles:
    """The materialized result of a cached query: Arrow IPC files, one per partition
    of the query, in this process's cache directory. They are the lineage of the
    query's blocks (a scan task cannot rerun the query), so an evicted block is
    recomputed from its file rather than from the query."""

    files: tuple[tuple[str, int], ...]  # (path, bytes)
    result_schema: pa.Schema

    @property
    def schema(self) -> pa.Schema:
        return self.result_schema

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return ()

    def statistics(self) -> TableStatistics | None:
        return TableStatistics(total_bytes=sum(size for _, size in self.files))

    def splits(self, predicate: pc.Expression | None = None) -> list[ScanSplit]:
        return [ScanSplit(path=p, format="arrow", size_bytes=size) for p, size in self.files]

    def read_split(
        self, split: ScanSplit, columns: Sequence[str] | None = None, predicate: pc.Expression | None = None,
    ) -> Iterator[pa.RecordBatch]:
        names = list(self.result_schema.names) if columns is None else list(columns)
        with pa.memory_map(split.path) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i).select(names)


def write_result_part(path: str, schema: pa.Schema, batches: Sequence[pa.RecordBatch]) -> int:
    """Write one partition of a query result as an Arrow IPC file; returns its size."""
    import os

    tmp = path + ".tmp"
    with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for b in batches:
            writer.write_batch(b)
    os.replace(tmp, path)
    return os.path.getsize(path)
