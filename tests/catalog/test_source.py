"""Scans: partition pruning, Parquet row-group pruning, splits, partition columns."""

import os

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from catalog import EXTERNAL, MANAGED, Column, StorageFormat, Table
from catalog.scan import ScanSource
from catalog.source import read_all


def _sales(cat, n=2000, **kw):
    cat.create_table(Table("default", "sales", MANAGED, (Column("id", "bigint"), Column("amount", "decimal(12,2)")),
                           (Column("region", "string"), Column("day", "date")), properties=kw.get("props", ())))
    ids = pa.array(range(n), pa.int64())
    amounts = pc.cast(pc.divide(pc.cast(ids, pa.float64()), 4.0), pa.decimal128(12, 2))
    regions = pa.array([["eu", "us", "apac"][i % 3] for i in range(n)])
    days = pc.cast(pa.array([f"2021-01-{(i % 4) + 1:02d}" for i in range(n)]), pa.date32())
    data = pa.table({"id": ids, "amount": amounts, "region": regions, "day": days})
    cat.write("default", "sales", data, max_rows_per_file=kw.get("max_rows", 1_000_000))
    return data


def test_source_is_a_scan_source_and_picklable(cat):
    import cloudpickle

    _sales(cat, 10)
    src = cat.scan_source("default", "sales")
    assert isinstance(src, ScanSource)
    assert src.schema.names == ["id", "amount", "region", "day"]
    assert src.partition_columns == ("region", "day")
    clone = cloudpickle.loads(cloudpickle.dumps(src))
    split = clone.splits()[0]
    assert next(iter(clone.read_split(split))).num_rows > 0


def test_dynamic_partition_layout_and_values(cat, warehouse):
    data = _sales(cat, 300)
    root = os.path.join(warehouse, "default.db", "sales")
    assert sorted(os.listdir(root)) == ["region=apac", "region=eu", "region=us"]
    assert sorted(os.listdir(os.path.join(root, "region=eu"))) == [f"day=2021-01-0{i}" for i in range(1, 5)]
    ours = read_all(cat.scan_source("default", "sales")).sort_by("id")
    assert ours.equals(data.sort_by("id"))
    # DuckDB reading the same directory tree with Hive partitioning agrees
    duck = duckdb.connect().execute(
        f"SELECT id, amount, region, CAST(day AS DATE) AS day FROM read_parquet('{root}/*/*/*.parquet', "
        "hive_partitioning=true) ORDER BY id").to_arrow_table()
    assert duck.cast(ours.schema).equals(ours)


@pytest.mark.parametrize(
    "predicate,expected_parts",
    [
        (pc.field("region") == "eu", 4),
        ((pc.field("region") == "eu") & (pc.field("day") == pa.scalar(18628, pa.date32())), 1),
        (pc.field("day") > pa.scalar(18629, pa.date32()), 6),
        ((pc.field("region") == "us") | (pc.field("id") > 5), 12),  # a data column: no pruning
        (pc.field("id") > 5, 12),
    ],
)
def test_partition_pruning(cat, predicate, expected_parts):
    data = _sales(cat, 300)
    src = cat.scan_source("default", "sales")
    splits = src.splits(predicate)
    assert len({s.partition_values for s in splits}) == expected_parts
    got = read_all(src, predicate=predicate).sort_by("id")
    assert got.equals(data.filter(predicate).sort_by("id"))


def test_projection_with_partition_columns_only(cat):
    _sales(cat, 90)
    src = cat.scan_source("default", "sales")
    t = read_all(src, columns=["day", "region"])
    assert t.schema.names == ["day", "region"] and t.num_rows == 90
    assert sum(b.num_rows for s in src.splits() for b in src.read_split(s, [])) == 90


def test_parquet_row_group_pruning_and_splits(cat, tmp_path):
    d = tmp_path / "pq"
    d.mkdir()
    t = pa.table({"k": pa.array(range(100_000), pa.int64()), "v": pa.array([str(i % 97) for i in range(100_000)])})
    pq.write_table(t, d / "f.parquet", row_group_size=10_000)
    cat.create_table(Table("default", "big", EXTERNAL, (Column("k", "bigint"), Column("v", "string")),
                           storage=StorageFormat(format="parquet"), location=str(d)))
    src = cat.scan_source("default", "big", split_bytes=30_000)
    all_splits = src.splits()
    assert len(all_splits) > 1 and all(s.row_groups for s in all_splits)
    assert read_all(src).sort_by("k").equals(t)
    pred = pc.field("k") >= 95_000
    pruned = src.splits(pred)
    assert sum(len(s.row_groups) for s in pruned) == 1
    assert read_all(src, predicate=pred).equals(t.filter(pred))


def test_schema_evolution_added_column_reads_null(cat):
    _sales(cat, 30)
    t = cat.get_table("default", "sales")
    import dataclasses

    cat.alter_table("default", "sales", dataclasses.replace(t, columns=t.columns + (Column("note", "string"),)))
    rows = read_all(cat.scan_source("default", "sales"))
    assert rows.schema.names == ["id", "amount", "note", "region", "day"]
    assert rows.column("note").null_count == 30


def test_bounded_file_sizes(cat, warehouse):
    cat.create_table(Table("default", "f", MANAGED, (Column("x", "bigint"),)))
    cat.write("default", "f", pa.table({"x": pa.array(range(2500), pa.int64())}), max_rows_per_file=1000)
    files = sorted(os.listdir(os.path.join(warehouse, "default.db", "f")))
    assert len(files) == 3
    assert [pq.ParquetFile(os.path.join(warehouse, "default.db", "f", n)).metadata.num_rows for n in files] == [1000, 1000, 500]


def test_null_partition_values_go_to_default_partition(cat, warehouse):
    cat.create_table(Table("default", "p", MANAGED, (Column("x", "int"),), (Column("k", "string"),)))
    cat.write("default", "p", pa.table({"x": [1, 2], "k": ["a", None]}))
    assert sorted(os.listdir(os.path.join(warehouse, "default.db", "p"))) == ["k=__HIVE_DEFAULT_PARTITION__", "k=a"]
    rows = read_all(cat.scan_source("default", "p")).sort_by("x").to_pylist()
    assert rows == [{"x": 1, "k": "a"}, {"x": 2, "k": None}]
    assert read_all(cat.scan_source("default", "p"), predicate=pc.field("k").is_null()).num_rows == 1


def test_partition_values_with_special_characters_round_trip(cat, warehouse):
    cat.create_table(Table("default", "p", MANAGED, (Column("x", "int"),), (Column("k", "string"),)))
    cat.write("default", "p", pa.table({"x": [1], "k": ["a/b=c:d%"]}))
    assert os.listdir(os.path.join(warehouse, "default.db", "p")) == ["k=a%2Fb%3Dc%3Ad%25"]
    assert read_all(cat.scan_source("default", "p")).column("k").to_pylist() == ["a/b=c:d%"]
    # and a fresh MSCK REPAIR discovers the same value
    with cat.metastore.transaction() as tx:
        cat.metastore.drop_partition(tx, "default", "p", "k=a%2Fb%3Dc%3Ad%25")
    assert cat.repair_table("default", "p") == ["k=a%2Fb%3Dc%3Ad%25"]
    assert read_all(cat.scan_source("default", "p")).column("k").to_pylist() == ["a/b=c:d%"]


def test_file_uri_locations_take_the_same_path(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text("1\x01a\n2\x01b\n")
    cat.create_table(Table("default", "u", EXTERNAL, (Column("i", "int"), Column("s", "string")),
                           storage=StorageFormat(format="textfile"), location=f"file://{d}"))
    assert read_all(cat.scan_source("default", "u")).to_pylist() == [{"i": 1, "s": "a"}, {"i": 2, "s": "b"}]


def test_predicate_prunes_partitions_before_listing(cat, warehouse):
    import shutil

    data = _sales(cat, 300)
    # make one partition directory unlistable-as-data: if it were listed, its bogus file would fail the read
    bogus = os.path.join(warehouse, "default.db", "sales", "region=us", "day=2021-01-01", "zz-bogus.parquet")
    with open(bogus, "wb") as f:
        f.write(b"not parquet")
    pred = pc.field("region") == "eu"
    src = cat.scan_source("default", "sales", predicate=pred)
    assert {dict(p.values)["region"] for p in src.parts} == {"eu"}
    assert read_all(src).sort_by("id").equals(data.filter(pred).sort_by("id"))
    os.remove(bogus)
    shutil.rmtree(os.path.join(warehouse, "default.db", "sales", "region=us"))


def test_big_text_splits_come_back_in_bounded_batches(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text("".join(f"{i}\n" for i in range(200_000)))
    cat.create_table(Table("default", "n", EXTERNAL, (Column("i", "int"),), storage=StorageFormat(format="textfile"),
                           location=str(d)))
    src = cat.scan_source("default", "n")
    sizes = [b.num_rows for s in src.splits() for b in src.read_split(s)]
    assert sum(sizes) == 200_000 and max(sizes) <= 65536


def test_parallel_analyze_matches_sequential_and_duckdb(cat, warehouse):
    from rdd import Context

    _sales(cat, 3000, max_rows=200)  # many files: many splits, many tasks
    seq = cat.analyze("default", "sales", for_columns=True)
    seq_table = cat.statistics("default", "sales")
    ctx = Context("local[2]")
    try:
        par = cat.analyze("default", "sales", for_columns=True, rdd_context=ctx)
    finally:
        ctx.stop()
    assert par == seq
    par_table = cat.statistics("default", "sales")
    assert par_table == seq_table
    root = os.path.join(warehouse, "default.db", "sales")
    mn, mx, distinct = duckdb.connect().execute(
        f"SELECT min(amount), max(amount), count(DISTINCT amount) FROM read_parquet('{root}/*/*/*.parquet')").fetchone()
    a = par_table.columns["amount"]
    assert (a.min, a.max, a.distinct_count, par_table.row_count) == (mn, mx, distinct, 3000)
