"""Physical strategies, asserted on EXPLAIN: join selection, exchanges, stages."""

from __future__ import annotations

import pytest

from sql.dbapi import Connection
from sql.session import Session
from plan_helpers import TABLES


def conn(**settings: str) -> Connection:
    s = Session(settings=settings)
    for n, t in TABLES.items():
        s.register_arrow(n, t, rows_per_split=30)  # several partitions per table
    return Connection(s)


def explain(c: Connection, q: str) -> tuple[str, str]:
    cur = c.cursor()
    cur.execute("EXPLAIN EXTENDED " + q)
    text = cur.fetchone()[0]
    physical = text.split("== Physical Plan ==")[1].split("== RDD Stages ==")[0]
    return physical, text.split("== RDD Stages ==")[1]


Q_AGG_JOIN = ("SELECT x.k, c, t FROM (SELECT k, count(*) c FROM a GROUP BY k) x "
              "JOIN (SELECT k, sum(y) t FROM b GROUP BY k) y ON x.k = y.k")


def test_copartitioned_join_has_no_exchange():
    c = conn(**{"spark.sql.shuffle.partitions": "4", "lamna.broadcast.threshold": "0"})
    physical, stages = explain(c, Q_AGG_JOIN)
    assert "CoPartitionedHashJoinExec inner" in physical
    assert stages.count("ShuffledBatchesRDD") == 2  # one per aggregate, none for the join
    cur = c.cursor()
    cur.execute(Q_AGG_JOIN)
    assert len(cur.fetchall()) == 100


def test_broadcast_join_has_one_stage_less_than_shuffle_join():
    q = "SELECT a.x, b.y FROM a JOIN b ON a.k = b.k"
    physical, stages_b = explain(conn(), q)
    assert "BroadcastHashJoinExec inner" in physical
    physical, stages_s = explain(conn(**{"lamna.broadcast.threshold": "0"}), q)
    assert "ShuffleHashJoinExec inner" in physical
    assert stages_s.count("ShuffledBatchesRDD") == 2 and stages_b.count("ShuffledBatchesRDD") == 0


def test_mapjoin_hint_and_threshold_setting_are_honoured():
    c = conn()
    cur = c.cursor()
    cur.execute("SET lamna.broadcast.threshold=0")
    physical, _ = explain(c, "SELECT a.x FROM a JOIN b ON a.k = b.k")
    assert "ShuffleHashJoinExec" in physical
    physical, _ = explain(c, "SELECT /*+ MAPJOIN(b) */ a.x FROM a JOIN b ON a.k = b.k")
    assert "BroadcastHashJoinExec inner" in physical and physical.strip().splitlines()[-1].strip() == "ScanExec b [k]"
    physical, _ = explain(c, "SELECT /*+ BROADCAST(a) */ a.x, b.y FROM a JOIN b ON a.k = b.k")
    build = physical.split("BroadcastHashJoinExec inner")[1].strip().splitlines()
    assert "ScanExec b" in build[1] and "ScanExec a" in build[2]  # a is now the build (right) side
    cur.execute("SELECT /*+ BROADCAST(a) */ a.x, b.y FROM a JOIN b ON a.k = b.k")
    assert len(cur.fetchall()) == 100


@pytest.mark.parametrize("setting", ["spark.sql.shuffle.partitions", "mapred.reduce.tasks"])
def test_reduce_partitions_setting(setting):
    physical, _ = explain(conn(**{setting: "7"}), "SELECT k, count(*) FROM a GROUP BY k")
    assert "exchange=hash(c1, 7)" in physical


def test_partial_aggregation_can_be_disabled():
    physical, _ = explain(conn(**{"hive.map.aggr": "false"}), "SELECT k, count(*) FROM a GROUP BY k")
    assert "complete" in physical and "partial" not in physical
    physical, _ = explain(conn(), "SELECT k, count(*) FROM a GROUP BY k")
    assert "partial+final" in physical


def test_global_sort_is_range_partitioned():
    c = conn(**{"spark.sql.shuffle.partitions": "4"})
    cur = c.cursor()
    cur.execute("SELECT k FROM a ORDER BY k DESC")
    got = [r[0] for r in cur.fetchall()]
    assert got == sorted(got, reverse=True) and len(got) == 1000


def test_scan_reads_only_needed_columns_and_pushes_filters():
    physical, _ = explain(conn(), "SELECT x FROM a WHERE k > 5")
    assert "ScanExec a [k, x] pushed=(k > 5)" in physical


def test_table_scanned_twice_is_read_once():
    """File-backed tables read by several scans of one query are decoded once (cached)."""
    from dataclasses import dataclass

    from planner.sources import ArrowTableSource

    @dataclass(frozen=True, eq=False)
    class FileLike(ArrowTableSource):
        in_memory = False

    reads = []

    class Counting(FileLike):
        def splits(self, predicate=None):
            import dataclasses
            return [dataclasses.replace(sp, format="file") for sp in super().splits(predicate)]

        def read_split(self, split, columns=None, predicate=None):
            reads.append(tuple(columns or ()))
            return super().read_split(split, columns, predicate)

    s = Session(settings={})
    s.register_source("a", Counting(TABLES["a"], rows_per_split=250))
    c = Connection(s)
    q = "SELECT x, count(*) FROM a WHERE k IN (SELECT k FROM a WHERE x > 40) GROUP BY x"
    physical, _ = explain(c, q)
    assert physical.count("ScanExec a [k, x] shared") == 2
    reads.clear()
    cur = c.cursor()
    cur.execute(q)
    got = sorted(cur.fetchall())
    assert got == [(x, 20) for x in range(41, 50)]
    assert len(reads) == 4  # 4 splits, each read once for both scans
