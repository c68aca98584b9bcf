"""Context.getOrCreate (one Context per process, PySpark's pattern) and the block
manager's budget changes and per-block counters."""

from __future__ import annotations

import pyarrow as pa

from rdd import Context, StorageLevel
from rdd.storage import BlockManager


def test_get_or_create_shares_one_context_until_it_stops():
    first = Context.getOrCreate({"spark.master": "local[2]"})
    try:
        assert Context.getOrCreate({"spark.master": "local[1]"}) is first  # later conf is ignored
        assert Context.getActive() is first
        own = Context("local[1]")
        try:
            assert Context.getOrCreate() is first  # a Context made directly is not shared
        finally:
            own.stop()
    finally:
        first.stop()
    assert Context.getActive() is None
    second = Context.getOrCreate({"spark.master": "local[1]"})
    try:
        assert second is not first and second.master == "local[1]"
    finally:
        second.stop()


def _batch(n: int) -> list[pa.RecordBatch]:
    return [pa.record_batch([pa.array(range(n), pa.int64())], names=["x"])]


def test_set_budget_evicts_spills_and_counts_per_block(tmp_path):
    manager = BlockManager(budget=1 << 20, disk_dir=str(tmp_path))
    manager.put("a", _batch(10_000), StorageLevel.MEMORY_AND_DISK)
    manager.put("b", _batch(10_000), StorageLevel.MEMORY_ONLY)
    assert manager.get("a") is not None and manager.get("b") is not None and manager.get("b") is not None
    assert manager.block_counters("a") == (1, 0) and manager.block_counters("b") == (2, 0)
    manager.set_budget(100_000)  # room for one of the two 80 KB blocks: a is the least recently used
    assert manager.memory_used <= 100_000 and manager.block_sizes("b")[0] > 0
    assert manager.block_sizes("a")[0] == 0 and manager.block_sizes("a")[1] > 0
    assert manager.block_counters("a") == (1, 1)  # evicted once, spilled to disk
    assert manager.get("a")[0].column(0).to_pylist()[:3] == [0, 1, 2]  # read back from disk
    assert manager.block_counters("a") == (2, 1)
    manager.remove("a")
    assert manager.block_counters("a") == (0, 0)
