"""SHOW CACHE: what each cached table (and Hive partition) holds, from the block
managers (where the bytes are) and the registry (what the blocks contain).

Bytes are counted per block manager, so a block is counted once however many
connections of the process read it. ``skipped`` counts the planned scans (EXPLAIN
included) that left a block out by its statistics. Hits and evictions are the block managers'
per-block counters; on ``local-cluster`` masters the workers' managers report sizes
only (hits, evictions and statistics of blocks built lazily there stay unknown).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from catalog.cache.registry import REGISTRY, CacheEntry
from catalog.model import partition_spec_path

SCHEMA = pa.schema([
    ("table", pa.string()),
    ("partition", pa.string()),
    ("storage_level", pa.string()),
    ("partitions", pa.int64()),
    ("in_memory", pa.int64()),
    ("on_disk", pa.int64()),
    ("memory_bytes", pa.int64()),
    ("disk_bytes", pa.int64()),
    ("rows", pa.int64()),
    ("raw_bytes", pa.int64()),
    ("compression", pa.float64()),
    ("hits", pa.int64()),
    ("evictions", pa.int64()),
    ("skipped", pa.int64()),
])


def _managers(entry: CacheEntry, rdd_context: Any) -> list[Any]:
    managers = list(entry.managers)
    driver = getattr(getattr(rdd_context, "env", None), "block_manager", None)
    if driver is not None and driver not in managers:
        managers.append(driver)
    return managers


def usage(entry: CacheEntry, rdd_context: Any = None) -> dict[str, tuple[int, int]]:
    """Block id -> (bytes in memory, bytes on disk), summed over block managers."""
    ids = {b.block_id for b in entry.blocks}
    out: dict[str, tuple[int, int]] = {}
    managers = _managers(entry, rdd_context)
    for manager in managers:
        for block_id in ids:
            m, d = manager.block_sizes(block_id)
            if m or d:
                om, od = out.get(block_id, (0, 0))
                out[block_id] = (om + m, od + d)
    backend = getattr(rdd_context, "backend", None)
    if backend is not None:  # worker processes: ask them
        for block_id, (m, d) in backend.worker_block_summary().items():
            if block_id in ids:
                om, od = out.get(block_id, (0, 0))
                out[block_id] = (om + m, od + d)
    return out


def entry_rows(entry: CacheEntry, rdd_context: Any = None) -> list[dict[str, Any]]:
    """The entry's row, then one per Hive partition if the table is partitioned."""
    sizes = usage(entry, rdd_context)
    infos = REGISTRY.infos(entry)
    counters: dict[str, tuple[int, int]] = {}
    for manager in _managers(entry, rdd_context):
        for b in entry.blocks:
            h, e = manager.block_counters(b.block_id)
            ph, pe = counters.get(b.block_id, (0, 0))
            counters[b.block_id] = (ph + h, pe + e)
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(entry.blocks):
        groups.setdefault(partition_spec_path(list(b.split.partition_values)), []).append(i)
    rows = [_row(entry, "", range(len(entry.blocks)), sizes, infos, counters)]
    if entry.partitioned:
        rows += [_row(entry, spec, idx, sizes, infos, counters) for spec, idx in sorted(groups.items())]
    return rows


def _row(entry: CacheEntry, spec: str, indices: Any, sizes: dict[str, tuple[int, int]],
         infos: tuple[Any, ...], counters: dict[str, tuple[int, int]]) -> dict[str, Any]:
    blocks = [entry.blocks[i] for i in indices]
    known = [infos[i] for i in indices if infos[i] is not None]
    complete = len(known) == len(blocks)  # rows and sizes only when every block is known
    raw = sum(i.raw_bytes for i in known)
    stored = sum(i.stored_bytes for i in known)
    skipped = REGISTRY.skipped(entry, [b.block_id for b in blocks])
    return {
        "table": entry.label,
        "partition": spec or None,
        "storage_level": entry.level,
        "partitions": len(blocks),
        "in_memory": sum(1 for b in blocks if sizes.get(b.block_id, (0, 0))[0]),
        "on_disk": sum(1 for b in blocks if sizes.get(b.block_id, (0, 0))[1]),
        "memory_bytes": sum(sizes.get(b.block_id, (0, 0))[0] for b in blocks),
        "disk_bytes": sum(sizes.get(b.block_id, (0, 0))[1] for b in blocks),
        "rows": sum(i.rows for i in known) if complete else None,
        "raw_bytes": raw if complete else None,
        "compression": round(raw / stored, 2) if complete and stored else None,
        "hits": sum(counters.get(b.block_id, (0, 0))[0] for b in blocks),
        "evictions": sum(counters.get(b.block_id, (0, 0))[1] for b in blocks),
        "skipped": skipped,
    }


def report_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)
