"""Bucketed tables: CLUSTERED BY (c) [SORTED BY ...] INTO n BUCKETS is applied by every write.

Each write leaves exactly n bucket files per touched partition, every row in the file
its hash (rdd.columnar's, the shuffle's) names, each file sorted by SORTED BY; the
contents match DuckDB's reading of the same rows; INSERT INTO merges; LOAD DATA is
rewritten through the bucketed writer; the scan source exposes the layout.
"""

from __future__ import annotations

import os
import random

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from catalog.buckets import bucket_of
from catalog.errors import WriteError
from catalog.scan import Bucketing
from rdd.columnar import hash_partition_ids
from sql.statements import StatementError


def _source_rows(n: int = 300, seed: int = 3) -> list[tuple]:
    rnd = random.Random(seed)
    return [(rnd.choice([None] + list(range(40))), rnd.choice([None, "ant", "bee", "cat", "dog", "eel", "fox"]),
             round(rnd.uniform(-5, 5), 2), rnd.choice(["x", "y", "z"])) for _ in range(n)]


def _values(rows) -> str:
    def lit(v):
        return "NULL" if v is None else repr(v)
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


@pytest.fixture
def src(session):
    rows = _source_rows()
    session.execute("CREATE TABLE src (k INT, s STRING, v DOUBLE, p STRING)")
    session.execute(f"INSERT INTO src VALUES {_values(rows)}")
    return rows


def _duck_rows(rows, query: str) -> list[tuple]:
    con = duckdb.connect()
    con.register("src", pa.table({"k": pa.array([r[0] for r in rows], pa.int32()),
                                  "s": pa.array([r[1] for r in rows], pa.string()),
                                  "v": pa.array([r[2] for r in rows], pa.float64()),
                                  "p": pa.array([r[3] for r in rows], pa.string())}))
    return sorted(con.execute(query).fetchall(), key=repr)


def _visible(directory: str) -> list[str]:
    return sorted(f for f in os.listdir(directory)
                  if not f.startswith((".", "_")) and os.path.isfile(os.path.join(directory, f)))


def _check_layout(session, db: str, name: str, keys: tuple[str, ...], n: int, sort: list[tuple[str, str]]) -> int:
    """Every partition has exactly n bucket files, each row sits in the bucket its hash
    names, and each file is sorted; returns the rows seen. Reads each bucket file
    through the table's own scan source, whose splits name their bucket."""
    t = session.catalog.get_table(db, name)
    dirs = [p.location for p in session.catalog.list_partitions(db, name)] if t.partition_columns else [t.location]
    for d in dirs:
        names = _visible(d)
        assert sorted(bucket_of(f, t) for f in names) == list(range(n)), (d, names)
    source = session.catalog.scan_source(db, name)
    assert source.bucketing == Bucketing(keys, n, tuple(sort))
    seen = 0
    data_names = [c.name for c in t.columns]
    for split in source.splits():
        assert split.bucket == bucket_of(split.path, t)
        rows = pa.Table.from_batches(list(source.read_split(split, data_names)),
                                     schema=t.data_schema())
        seen += rows.num_rows
        assert (hash_partition_ids(rows, list(keys), n) == split.bucket).all(), split.path
        if sort:
            expected = _hive_sorted(rows, sort)
            assert rows.select([c for c, _ in sort]).to_pylist() == expected.select([c for c, _ in sort]).to_pylist()
    return seen


def _hive_sorted(rows: pa.Table, sort: list[tuple[str, str]]) -> pa.Table:
    """Independent of the writer: DuckDB's ORDER BY with Hive's NULL placement."""
    con = duckdb.connect()
    con.register("r", rows)
    order = ", ".join(f"{c} {d} NULLS {'FIRST' if d == 'ASC' else 'LAST'}" for c, d in sort)
    return con.sql(f"SELECT * FROM r ORDER BY {order}").to_arrow_table()


@pytest.mark.parametrize("fmt", ["PARQUET", "TEXTFILE", "ORC", "JSONFILE", "CSV"])
def test_insert_writes_one_hashed_sorted_file_per_bucket(session, src, fmt):
    session.execute(f"CREATE TABLE b (k INT, s STRING, v DOUBLE, p STRING) CLUSTERED BY (k) "
                    f"SORTED BY (s DESC, v) INTO 4 BUCKETS STORED AS {fmt}")
    assert session.execute("INSERT INTO b SELECT * FROM src").rowcount == len(src)
    assert _check_layout(session, "default", "b", ("k",), 4, [("s", "DESC"), ("v", "ASC")]) == len(src)
    assert sorted(session.rows("SELECT * FROM b"), key=repr) == _duck_rows(src, "SELECT * FROM src")


def test_dynamic_partitions_get_n_files_each_even_for_empty_buckets(session, src):
    session.execute("CREATE TABLE b (k INT, s STRING, v DOUBLE) PARTITIONED BY (p STRING) "
                    "CLUSTERED BY (s, k) SORTED BY (k ASC) INTO 5 BUCKETS STORED AS TEXTFILE")
    session.execute("INSERT INTO b PARTITION (p) SELECT k, s, v, p FROM src")
    # a static partition holding 2 rows still gets all 5 files (3 of them empty)
    session.execute("INSERT INTO b PARTITION (p='few') SELECT k, s, v FROM src WHERE k = 7 LIMIT 2")
    assert _check_layout(session, "default", "b", ("s", "k"), 5, [("k", "ASC")]) == len(src) + 2
    assert sorted(session.rows("SELECT k, s, v, p FROM b WHERE p <> 'few'"), key=repr) == \
        _duck_rows(src, "SELECT k, s, v, p FROM src")
    few = os.path.join(session.catalog.get_table("default", "b").location, "p=few")
    assert sum(os.path.getsize(os.path.join(few, f)) == 0 for f in _visible(few)) >= 3


def test_insert_into_merges_buckets_and_keeps_counts_exact(session, reopen, src):
    session.execute("CREATE TABLE b (k INT, s STRING, v DOUBLE) PARTITIONED BY (p STRING) "
                    "CLUSTERED BY (k) SORTED BY (v DESC) INTO 3 BUCKETS")
    session.execute("INSERT INTO b PARTITION (p) SELECT k, s, v, p FROM src WHERE p <> 'z'")
    assert session.execute("INSERT INTO b PARTITION (p) SELECT k, s, v, p FROM src WHERE v > 0").rowcount == \
        sum(1 for r in src if r[2] > 0)
    assert session.execute("INSERT INTO TABLE b PARTITION (p='x') SELECT k, s, v FROM src WHERE k < 3").rowcount == \
        sum(1 for r in src if r[0] is not None and r[0] < 3)
    expected = _duck_rows(src, "SELECT k, s, v, p FROM src WHERE p <> 'z' UNION ALL "
                               "SELECT k, s, v, p FROM src WHERE v > 0 UNION ALL "
                               "SELECT k, s, v, 'x' FROM src WHERE k < 3")
    assert _check_layout(session, "default", "b", ("k",), 3, [("v", "DESC")]) == len(expected)
    again = reopen()
    assert sorted(again.rows("SELECT k, s, v, p FROM b"), key=repr) == expected
    props = dict(again.rows("SHOW TBLPROPERTIES b"))
    assert int(props["numRows"]) == len(expected)


def test_insert_overwrite_and_ctas_and_multi_insert(session, src):
    session.execute("CREATE TABLE b (k INT, s STRING) CLUSTERED BY (k) INTO 4 BUCKETS")
    session.execute("INSERT INTO b SELECT k, s FROM src")
    session.execute("INSERT OVERWRITE TABLE b SELECT k, s FROM src WHERE s = 'cat'")
    _check_layout(session, "default", "b", ("k",), 4, [])
    assert sorted(session.rows("SELECT * FROM b"), key=repr) == _duck_rows(src, "SELECT k, s FROM src WHERE s = 'cat'")

    session.execute("CREATE TABLE c CLUSTERED BY (s) SORTED BY (s) INTO 2 BUCKETS STORED AS ORC "
                    "AS SELECT s, k FROM src")
    assert _check_layout(session, "default", "c", ("s",), 2, [("s", "ASC")]) == len(src)

    session.execute("CREATE TABLE d (k INT) PARTITIONED BY (p STRING) CLUSTERED BY (k) INTO 2 BUCKETS")
    session.execute("FROM src INSERT INTO TABLE b SELECT k, s WHERE k > 30 "
                    "INSERT OVERWRITE TABLE d PARTITION (p) SELECT k, p")
    _check_layout(session, "default", "b", ("k",), 4, [])
    _check_layout(session, "default", "d", ("k",), 2, [])
    assert sorted(session.rows("SELECT * FROM b"), key=repr) == _duck_rows(
        src, "SELECT k, s FROM src WHERE s = 'cat' UNION ALL SELECT k, s FROM src WHERE k > 30")
    assert sorted(session.rows("SELECT k, p FROM d"), key=repr) == _duck_rows(src, "SELECT k, p FROM src")


def test_load_data_is_rewritten_through_the_bucketed_writer(session, src, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    lines = ["\x01".join("\\N" if v is None else str(v) for v in r[:3]) for r in src]
    (incoming / "part-1.txt").write_text("\n".join(lines[:100]) + "\n")
    (incoming / "part-2.txt").write_text("\n".join(lines[100:]) + "\n")
    session.execute("CREATE TABLE b (k INT, s STRING, v DOUBLE) CLUSTERED BY (k) SORTED BY (k) INTO 3 BUCKETS "
                    "STORED AS TEXTFILE")
    session.execute(f"LOAD DATA INPATH '{incoming}' INTO TABLE b")
    assert os.listdir(incoming) == []  # without LOCAL the source files move in
    session.execute(f"LOAD DATA LOCAL INPATH '{incoming}' OVERWRITE INTO TABLE b")  # nothing left: empty overwrite
    assert session.rows("SELECT count(*) FROM b") == [(0,)]
    (incoming / "again.txt").write_text("\n".join(lines) + "\n")
    session.execute(f"LOAD DATA LOCAL INPATH '{incoming}/again.txt' INTO TABLE b")
    assert os.listdir(incoming) == ["again.txt"]
    assert _check_layout(session, "default", "b", ("k",), 3, [("k", "ASC")]) == len(src)
    assert sorted(session.rows("SELECT * FROM b"), key=repr) == _duck_rows(src, "SELECT k, s, v FROM src")


def test_foreign_files_disable_the_layout_and_stop_insert_into(session, src):
    session.execute("CREATE TABLE b (k INT, s STRING) CLUSTERED BY (k) INTO 2 BUCKETS STORED AS TEXTFILE")
    session.execute("INSERT INTO b SELECT k, s FROM src")
    location = session.catalog.get_table("default", "b").location
    with open(os.path.join(location, "000000_0"), "w") as f:
        f.write("1\x01hand written\n")
    assert session.catalog.scan_source("default", "b").bucketing is None
    with pytest.raises(StatementError, match=r"000000_0 is not one of its bucket files.*INSERT OVERWRITE"):
        session.execute("INSERT INTO b SELECT k, s FROM src")
    session.execute("INSERT OVERWRITE TABLE b SELECT * FROM b")
    assert _check_layout(session, "default", "b", ("k",), 2, []) == len(src) + 1


def test_concurrent_insert_into_one_bucket_fails_one_writer_whole(session, src):
    cat = session.catalog
    session.execute("CREATE TABLE b (k INT, s STRING) CLUSTERED BY (k) INTO 2 BUCKETS")
    session.execute("INSERT INTO b SELECT k, s FROM src")
    rows = pa.table({"k": pa.array([1, 2, 3, 4], pa.int32()), "s": ["a", "b", "c", "d"]})
    slow = cat.start_write("default", "b")
    staged = [slow.run_task(0, rows.to_batches())]  # merged against the files as they were
    cat.write("default", "b", rows)  # another session commits first
    with pytest.raises(WriteError, match="changed by a concurrent write"):
        slow.commit(staged)
    slow.abort()
    assert session.rows("SELECT count(*) FROM b") == [(len(src) + 4,)]
    _check_layout(session, "default", "b", ("k",), 2, [])


def test_definitions_are_checked_and_shown(session):
    for bad, msg in (
        ("CREATE TABLE x (a INT) CLUSTERED BY (nope) INTO 2 BUCKETS", "Bucket column nope is not"),
        ("CREATE TABLE x (a INT, m MAP<STRING,INT>) CLUSTERED BY (m) INTO 2 BUCKETS", "cannot be of type"),
        ("CREATE TABLE x (a INT) CLUSTERED BY (a) SORTED BY (b) INTO 2 BUCKETS", "Sort column b is not"),
        ("CREATE TABLE x (a INT) PARTITIONED BY (p INT) CLUSTERED BY (p) INTO 2 BUCKETS", "Bucket column p is not"),
        ("CREATE TABLE x (a INT) CLUSTERED BY (a) INTO 0 BUCKETS", "at least 1 bucket"),
    ):
        with pytest.raises(StatementError, match=msg) as e:
            session.execute(bad)
        assert e.value.line == 1
    session.execute("CREATE TABLE b (k INT, s STRING) CLUSTERED BY (k, s) SORTED BY (s DESC) INTO 8 BUCKETS")
    desc = {r[0]: r[1] for r in session.rows("DESCRIBE FORMATTED b") if r[0]}
    assert desc["Num Buckets:"] == "8" and desc["Bucket Columns:"] == "['k', 's']"
    assert desc["Sort Columns:"] == "['s DESC']"
    create = "\n".join(r[0] for r in session.rows("SHOW CREATE TABLE b"))
    assert "CLUSTERED BY (k, s) SORTED BY (s DESC) INTO 8 BUCKETS" in create


def test_bucket_hash_is_the_shuffle_hash_in_another_process(session, src, tmp_path):
    """The file a row lands in does not depend on the process: recompute in a fresh
    interpreter (another PYTHONHASHSEED) and compare."""
    import subprocess
    import sys

    session.execute("CREATE TABLE b (k INT, s STRING) CLUSTERED BY (s) INTO 4 BUCKETS")
    session.execute("INSERT INTO b SELECT k, s FROM src")
    source = session.catalog.scan_source("default", "b")
    by_value = {}
    for split in source.splits():
        for r in pa.Table.from_batches(list(source.read_split(split, ["s"])), schema=pa.schema([("s", pa.string())])).to_pylist():
            by_value[r["s"]] = split.bucket
    code = ("import sys, json, pyarrow as pa; from rdd.columnar import hash_partition_ids; "
            "vals = json.loads(sys.argv[1]); "
            "print(json.dumps(hash_partition_ids(pa.table({'s': pa.array(vals, pa.string())}), ['s'], 4).tolist()))")
    import json

    values = sorted(by_value, key=repr)
    out = subprocess.run([sys.executable, "-c", code, json.dumps(values)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert json.loads(out.stdout) == [by_value[v] for v in values]
    assert len(set(by_value.values())) > 1 and np.unique(list(by_value.values())).size <= 4


def test_a_values_bucket_does_not_depend_on_the_rows_around_it():
    """Regression: a string followed by empty or NULL values at the end of a batch used to
    hash without its last byte, so the exchange and the writer put it in different buckets."""
    alone = hash_partition_ids(pa.table({"s": pa.array(["ab"])}), ["s"], 1 << 30)[0]
    for tail in ([""], [None], ["", None, ""], ["c"]):
        for head in ([], [""], [None, "x"]):
            t = pa.table({"s": pa.array(head + ["ab"] + tail, pa.string())})
            assert hash_partition_ids(t, ["s"], 1 << 30)[len(head)] == alone, (head, tail)


def test_a_failing_bucket_task_leaves_the_old_contents(session, src, monkeypatch):
    from catalog import buckets

    session.execute("CREATE TABLE b (k INT, s STRING) PARTITIONED BY (p STRING) CLUSTERED BY (k) INTO 3 BUCKETS")
    session.execute("INSERT INTO b PARTITION (p) SELECT k, s, p FROM src")
    location = session.catalog.get_table("default", "b").location
    before = {d: _visible(os.path.join(location, d)) for d in os.listdir(location) if not d.startswith(".")}
    real = buckets._write_bucket_file

    def fail_last_bucket(spec, key, bucket, rows):
        if bucket == 2:
            raise RuntimeError("injected failure in bucket 2")
        return real(spec, key, bucket, rows)

    monkeypatch.setattr(buckets, "_write_bucket_file", fail_last_bucket)
    for sql in ("INSERT OVERWRITE TABLE b PARTITION (p) SELECT k, s, p FROM src WHERE k > 5",
                "INSERT INTO b PARTITION (p) SELECT k, s, p FROM src"):
        with pytest.raises(Exception, match="injected failure in bucket 2"):
            session.execute(sql)
    monkeypatch.setattr(buckets, "_write_bucket_file", real)
    assert {d: _visible(os.path.join(location, d)) for d in os.listdir(location) if not d.startswith(".")} == before
    assert not [d for d in os.listdir(location) if d.startswith(".lamna-staging-")]
    assert sorted(session.rows("SELECT k, s, p FROM b"), key=repr) == _duck_rows(src, "SELECT k, s, p FROM src")


def test_alter_clustered_by_leaves_old_files_untrusted_until_overwritten(session, src):
    session.execute("CREATE TABLE b (k INT, s STRING) CLUSTERED BY (k) INTO 4 BUCKETS")
    session.execute("INSERT INTO b SELECT k, s FROM src")
    assert session.catalog.scan_source("default", "b").bucketing is not None
    # the definition changes, the files do not (as in Hive): their layout no longer holds
    session.execute("ALTER TABLE b CLUSTERED BY (k) INTO 8 BUCKETS")
    source = session.catalog.scan_source("default", "b")
    assert source.bucketing is None and {s.bucket for s in source.splits()} == {None}
    with pytest.raises(StatementError, match="not one of its bucket files"):
        session.execute("INSERT INTO b SELECT k, s FROM src")
    session.execute("INSERT OVERWRITE TABLE b SELECT * FROM b")
    assert _check_layout(session, "default", "b", ("k",), 8, []) == len(src)
