"""Building cache blocks eagerly, as parallel RDD jobs: ``CACHE TABLE`` (one job over
the splits of a table), the warm-up at start (one job over every ``MEMORY`` table) and
write-through after an INSERT (the new files' blocks), and the materialization of a
cached query's result.

A block built here is the very block a later scan task asks its block manager for
(same id, same level), so the scan finds it there; the tasks return each block's
statistics to the driver, which prunes with them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from catalog.cache.blocks import BlockInfo, encode, info_of
from catalog.cache.policy import rdd_level
from catalog.cache.registry import REGISTRY, BlockRef, split_digest
from catalog.cache.source import CachedTableSource, build_block, write_result_part
from catalog.scan import ScanSplit


def build(rdd_context: Any, sources: Sequence[CachedTableSource], missing_only: bool = False) -> int:
    """Put every block of ``sources`` (or only those without statistics yet) into the
    block managers with one job, one task per block; returns the number of blocks."""
    items = [(src, i) for src in sources for i in range(len(src.blocks))
             if not missing_only or not src.infos or src.infos[i] is None]
    if not items:
        return 0
    results = rdd_context.parallelize(items, len(items)).map(_build_item).collect()
    by_entry: dict[str, dict[str, BlockInfo]] = {}
    for (src, _), (block_id, info) in zip(items, results):
        by_entry.setdefault(src.entry_id, {})[block_id] = info
    for entry_id, infos in by_entry.items():
        REGISTRY.note_infos(entry_id, infos)
    for entry_id in {src.entry_id for src in sources}:
        note_manager(rdd_context, entry_id)
    return len(items)


def _build_item(item: tuple[CachedTableSource, int]) -> tuple[str, BlockInfo]:
    return build_block(*item)


def note_manager(rdd_context: Any, entry_id: str) -> None:
    """Remember the driver's block manager for an entry (on ``local[N]`` it is the one
    every task used), so that dropping the entry frees its blocks there."""
    manager = getattr(getattr(rdd_context, "env", None), "block_manager", None)
    entry = REGISTRY.by_id(entry_id)
    if manager is not None and entry is not None:
        REGISTRY.add_manager(entry, manager)


def materialize(
    rdd: Any, schema: pa.Schema, entry_id: str, files_dir: str, level: str,
) -> tuple[tuple[tuple[str, int], ...], tuple[BlockRef, ...], dict[str, BlockInfo]]:
    """Run a query's RDD once: each task writes its partition of the result as an Arrow
    IPC file in ``files_dir`` (the blocks' lineage) and puts it, encoded, into its block
    manager as a block of entry ``entry_id``. Returns the files, the block layout and
    the blocks' statistics."""
    task = functools.partial(_materialize_part, schema, files_dir, entry_id, level)
    parts = rdd.mapPartitionsWithIndex(task).collect()
    parts.sort(key=lambda p: p[0])
    files = tuple((path, size) for _, path, size, _, _ in parts)
    blocks = tuple(BlockRef(block_id, _result_split(path, size)) for _, path, size, block_id, _ in parts)
    infos = {block_id: info for _, _, _, block_id, info in parts}
    return files, blocks, infos


def _result_split(path: str, size: int) -> ScanSplit:
    return ScanSplit(path=path, format="arrow", size_bytes=size)


def block_id_of(entry_id: str, split: ScanSplit) -> str:
    return f"cache_{entry_id}_{split_digest(split)}"


def _materialize_part(schema: pa.Schema, files_dir: str, entry_id: str, level: str, index: int,
                      batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, str, int, str, BlockInfo]]:
    from rdd import TaskContext

    rows = [_conform(b, schema) for b in batches if b.num_rows]
    path = os.path.join(files_dir, f"part-{index:05d}.arrow")
    size = write_result_part(path, schema, rows)
    table = pa.Table.from_batches(rows, schema=schema) if rows else schema.empty_table()
    values = encode(table.combine_chunks())
    block_id = block_id_of(entry_id, _result_split(path, size))
    task = TaskContext.get()
    info = info_of(values)
    if task is not None:
        manager = task.env.block_manager
        manager.put(block_id, values, rdd_level(level))
        REGISTRY.note_block(entry_id, block_id, manager, info)
    yield index, path, size, block_id, info


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A result batch under the result's names and types (query batches carry internal
    column names; they are positional)."""
    cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(batch.columns, schema)]
    return pa.RecordBatch.from_arrays(cols, schema=schema)
