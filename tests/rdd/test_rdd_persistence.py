"""cache / persist / unpersist / checkpoint, StorageLevel, lineage (toDebugString)."""

from __future__ import annotations

import os
import re
from operator import add

import pytest

from rdd import StorageLevel
from rddtestlib import CallLog, counting_partitions, debug_text, shuffle_boundaries

pytestmark = pytest.mark.timeout(60)


# -- StorageLevel -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, disk, memory, off_heap, deserialized, replication",
    [
        ("DISK_ONLY", True, False, False, False, 1),
        ("DISK_ONLY_2", True, False, False, False, 2),
        ("MEMORY_ONLY", False, True, False, False, 1),
        ("MEMORY_ONLY_2", False, True, False, False, 2),
        ("MEMORY_AND_DISK", True, True, False, False, 1),
        ("MEMORY_AND_DISK_2", True, True, False, False, 2),
        ("OFF_HEAP", True, True, True, False, 1),
        ("MEMORY_AND_DISK_DESER", True, True, False, True, 1),
    ],
)
def test_storage_level_constants_match_pyspark(name, disk, memory, off_heap, deserialized, replication):
    level = getattr(StorageLevel, name)
    assert (level.useDisk, level.useMemory, level.useOffHeap, level.deserialized, level.replication) == (
        disk, memory, off_heap, deserialized, replication)
    assert level == StorageLevel(disk, memory, off_heap, deserialized, replication)


def test_storage_level_equality():
    assert StorageLevel.MEMORY_ONLY != StorageLevel.DISK_ONLY
    assert StorageLevel.MEMORY_ONLY == StorageLevel(False, True, False, False)


# -- cache / persist ------------------------------------------------------------------------------


def test_cache_computes_each_partition_once(sc, log):
    r = sc.parallelize(range(40), 4).mapPartitionsWithIndex(counting_partitions(log.path))
    assert r.cache() is r
    assert r.is_cached
    assert r.getStorageLevel() == StorageLevel.MEMORY_ONLY
    assert r.count() == 40
    assert r.sum() == sum(range(40))
    assert r.map(lambda x: x + 1).collect() == list(range(1, 41))
    assert sorted(log.lines()) == ["0", "1", "2", "3"]
    r.unpersist()
    assert not r.is_cached
    assert r.count() == 40
    assert len(log.lines()) == 8  # recomputed after unpersist


def test_uncached_rdd_is_recomputed(sc, log):
    r = sc.parallelize(range(10), 2).mapPartitionsWithIndex(counting_partitions(log.path))
    r.count()
    r.count()
    assert len(log.lines()) == 4


def test_cache_after_partial_read_is_complete(sc):
    """take() reads part of a partition; what gets cached must still be the whole partition."""
    r = sc.parallelize(range(100), 2).map(lambda x: x).cache()
    assert r.take(3) == [0, 1, 2]
    assert r.first() == 0
    assert r.count() == 100
    assert r.collect() == list(range(100))


@pytest.mark.parametrize("level", ["MEMORY_ONLY", "MEMORY_AND_DISK", "DISK_ONLY", "MEMORY_ONLY_2",
                                   "MEMORY_AND_DISK_DESER"])
def test_persist_levels_reuse(sc, log, level):
    lvl = getattr(StorageLevel, level)
    data = [(i, "v" * (i % 7)) for i in range(60)]
    r = sc.parallelize(data, 3).mapPartitionsWithIndex(counting_partitions(log.path)).persist(lvl)
    assert r.getStorageLevel() == lvl
    assert r.collect() == data
    assert r.collect() == data
    assert r.count() == 60
    assert len(log.lines()) == 3


def test_cached_shuffle_output(sc, log):
    src = sc.parallelize([(i % 4, i) for i in range(40)], 4).mapPartitionsWithIndex(counting_partitions(log.path))
    red = src.reduceByKey(add).cache()
    expected = {k: sum(i for i in range(40) if i % 4 == k) for k in range(4)}
    assert dict(red.collect()) == expected
    assert dict(red.mapValues(lambda v: v * 2).collect()) == {k: 2 * v for k, v in expected.items()}
    assert len(log.lines()) == 4


# -- checkpoint -----------------------------------------------------------------------------------


def test_checkpoint_truncates_lineage(sc, tmp_path, log):
    sc.setCheckpointDir(str(tmp_path / "ckpt"))
    base = sc.parallelize([(i % 5, i) for i in range(50)], 3).mapPartitionsWithIndex(counting_partitions(log.path))
    r = base.reduceByKey(add).mapValues(lambda v: v + 1)
    before = debug_text(r)
    assert shuffle_boundaries(before) == 1
    r.checkpoint()
    assert not r.isCheckpointed()
    expected = sorted((k, sum(i for i in range(50) if i % 5 == k) + 1) for k in range(5))
    assert sorted(r.collect()) == expected
    assert r.isCheckpointed()
    ckpt_file = r.getCheckpointFile()
    assert ckpt_file and str(tmp_path / "ckpt") in str(ckpt_file).replace("file:", "")
    after = debug_text(r)
    assert shuffle_boundaries(after) == 0, after
    assert "checkpoint" in after.lower(), after
    assert "reduceByKey" not in after and "parallelize" not in after.lower(), after
    log.clear()
    assert sorted(r.collect()) == expected
    assert sorted(r.map(lambda kv: kv).collect()) == expected
    assert log.lines() == []  # the original lineage is never computed again


def test_checkpoint_without_dir_is_an_error(make_context):
    ctx = make_context("local[2]")
    r = ctx.parallelize([1, 2, 3])
    with pytest.raises(Exception) as err:
        r.checkpoint()
        r.count()
    assert "checkpoint" in str(err.value).lower()


# -- lineage ---------------------------------------------------------------------------------------


def _first_line_partitions(text: str) -> int:
    m = re.match(r"\s*\((\d+)\)", text.splitlines()[0])
    assert m, text
    return int(m.group(1))


def test_debug_string_narrow_chain_has_no_stage_boundary(sc):
    r = sc.parallelize(range(10), 3).map(lambda x: x).filter(bool)
    text = debug_text(r)
    assert _first_line_partitions(text) == 3
    assert shuffle_boundaries(text) == 0
    assert re.search("parallelize|ParallelCollection", text), text
    assert len(text.splitlines()) >= 2


def test_debug_string_one_shuffle(sc):
    r = sc.parallelize([(i % 3, 1) for i in range(30)], 4).reduceByKey(add, 2).map(lambda kv: kv)
    text = debug_text(r)
    lines = text.splitlines()
    assert _first_line_partitions(text) == 2
    assert shuffle_boundaries(text) == 1
    boundary = next(i for i, line in enumerate(lines) if "+-" in line)
    assert re.search(r"\+-\s*\(4\)", lines[boundary]), text  # the map side has 4 partitions
    assert "reduceByKey" in text
    # everything below the boundary is indented deeper than the boundary marker
    indent = lines[boundary].index("+-")
    assert all(len(line) - len(line.lstrip(" |")) > indent for line in lines[boundary + 1:]), text


def test_debug_string_two_shuffles_nest(sc):
    r = (sc.parallelize([(i % 7, i) for i in range(70)], 5)
         .reduceByKey(add, 3)
         .map(lambda kv: (kv[1] % 2, kv[0]))
         .groupByKey(2))
    text = debug_text(r)
    lines = [line for line in text.splitlines() if "+-" in line]
    assert _first_line_partitions(text) == 2
    assert len(lines) == 2, text
    first, second = lines
    assert second.index("+-") > first.index("+-"), text  # one more level per shuffle
    assert re.search(r"\+-\s*\(3\)", first) and re.search(r"\+-\s*\(5\)", second), text
    assert "groupByKey" in text and "reduceByKey" in text


def test_debug_string_cached_rdd_mentions_storage(sc):
    r = sc.parallelize(range(10), 2).map(lambda x: x).cache()
    r.count()
    text = debug_text(r)
    assert re.search("memory|cached", text, re.IGNORECASE), text


def test_debug_string_co_partitioned_join_adds_no_shuffle(sc):
    a = sc.parallelize([(i, i) for i in range(20)], 3).partitionBy(4)
    b = sc.parallelize([(i, -i) for i in range(0, 20, 2)], 2).partitionBy(4)
    j = a.join(b)
    assert sorted(j.collect()) == [(i, (i, -i)) for i in range(0, 20, 2)]
    assert shuffle_boundaries(debug_text(j)) == 2, debug_text(j)
    assert j.getNumPartitions() == 4


def test_get_num_partitions(sc):
    r = sc.parallelize(range(10), 3)
    assert r.getNumPartitions() == 3
    assert r.map(str).getNumPartitions() == 3
    assert r.union(r).getNumPartitions() == 6
    assert r.cartesian(r).getNumPartitions() == 9
    assert r.map(lambda x: (x, x)).partitionBy(5).getNumPartitions() == 5
    assert r.coalesce(2).getNumPartitions() == 2


def test_persist_default_level_and_chaining(sc):
    r = sc.parallelize(range(6), 2)
    assert r.persist() is r
    assert r.getStorageLevel() == StorageLevel.MEMORY_ONLY
    assert r.unpersist() is r
    assert r.getStorageLevel() == StorageLevel(False, False, False, False, 1)
    assert r.collect() == list(range(6))
