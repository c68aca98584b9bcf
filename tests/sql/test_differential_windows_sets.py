"""Differential tests (Lamna vs DuckDB on the same Arrow tables) for RANGE frames with
offsets, DISTINCT window aggregates, INTERSECT ALL / EXCEPT ALL, and correlated
subqueries in JOIN … ON; plus TABLESAMPLE, whose samples are checked against the rows
they must be (the bucket hash computed on the same data) since DuckDB samples otherwise.

Tables (conftest): t (200 rows, NULLs in every column, many ties in k, g, x), u (60),
s3 (5, duplicate keys), e (empty), nn (a NULL key); here also ``wt`` (timestamps and
dates with ties and NULLs, one-row and all-NULL partitions) and ``ma``/``mb``
(duplicate rows with NULLs, for multiset operations).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pyarrow as pa
import pytest
from lamna_diff import check


def _wt() -> pa.Table:
    rnd = random.Random(11)
    n = 80
    base = dt.datetime(2021, 3, 1)
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "p": pa.array([rnd.choice([1, 2, 3]) if i < n - 2 else 9 + i for i in range(n)], pa.int32()),
        "ts": pa.array([None if rnd.random() < 0.1 else base + dt.timedelta(minutes=rnd.choice([0, 30, 45, 90, 200, 600]) * rnd.randint(0, 6))
                        for _ in range(n)], pa.timestamp("us")),
        "day": pa.array([None if rnd.random() < 0.1 else dt.date(2021, 1, 1) + dt.timedelta(days=rnd.choice([0, 3, 10, 31, 45, 60, 400]))
                         for _ in range(n)], pa.date32()),
        "v": pa.array([None if rnd.random() < 0.15 else rnd.randint(-5, 5) for _ in range(n)], pa.int64()),
        "allnull": pa.array([None] * n, pa.int64()),
    })


def _multisets() -> tuple[pa.Table, pa.Table]:
    a = pa.table({"x": pa.array([1, 1, 1, 2, 2, None, None, 3, 5], pa.int32()),
                  "y": pa.array(["a", "a", "a", "b", "b", None, None, "c", None], pa.string())})
    b = pa.table({"x": pa.array([1, 2, 2, 2, None, 4, 5, 5], pa.int64()),
                  "y": pa.array(["a", "b", "b", "b", None, "d", None, "e"], pa.string())})
    return a, b


@pytest.fixture(scope="module")
def db(lamna: Any, duck: Any) -> tuple[Any, Any]:
    a, b = _multisets()
    for name, table, split in (("wt", _wt(), 13), ("ma", a, 2), ("mb", b, 3)):
        lamna.session.register_arrow(name, table, rows_per_split=split)
        duck.register(name, table)
    return lamna, duck


RANGE_FRAMES = [
    # numeric keys: integer, double and decimal offsets; ties; NULL keys; both directions
    "SELECT id, sum(x) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 5 PRECEDING AND 5 FOLLOWING) FROM t",
    "SELECT id, count(*) OVER (PARTITION BY g ORDER BY y RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM t",
    "SELECT id, avg(d) OVER (ORDER BY d RANGE BETWEEN 10.25 PRECEDING AND 2 FOLLOWING) FROM t",
    "SELECT id, sum(d) OVER (PARTITION BY k ORDER BY d RANGE BETWEEN 100 PRECEDING AND 0.5 FOLLOWING) FROM t",
    "SELECT id, sum(x) OVER (PARTITION BY k ORDER BY x DESC RANGE BETWEEN 3 PRECEDING AND 1 FOLLOWING) FROM t",
    "SELECT id, count(x) OVER (PARTITION BY g ORDER BY x DESC NULLS LAST RANGE BETWEEN 2 PRECEDING AND 2 FOLLOWING) FROM t",
    "SELECT id, sum(y) OVER (PARTITION BY k ORDER BY x NULLS LAST RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM t",
    ("SELECT id, min(s) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 2 PRECEDING AND 2 FOLLOWING), "
    "max(s) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 2 PRECEDING AND 2 FOLLOWING) FROM t"),
    ("SELECT id, min(dt) OVER (PARTITION BY g ORDER BY y RANGE BETWEEN 0.5 PRECEDING AND 0.5 FOLLOWING), "
    "max(d) OVER (PARTITION BY g ORDER BY y RANGE BETWEEN 0.5 PRECEDING AND 0.5 FOLLOWING) FROM t"),
    ("SELECT id, first_value(x) OVER (ORDER BY id RANGE BETWEEN 3 PRECEDING AND 3 FOLLOWING), "
    "last_value(x) OVER (ORDER BY id RANGE BETWEEN 3 PRECEDING AND 3 FOLLOWING) FROM t"),
    "SELECT id, stddev_samp(y) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 10 PRECEDING AND 10 FOLLOWING) FROM t",
    # frame edges: frames that exclude the current row, empty frames, unbounded ends, 0 offsets
    "SELECT id, sum(x) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 10 FOLLOWING AND 20 FOLLOWING) FROM t",
    ("SELECT id, count(x) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 20 PRECEDING AND 10 PRECEDING), "
    "min(x) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 20 PRECEDING AND 10 PRECEDING) FROM t"),
    "SELECT id, sum(x) OVER (PARTITION BY g ORDER BY x RANGE BETWEEN UNBOUNDED PRECEDING AND 5 FOLLOWING) FROM t",
    "SELECT id, sum(x) OVER (PARTITION BY g ORDER BY x RANGE BETWEEN 5 PRECEDING AND UNBOUNDED FOLLOWING) FROM t",
    "SELECT id, sum(x) OVER (PARTITION BY g ORDER BY x RANGE BETWEEN 0 PRECEDING AND 0 FOLLOWING) FROM t",
    "SELECT id, count(*) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 1000 PRECEDING AND 1000 FOLLOWING) FROM t",
    "SELECT id, sum(x) OVER (ORDER BY x RANGE 3 PRECEDING) FROM t",
    "SELECT id, sum(x) OVER (PARTITION BY k ORDER BY id ROWS 2 PRECEDING) FROM t",
    "SELECT k, sum(v) OVER (PARTITION BY k ORDER BY v RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM e",
    "SELECT k, count(*) OVER (ORDER BY k RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM nn",
    # timestamps and dates: intervals; one-row partitions; an all-NULL value column
    "SELECT id, count(v) OVER (PARTITION BY p ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) FROM wt",
    ("SELECT id, sum(v) OVER (PARTITION BY p ORDER BY ts DESC RANGE BETWEEN INTERVAL '90' MINUTE PRECEDING "
    "AND INTERVAL '30' MINUTE FOLLOWING) FROM wt"),
    ("SELECT id, sum(v) OVER (PARTITION BY p ORDER BY day RANGE BETWEEN INTERVAL '1' MONTH PRECEDING "
    "AND INTERVAL '10' DAY FOLLOWING) FROM wt"),
    ("SELECT id, max(allnull) OVER (PARTITION BY p ORDER BY day RANGE BETWEEN INTERVAL '7' DAY PRECEDING AND CURRENT ROW), "
    "count(allnull) OVER (PARTITION BY p ORDER BY day RANGE BETWEEN INTERVAL '7' DAY PRECEDING AND CURRENT ROW) FROM wt"),
    # sliding ROWS frames through the same min/max and bounds code
    ("SELECT id, min(s) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING), "
    "max(dt) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) FROM t"),
    ("SELECT id, max(d) OVER (ORDER BY id ROWS BETWEEN 2 FOLLOWING AND 4 FOLLOWING), "
    "min(y) OVER (ORDER BY id ROWS BETWEEN 4 PRECEDING AND 4 FOLLOWING) FROM t"),
]

# Hive reads a number as days (DATE key) or seconds (TIMESTAMP key); DuckDB wants intervals.
HIVE_UNITS = [
    ("SELECT id, count(v) OVER (PARTITION BY p ORDER BY day RANGE BETWEEN 30 PRECEDING AND CURRENT ROW) FROM wt",
     ("SELECT id, count(v) OVER (PARTITION BY p ORDER BY day NULLS FIRST RANGE BETWEEN INTERVAL 30 DAY PRECEDING "
     "AND CURRENT ROW) FROM wt")),
    ("SELECT id, sum(v) OVER (ORDER BY ts RANGE BETWEEN 3600 PRECEDING AND 1800 FOLLOWING) FROM wt",
     ("SELECT id, sum(v) OVER (ORDER BY ts NULLS FIRST RANGE BETWEEN INTERVAL 3600 SECOND PRECEDING "
     "AND INTERVAL 1800 SECOND FOLLOWING) FROM wt")),
]

DISTINCT_WINDOWS = [
    "SELECT id, count(DISTINCT x) OVER (PARTITION BY k) FROM t",
    "SELECT id, count(DISTINCT g) OVER () FROM t",
    "SELECT id, sum(DISTINCT x) OVER (PARTITION BY k ORDER BY id) FROM t",
    "SELECT id, count(DISTINCT x) OVER (PARTITION BY k ORDER BY x) FROM t",
    "SELECT id, avg(DISTINCT y) OVER (PARTITION BY g ORDER BY id ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING) FROM t",
    "SELECT id, count(DISTINCT s) OVER (PARTITION BY k ORDER BY x RANGE BETWEEN 5 PRECEDING AND 5 FOLLOWING) FROM t",
    ("SELECT id, count(DISTINCT k) OVER (ORDER BY id ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING), "
    "sum(DISTINCT k) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND 6 FOLLOWING) FROM t"),
    "SELECT id, count(DISTINCT x) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM t",
    "SELECT id, min(DISTINCT x) OVER (PARTITION BY g), max(DISTINCT d) OVER (PARTITION BY g) FROM t",
    "SELECT id, sum(DISTINCT d) OVER (PARTITION BY k), avg(DISTINCT x) OVER (PARTITION BY k) FROM t",
    ("SELECT id, count(DISTINCT x) OVER (PARTITION BY k), count(x) OVER (PARTITION BY k), "
    "sum(DISTINCT x) OVER (PARTITION BY k ORDER BY id ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) FROM t"),
    ("SELECT id, count(DISTINCT v) OVER (PARTITION BY p ORDER BY ts RANGE BETWEEN INTERVAL '2' HOUR PRECEDING "
    "AND CURRENT ROW), count(DISTINCT allnull) OVER (PARTITION BY p) FROM wt"),
    "SELECT k, count(DISTINCT v) OVER (PARTITION BY k) FROM e",
]

SET_OPERATIONS = [
    "SELECT x, y FROM ma INTERSECT ALL SELECT x, y FROM mb",
    "SELECT x, y FROM ma EXCEPT ALL SELECT x, y FROM mb",
    "SELECT x, y FROM mb EXCEPT ALL SELECT x, y FROM ma",
    "SELECT x FROM ma INTERSECT ALL SELECT x FROM mb",
    "SELECT y FROM mb MINUS ALL SELECT y FROM ma",
    "SELECT k, g FROM t INTERSECT ALL SELECT k, g FROM u",
    "SELECT k, g FROM t EXCEPT ALL SELECT k, g FROM u",
    "SELECT k FROM u EXCEPT ALL SELECT k FROM t",
    "SELECT k FROM t INTERSECT ALL SELECT v FROM u",
    "SELECT k, g FROM t EXCEPT ALL SELECT k, g FROM t",
    "SELECT k, g FROM t INTERSECT ALL SELECT k, g FROM t",
    "SELECT k FROM t EXCEPT ALL SELECT k FROM e",
    "SELECT k FROM e INTERSECT ALL SELECT k FROM t",
    "SELECT k FROM t INTERSECT ALL SELECT k FROM u EXCEPT ALL SELECT k FROM s3",
    "SELECT k FROM t EXCEPT ALL SELECT k FROM u ORDER BY k",
    "SELECT z.k, count(*) FROM (SELECT k FROM t INTERSECT ALL SELECT k FROM u) z GROUP BY z.k",
    "SELECT x, y FROM ma INTERSECT SELECT x, y FROM mb",
    "SELECT x, y FROM ma EXCEPT SELECT x, y FROM mb",
]


@pytest.mark.parametrize("q", RANGE_FRAMES)
def test_range_frames(db: tuple[Any, Any], q: str) -> None:
    check(*db, q)


@pytest.mark.parametrize("q, duck_sql", HIVE_UNITS)
def test_range_offsets_in_hive_units(db: tuple[Any, Any], q: str, duck_sql: str) -> None:
    check(*db, q, duck_sql)


@pytest.mark.parametrize("q", DISTINCT_WINDOWS)
def test_distinct_window_aggregates(db: tuple[Any, Any], q: str) -> None:
    check(*db, q)


@pytest.mark.parametrize("q", SET_OPERATIONS)
def test_multiset_operations(db: tuple[Any, Any], q: str) -> None:
    check(*db, q)


@pytest.mark.parametrize("q, message, where", [
    ("SELECT sum(x) OVER (ORDER BY x, id RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t",
     "RANGE with an offset needs exactly one ORDER BY expression, not 2", "line 1:8"),
    ("SELECT sum(x) OVER (ORDER BY x RANGE BETWEEN INTERVAL '1' DAY PRECEDING AND CURRENT ROW) FROM t",
     "an interval offset needs a DATE or TIMESTAMP ORDER BY key, not bigint", "line 1:"),
    ("SELECT sum(x) OVER (ORDER BY s RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t",
     "RANGE offsets need a numeric, DATE or TIMESTAMP ORDER BY key, not string", "line 1:"),
    ("SELECT sum(x) OVER (ORDER BY x\n  RANGE BETWEEN -1 PRECEDING AND CURRENT ROW) FROM t",
     "a window frame offset must not be negative", "line 2:"),
    ("SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM t",
     "ROWS frame offsets must be integers: 1.5", "line 1:"),
    ("SELECT sum(x) OVER (ORDER BY dt RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM t",
     "a DATE key's RANGE offset is a whole number of days: 1.5", "line 1:"),
    ("SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM t",
     "a window frame cannot start at UNBOUNDED FOLLOWING", "line 1:8"),
    ("SELECT stddev(DISTINCT x) OVER (PARTITION BY k) FROM t",
     "DISTINCT in window aggregates is supported for count, sum, avg, min, max", ""),
])
def test_bad_frames_are_clear_errors(db: tuple[Any, Any], q: str, message: str, where: str) -> None:
    import sql

    with pytest.raises(sql.Error) as ex:
        db[0].cursor().execute(q)
    assert message in str(ex.value) and where in str(ex.value)


# -- TABLESAMPLE: the rows a sample must hold, computed on the same data ---------------------

def _with_buckets(table: pa.Table, column: str, buckets: int) -> pa.Table:
    """``table`` plus ``__bucket``: the engine's hash bucket of ``column`` (what BUCKET ON uses)."""
    from rdd.columnar import hash_partition_ids

    return table.append_column("__bucket", pa.array(hash_partition_ids(table, [column], buckets)))


@pytest.mark.parametrize("column, x, y", [("id", 3, 8), ("k", 1, 2), ("g", 2, 3), ("d", 4, 5), ("dt", 1, 1), ("s", 7, 7)])
def test_bucket_sample_on_a_column_is_its_hash_bucket(db: tuple[Any, Any], column: str, x: int, y: int) -> None:
    from diff_tables import TABLES

    lamna, duck = db
    duck.register("t_sampled", _with_buckets(TABLES["t"], column, y))
    check(lamna, duck, f"SELECT * FROM t TABLESAMPLE (BUCKET {x} OUT OF {y} ON {column})",
          f"SELECT * EXCLUDE (__bucket) FROM t_sampled WHERE __bucket = {x - 1}")
    check(lamna, duck, f"SELECT s.g, count(*), sum(s.x) FROM t TABLESAMPLE (BUCKET {x} OUT OF {y} ON {column}) s "
                       f"WHERE s.y > 0 GROUP BY s.g",
          f"SELECT g, count(*), sum(x) FROM t_sampled WHERE __bucket = {x - 1} AND y > 0 GROUP BY g")


def test_bucket_samples_partition_the_table(db: tuple[Any, Any]) -> None:
    """The y samples of one column are disjoint and together hold every row once."""
    lamna, duck = db
    parts = " UNION ALL ".join(f"SELECT * FROM t TABLESAMPLE (BUCKET {i} OUT OF 4 ON g)" for i in range(1, 5))
    check(lamna, duck, parts, "SELECT * FROM t")


def test_bucket_sample_on_rand_is_a_subset(db: tuple[Any, Any]) -> None:
    cur = db[0].cursor()
    cur.execute("SELECT id FROM t TABLESAMPLE (BUCKET 1 OUT OF 2 ON rand())")
    ids = [r[0] for r in cur.fetchall()]
    assert len(set(ids)) == len(ids) and set(ids) <= set(range(200))
    assert 0 < len(ids) < 200  # each row in with probability 1/2


def _chosen_rows(lamna: Any, percent: float, seed: int) -> list[int]:
    """The ids (= row positions) of the splits Hive's block sampling picks from ``t``."""
    from planner.sampling import block_sample

    splits = block_sample(lamna.session.registered["t"].splits(), percent, seed)
    return sorted(i for s in splits for i in range(s.start, s.start + (s.length or 0)))


@pytest.mark.parametrize("percent, seed", [(30, 0), (30, 1), (50, 2), (0.5, 5), (100, 3), (0, 0)])
def test_percent_sample_is_whole_splits_from_the_seed(db: tuple[Any, Any], percent: float, seed: int) -> None:
    lamna, duck = db
    ids = _chosen_rows(lamna, percent, seed)
    cur = lamna.cursor()
    cur.execute(f"SET hive.sample.seednumber={seed}")
    try:
        check(lamna, duck, f"SELECT * FROM t TABLESAMPLE ({percent} PERCENT)",
              f"SELECT * FROM t WHERE id IN ({', '.join(map(str, ids)) or 'NULL'})")
    finally:
        cur.execute("SET hive.sample.seednumber=0")
    assert len(ids) >= 200 * percent / 100  # at least n percent, at split granularity
    assert (len(ids) == 200) == (percent == 100)


def test_rows_sample(db: tuple[Any, Any]) -> None:
    cur = db[0].cursor()
    cur.execute("SELECT count(*) FROM t TABLESAMPLE (7 ROWS)")
    assert cur.fetchall() == [(7,)]


@pytest.mark.parametrize("q, message", [
    ("SELECT * FROM t TABLESAMPLE (BUCKET 2 OUT OF 3)",
     "TABLESAMPLE (BUCKET 2 OUT OF 3) of t, which is not bucketed, needs ON <column> or ON rand()"),
    ("SELECT * FROM t TABLESAMPLE (BUCKET 4 OUT OF 3 ON id)", "need whole numbers with 1 <= x <= y"),
    ("SELECT * FROM t TABLESAMPLE (120 PERCENT)", "the percentage must be between 0 and 100"),
    ("SELECT * FROM t TABLESAMPLE (BUCKET 1 OUT OF 3 ON nope)", "nope"),
])
def test_bad_samples_are_clear_errors(db: tuple[Any, Any], q: str, message: str) -> None:
    import sql

    with pytest.raises(sql.Error) as ex:
        db[0].cursor().execute(q)
    assert message in str(ex.value) and "line 1:" in str(ex.value)


def test_bucket_sample_of_a_bucketed_table_reads_only_its_bucket_files(tmp_path: Any, duck: Any) -> None:
    """Sampling a table on its bucket column: the same rows as the hash says, and when the
    bucket count is a multiple of y the other bucket files are not even read."""
    import sql
    from rdd.columnar import hash_partition_ids

    rows = pa.table({"id": pa.array(range(300), pa.int32()), "name": pa.array([f"n{i % 17}" for i in range(300)])})
    buckets = hash_partition_ids(rows, ["id"], 2)
    with sql.connect(warehouse=str(tmp_path)) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE b (id INT, name STRING) CLUSTERED BY (id) INTO 4 BUCKETS STORED AS PARQUET")
        cur.execute("INSERT INTO b VALUES " + ", ".join(f"({i}, 'n{i % 17}')" for i in range(300)))
        ctx = conn.session.rdd_context
        ctx.setJobGroup("bucket-sample", "sample")
        cur.execute("SELECT id, name FROM b TABLESAMPLE (BUCKET 2 OUT OF 2)")  # ON the bucket column
        got = sorted(cur.fetchall())
        tracker = ctx.statusTracker()
        stages = {s for j in tracker.getJobIdsForGroup("bucket-sample") for s in tracker.getJobInfo(j).stageIds}
        read = sum(info.inputRecords for s in stages if (info := tracker.getStageInfo(s)))
        split_buckets = [s.bucket for s in conn.session.catalog.scan_source("default", "b").splits()]
    expected = sorted((i, f"n{i % 17}") for i in range(300) if buckets[i] == 1)
    assert got == expected
    if all(b is not None for b in split_buckets):  # bucket files known: half of them read
        assert read == len(expected)
    else:
        assert read == 300


# -- subqueries in JOIN ... ON: decorrelated into joins --------------------------------------

JOIN_SUBQUERIES = [
    "SELECT t.id, u.v FROM t JOIN u ON t.k = u.k AND u.v > (SELECT avg(x) FROM t t2 WHERE t2.g = t.g)",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND u.v > (SELECT avg(x) FROM t t2 WHERE t2.g = t.g)",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND EXISTS (SELECT 1 FROM s3 WHERE s3.k = u.k)",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND t.x IN (SELECT v FROM u u2 WHERE u2.g = t.g)",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND t.x NOT IN (SELECT v FROM u u2 WHERE u2.g = t.g)",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND u.v NOT IN (SELECT k FROM nn)",
    "SELECT t.id, u.v FROM t RIGHT JOIN u ON t.k = u.k AND NOT EXISTS (SELECT 1 FROM s3 WHERE s3.k = t.k)",
    "SELECT t.id, u.v FROM t FULL JOIN u ON t.k = u.k AND u.v IN (SELECT k FROM s3)",
    ("SELECT t.id, u.v FROM t FULL JOIN u ON t.g = u.g AND t.x > (SELECT min(v) FROM u u3 WHERE u3.k = t.k) "
    "AND u.w < (SELECT max(d) FROM t t3 WHERE t3.g = u.g)"),
    "SELECT t.id, u.v FROM t JOIN u ON t.k = u.k AND t.x + u.v > (SELECT count(*) FROM s3 WHERE s3.k = u.k)",
    "SELECT t.id FROM t LEFT SEMI JOIN u ON t.k = u.k AND u.v IN (SELECT x FROM t t3 WHERE t3.g = u.g)",
    "SELECT t.id, u.v FROM t JOIN u ON t.k = u.k AND EXISTS (SELECT 1 FROM s3)",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND (SELECT max(k) FROM s3) > 2",
    "SELECT t.id, u.v FROM t LEFT JOIN u ON t.k = u.k AND EXISTS (SELECT 1 FROM e WHERE e.k = t.k)",
    "SELECT t.id, u.v FROM t JOIN u ON t.k = u.k AND u.g IN (SELECT g FROM t t4 WHERE t4.k = t.k AND t4.x > u.v)",
    ("SELECT t.id, u.v, s3.name FROM t JOIN u ON t.k = u.k LEFT JOIN s3 ON s3.k = u.k "
    "AND u.g IN (SELECT g FROM t t5 WHERE t5.id = t.id)"),
]


@pytest.mark.parametrize("q", JOIN_SUBQUERIES)
def test_subqueries_in_join_conditions(db: tuple[Any, Any], q: str) -> None:
    check(*db, q)
    import sqlglot

    from planner.expressions import SUBQUERIES, walk
    from planner.logical import expressions, transform_up

    plan = db[0].session.plan_query(sqlglot.parse_one(q, read="hive"), compile=False).optimized
    left: list[Any] = []
    transform_up(plan, lambda n: left.extend(x for e in expressions(n) for x in walk(e) if isinstance(x, SUBQUERIES)) or n)
    assert not left  # decorrelated into joins: nothing runs per row


def test_a_subquery_reading_both_sides_of_an_outer_join_is_a_clear_error(db: tuple[Any, Any]) -> None:
    import sql

    with pytest.raises(sql.NotSupportedError) as ex:
        db[0].cursor().execute("SELECT t.id FROM t LEFT JOIN u ON t.k = u.k "
                               "AND u.g IN (SELECT g FROM t t4 WHERE t4.k = t.k AND t4.x > u.v)")
    assert "ON condition of a LEFT JOIN that reads columns of both sides" in str(ex.value)


def test_window_kernels_read_dictionary_strings_like_plain_ones() -> None:
    """The columnar cache keeps low-cardinality strings dictionary-encoded."""
    import numpy as np

    from planner.physical.window import _framed_min_max
    from planner.physical.window_distinct import distinct_aggregate

    plain = pa.array(["x", "y", "x", None, "z", "y"])
    group = np.array([0, 0, 0, 0, 1, 1])
    gstart = np.array([0, 0, 0, 0, 4, 4])
    start, end = np.maximum(np.arange(6) - 1, gstart), np.arange(6)
    for col in (plain, plain.dictionary_encode()):
        assert distinct_aggregate("count", col, group, gstart, start, end).to_pylist() == [1, 2, 2, 1, 1, 2]
        assert _framed_min_max("max", col, start, end, end < start).to_pylist() == ["x", "y", "y", "x", "z", "z"]
