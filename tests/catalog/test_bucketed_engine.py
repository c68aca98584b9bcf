"""Bucketed writes driven by the real engine (its query output is an RDD of several
partitions, exchanged on the bucket hash before the writes), queried back by the engine
and compared with DuckDB on the same rows."""

from __future__ import annotations

import os
import random

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sql
from catalog.buckets import bucket_of
from rdd.columnar import hash_partition_ids


@pytest.fixture
def conn(tmp_path):
    c = sql.connect(warehouse=str(tmp_path / "wh"), **{"spark.sql.shuffle.partitions": "3"})
    yield c
    c.close()


def test_engine_insert_into_bucketed_table_and_query_it(conn):
    rnd = random.Random(11)
    n = 2000
    data = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "name": pa.array([rnd.choice(["a", "bb", "", None, "ccc", "dddd"]) for _ in range(n)], pa.string()),
        "day": pa.array([rnd.choice(["mon", "tue"]) for _ in range(n)], pa.string()),
    })
    conn.session.register_arrow("incoming", data, rows_per_split=300)
    cur = conn.cursor()
    cur.execute("CREATE TABLE ev (id BIGINT, name STRING) PARTITIONED BY (day STRING) "
                "CLUSTERED BY (name) SORTED BY (id DESC) INTO 6 BUCKETS")
    cur.execute("INSERT INTO ev PARTITION (day) SELECT id, name, day FROM incoming")
    cur.execute("INSERT INTO ev PARTITION (day='mon') SELECT id + 100000, name FROM incoming WHERE id % 7 = 0")
    table = conn.session.catalog.get_table("default", "ev")
    location = table.location
    for day in ("day=mon", "day=tue"):
        files = sorted(f for f in os.listdir(os.path.join(location, day)) if not f.startswith("."))
        assert sorted(bucket_of(f, table) for f in files) == list(range(6))
        for f in files:
            assert f.endswith(".parquet")
            rows = pq.read_table(os.path.join(location, day, f))
            assert (hash_partition_ids(rows, ["name"], 6) == bucket_of(f, table)).all()
            ids = rows.column("id").to_pylist()
            assert ids == sorted(ids, reverse=True)
    duck = duckdb.connect()
    duck.register("incoming", data)
    query = "SELECT day, name, count(*), sum(id) FROM {} GROUP BY day, name ORDER BY day, name NULLS FIRST"
    cur.execute(query.format("ev"))
    assert cur.fetchall() == duck.execute(query.format(
        "(SELECT id, name, day FROM incoming UNION ALL "
        "SELECT id + 100000, name, 'mon' FROM incoming WHERE id % 7 = 0)")).fetchall()
