"""The columnar cache at the catalog level: blocks in the rdd block manager, built by one
job, read by scan tasks (computed from storage when missing), pruned by per-block
statistics (ranges, distinct sets, partition values), relaid out after writes, rebuilt
after a restart, evicted and spilled under a budget, and readable by worker processes."""

import functools
import os
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalog import MANAGED, Catalog, Column, Table
from catalog.cache import REGISTRY, CachedTableSource
from catalog.cache.blocks import compute_block, encode, info_of
from catalog.errors import CatalogError
from catalog.source import read_all
from rdd import Context


@pytest.fixture
def ctx():
    c = Context("local[2]")
    yield c
    c.stop()


def _make(cat, n=3000, name="t"):
    cat.create_table(Table("default", name, MANAGED, (Column("k", "bigint"), Column("v", "string"),
                                                     Column("s", "string")), (Column("p", "int"),)))
    data = pa.table({"k": pa.array(range(n), pa.int64()), "v": [f"v{i}" for i in range(n)],
                     "s": [("A", "B", "C")[i % 3] if i < 2000 else "Z" for i in range(n)],
                     "p": pa.array([i // 1000 for i in range(n)], pa.int32())})
    cat.write("default", name, data)
    return data


def _scan(ctx, src, columns=None, predicate=None):
    """Read every split of ``src`` in scan tasks (as the planner does), cast back to the
    schema's types."""
    names = columns or list(src.schema.names)
    splits = src.splits(predicate)

    def read(split):
        out = []
        for b in src.read_split(split, names):
            out.append(pa.RecordBatch.from_arrays(
                [c.cast(src.schema.field(n).type) for c, n in zip(b.columns, names)], names=names))
        return out

    batches = ctx.parallelize(splits, max(1, len(splits))).flatMap(read).collect()
    schema = pa.schema([src.schema.field(n) for n in names])
    return pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()


def _hide_files(warehouse):
    for dirpath, _, files in os.walk(os.path.join(warehouse, "default.db")):
        for f in files:
            if not f.startswith("."):
                os.rename(os.path.join(dirpath, f), os.path.join(dirpath, "." + f))


def test_cached_scan_reads_blocks_not_files(cat, warehouse, ctx):
    data = _make(cat)
    built = cat.cache_table("default", "t", rdd_context=ctx)
    assert built["blocks"] == 3 and built["rows"] == 3000 and built["memory_bytes"] > 0
    src = cat.scan_source("default", "t")
    assert isinstance(src, CachedTableSource) and src.statistics().row_count == 3000
    _hide_files(warehouse)  # a cached scan in tasks does not touch the files
    assert _scan(ctx, src).sort_by("k").equals(data)
    counted = ctx.parallelize(src.splits(), 3).map(lambda s: sum(b.num_rows for b in src.read_split(s, []))).sum()
    assert counted == 3000


def test_low_cardinality_strings_are_dictionary_encoded_and_read_back_exactly(ctx, cat):
    data = _make(cat)
    cat.cache_table("default", "t", rdd_context=ctx)
    src = cat.scan_source("default", "t")
    info = src.infos[0]
    assert "s" in info.encoded and "v" not in info.encoded and info.stored_bytes < info.raw_bytes
    # the stored column comes out encoded (zero copy); the scan casts it back
    types = ctx.parallelize(src.splits()[:1], 1).map(
        lambda s: [str(b.column(0).type) for b in src.read_split(s, ["s"])]).collect()
    assert types == [["dictionary<values=string, indices=int8, ordered=0>"]]
    assert _scan(ctx, src, ["k", "s"]).sort_by("k").equals(data.select(["k", "s"]))


def test_blocks_are_pruned_by_ranges_distinct_sets_and_partitions(cat, ctx):
    _make(cat)
    cat.cache_table("default", "t", rdd_context=ctx)
    src = cat.scan_source("default", "t")
    assert len(src.splits()) == 3
    assert len(src.splits(pc.field("k") >= 2500)) == 1  # min/max
    assert len(src.splits(pc.field("p") == 1)) == 1  # Hive partition value
    # 'B' lies between the min 'A' and max 'Z' of no block, but in the distinct sets of two
    assert [s.start for s in src.splits(pc.field("s") == "B")] == [0, 1]
    # 'AA' is inside block 0's range ['A', 'C'] but not in its set {A, B, C}: all skipped
    assert src.splits(pc.field("s") == "AA") == []
    assert src.splits((pc.field("s") == "Z") & (pc.field("k") < 100)) == []
    assert "1 of 3 partitions (2 skipped" in src.describe_splits(src.splits(pc.field("p") == 2))
    got = _scan(ctx, src, ["k"], pc.field("k") >= 2995)
    assert sorted(got.column("k").to_pylist())[-5:] == [2995, 2996, 2997, 2998, 2999]


def test_pruning_keeps_blocks_whose_statistics_are_unknown(cat):
    _make(cat)
    cat.cache_table("default", "t", lazy=True)  # no block built yet: nothing known
    src = cat.scan_source("default", "t")
    assert len(src.splits(pc.field("k") >= 2500)) == 3


def test_block_info_travels_with_the_block_through_ipc(tmp_path):
    values = encode(pa.table({"x": pa.array([3, 1, 2], pa.int64()), "s": ["a", None, "a"]}))
    path = str(tmp_path / "b.arrow")
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, values[0].schema) as w:
        w.write_batch(values[0])
    with pa.memory_map(path) as source:
        back = list(pa.ipc.open_stream(source))
    info = info_of(back)
    assert (info.rows, info.column("x").min, info.column("x").max) == (3, 1, 3)
    assert info.column("s").values == ("a",) and info.column("s").null_count == 1


def test_nan_columns_get_no_range(cat):
    values = encode(pa.table({"f": pa.array([1.0, float("nan"), 3.0])}))
    s = info_of(values).column("f")
    assert s.min is None and s.max is None


def test_writes_relay_out_the_entry_and_keep_unchanged_blocks(cat, ctx):
    _make(cat)
    cat.cache_table("default", "t", rdd_context=ctx)
    before = cat.scan_source("default", "t")
    cat.write("default", "t", pa.table({"k": pa.array([-1], pa.int64()), "v": ["new"], "s": ["N"]}),
              partition=[("p", "9")])
    after = cat.scan_source("default", "t")
    assert isinstance(after, CachedTableSource) and len(after.blocks) == 4
    assert {b.block_id for b in before.blocks} < {b.block_id for b in after.blocks}
    assert _scan(ctx, after).num_rows == 3001


def test_a_memory_table_is_rebuilt_after_a_restart(warehouse, ctx):
    with Catalog.open(warehouse) as cat:
        data = _make(cat, name="m")
        t = cat.get_table("default", "m")
        cat.alter_table("default", "m", replace(t, properties=(("lamna.cache", "MEMORY"),)))
    REGISTRY.drop(("table", os.path.abspath(warehouse), "default", "m"))  # as a new process would be
    with Catalog.open(warehouse) as cat:
        src = cat.scan_source("default", "m")
        assert isinstance(src, CachedTableSource) and src.level == "MEMORY_AND_DISK"
        assert _scan(ctx, src).sort_by("k").equals(data)
        assert cat.warm_cache(ctx) == ["default.m"]


def test_bad_cache_property_is_refused(cat):
    with pytest.raises(CatalogError, match="lamna.cache must be one of MEMORY, MEMORY_ONLY, NONE"):
        cat.create_table(Table("default", "b", MANAGED, (Column("x", "int"),), properties=(("lamna.cache", "RAM"),)))


def test_tiny_budget_evicts_and_spills_with_correct_results(cat, ctx):
    data = _make(cat)
    cat.set_cache_memory(ctx, "20k")
    cat.cache_table("default", "t", level="MEMORY_AND_DISK", rdd_context=ctx)
    report = cat.cache_report(ctx).to_pylist()[0]
    assert report["on_disk"] >= 1 and report["evictions"] >= 1 and report["memory_bytes"] <= 20 * 1024
    src = cat.scan_source("default", "t")
    assert _scan(ctx, src).sort_by("k").equals(data)
    cat.uncache_table("default", "t")
    cat.cache_table("default", "t", level="MEMORY_ONLY", rdd_context=ctx)
    report = cat.cache_report(ctx).to_pylist()[0]
    assert report["on_disk"] == 0 and report["in_memory"] < 3  # dropped, recomputed when read
    assert _scan(ctx, cat.scan_source("default", "t")).sort_by("k").equals(data)


def _count(source, split):
    return sum(b.num_rows for b in source.read_split(split))


def test_tasks_in_worker_processes_use_their_own_block_managers(cat):
    _make(cat)
    workers = Context("local-cluster[2]")
    try:
        built = cat.cache_table("default", "t", rdd_context=workers)
        assert built["blocks"] == 3
        src = cat.scan_source("default", "t")
        assert all(i is not None for i in src.infos)  # statistics came back from the workers
        assert len(src.splits(pc.field("k") >= 2500)) == 1
        total = workers.parallelize(src.splits(), 3).map(functools.partial(_count, src)).sum()
        assert total == 3000
        report = cat.cache_report(workers).to_pylist()[0]
        assert report["in_memory"] == 3 and report["memory_bytes"] > 0
    finally:
        workers.stop()


def test_driver_side_reads_go_to_storage(cat):
    data = _make(cat)
    cat.cache_table("default", "t", lazy=True)
    src = cat.scan_source("default", "t")
    assert read_all(src).sort_by("k").equals(data)


def test_compute_block_reads_data_columns_only(cat):
    _make(cat)
    src = cat.scan_source("default", "t", use_cache=False)
    (block,) = compute_block(src, src.splits()[0])
    assert block.schema.names == ["k", "v", "s"]


def test_narrowed_columns_cast_back_exactly():
    import datetime
    import decimal

    table = pa.table({
        "small": pa.array([-3, 5, None], pa.int64()),
        "mid": pa.array([-40000, 40000, 1], pa.int64()),
        "wide": pa.array([-(2**40), 2**40, 0], pa.int64()),
        "d": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-99999.99")], pa.decimal128(15, 2)),
        "big": pa.array([decimal.Decimal("1.5"), decimal.Decimal(2), None], pa.decimal128(30, 1)),
        "day": pa.array([datetime.date(2020, 1, 1), datetime.date(2020, 1, 9), None]),
        "flag": ["x", "x", None],
    })
    (batch,) = encode(table)
    stored = dict(zip(batch.schema.names, batch.schema.types))
    assert (stored["small"], stored["mid"], stored["wide"]) == (pa.int8(), pa.int32(), pa.int64())
    assert stored["d"] == pa.decimal128(15, 2) and stored["big"] == pa.decimal128(30, 1)
    back = pa.table([c.cast(f.type) for c, f in zip(batch.columns, table.schema)], schema=table.schema)
    assert back.equals(table)
    assert info_of([batch]).column("day").values == (datetime.date(2020, 1, 1), datetime.date(2020, 1, 9))


@pytest.mark.parametrize("level", ["MEMORY_ONLY", "MEMORY_AND_DISK"])
def test_blocks_larger_than_the_whole_budget_still_answer(cat, ctx, level):
    data = _make(cat)
    cat.set_cache_memory(ctx, "1k")  # smaller than any block
    cat.cache_table("default", "t", level=level, rdd_context=ctx)
    report = cat.cache_report(ctx).to_pylist()[0]
    assert report["in_memory"] == 0 and report["on_disk"] == (3 if level == "MEMORY_AND_DISK" else 0)
    assert _scan(ctx, cat.scan_source("default", "t")).sort_by("k").equals(data)
