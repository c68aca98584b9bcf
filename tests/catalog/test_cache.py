"""The columnar table cache: cached scans read memory, prune chunks by statistics,
fall back to storage in other processes, go stale on writes, survive restarts."""

import functools
import os

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog import MANAGED, Catalog, Column, Table
from catalog.cache import CachedTableSource, TableCache
from catalog.source import read_all


def _make(cat, n=3000):
    cat.create_table(Table("default", "t", MANAGED, (Column("k", "bigint"), Column("v", "string")),
                           (Column("p", "int"),)))
    data = pa.table({"k": pa.array(range(n), pa.int64()), "v": [f"v{i}" for i in range(n)],
                     "p": pa.array([i // 1000 for i in range(n)], pa.int32())})
    cat.write("default", "t", data)
    return data


def test_cached_scan_reads_memory_not_files(cat, warehouse):
    data = _make(cat)
    cat.cache_table("default", "t")
    src = cat.scan_source("default", "t")
    assert isinstance(src, CachedTableSource) and src.statistics().row_count == 3000
    # the files can go: a cached scan does not touch them
    for dirpath, _, files in os.walk(os.path.join(warehouse, "default.db", "t")):
        for f in files:
            if f.endswith(".parquet"):
                os.rename(os.path.join(dirpath, f), os.path.join(dirpath, "." + f))
    assert read_all(src).sort_by("k").equals(data)
    assert sum(b.num_rows for s in src.splits() for b in src.read_split(s, [])) == 3000


def test_chunks_are_pruned_by_statistics(cat):
    _make(cat)
    cat.cache_table("default", "t")
    src = cat.scan_source("default", "t")
    assert len(src.splits()) == 3
    assert len(src.splits(pc.field("k") >= 2500)) == 1
    assert len(src.splits(pc.field("v") == "v1")) == 1
    assert read_all(src, predicate=pc.field("k") >= 2995).column("k").to_pylist() == [2995, 2996, 2997, 2998, 2999]


def test_writes_make_the_cache_stale_and_it_is_rebuilt(cat):
    _make(cat)
    cat.cache_table("default", "t")
    cat.write("default", "t", pa.table({"k": pa.array([-1], pa.int64()), "v": ["new"]}), partition=[("p", "9")])
    src = cat.scan_source("default", "t")
    assert isinstance(src, CachedTableSource)
    assert read_all(src).num_rows == 3001  # rebuilt from storage, written rows included


def test_cache_survives_restart_and_uncache(warehouse):
    with Catalog.open(warehouse) as cat:
        data = _make(cat)
        cat.cache_table("default", "t", lazy=True)
        assert cat.cache.keys() == []
    with Catalog.open(warehouse) as cat:  # the mark is persisted; first scan rebuilds
        src = cat.scan_source("default", "t")
        assert isinstance(src, CachedTableSource) and read_all(src).sort_by("k").equals(data)
        assert cat.uncache_table("default", "t")
        assert not isinstance(cat.scan_source("default", "t"), CachedTableSource)


def test_budget_evicts_least_recently_used(warehouse):
    with Catalog.open(warehouse, cache=TableCache(budget_bytes=70_000)) as cat:
        _make(cat)
        cat.create_table(Table("default", "u", MANAGED, (Column("x", "bigint"),)))
        cat.write("default", "u", pa.table({"x": pa.array(range(5000), pa.int64())}))
        cat.cache_table("default", "t")
        cat.cache_table("default", "u")
        assert cat.cache.keys() == [("default", "u")] and cat.cache.used_bytes <= 70_000
        # t is still marked cached: an evicted table is rebuilt (evicting u) when scanned
        assert isinstance(cat.scan_source("default", "t"), CachedTableSource)
        assert cat.cache.keys() == [("default", "t")]


def _count(source, split):
    return sum(b.num_rows for b in source.read_split(split))


def test_tasks_in_worker_processes_fall_back_to_storage(cat):
    from rdd import Context

    _make(cat)
    cat.cache_table("default", "t")
    src = cat.scan_source("default", "t")
    ctx = Context("local-cluster[2]")
    try:
        total = ctx.parallelize(src.splits(), 3).map(functools.partial(_count, src)).sum()
    finally:
        ctx.stop()
    assert total == 3000


def test_a_table_over_the_budget_is_read_from_storage_without_retrying(warehouse):
    with Catalog.open(warehouse, cache=TableCache(budget_bytes=1000)) as cat:
        data = _make(cat)
        assert cat.cache_table("default", "t") is None
        assert not cat.cache.fits(("default", "t"), cat.metastore.data_state("default", "t")[0])
        src = cat.scan_source("default", "t")
        assert not isinstance(src, CachedTableSource)
        assert read_all(src).sort_by("k").equals(data)


def test_cache_built_by_parallel_tasks(cat):
    from rdd import Context

    data = _make(cat)
    ctx = Context("local[2]")
    try:
        assert cat.cache_table("default", "t", rdd_context=ctx) > 0
    finally:
        ctx.stop()
    src = cat.scan_source("default", "t")
    assert isinstance(src, CachedTableSource) and read_all(src).sort_by("k").equals(data)
