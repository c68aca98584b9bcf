"""Cached tables through the real engine (``sql.connect``): every cache statement, map
pruning counted by SHOW CACHE and EXPLAIN, no stale read after any write, eviction and
spill under a tiny budget, Shark's forms, restart recovery in a new process, one cached
copy shared by two connections, and per-session cancel on the shared Context.

Answers are checked against DuckDB over the same data (a mirror table that receives the
same writes, or the files themselves)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sql
from catalog.cache import REGISTRY
from rdd import TaskContext

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _rows(conn, text: str) -> list[tuple]:
    cur = conn.cursor()
    cur.execute(text)
    return cur.fetchall() if cur.description else []


def _show(conn) -> dict[tuple[str, str | None], dict]:
    cur = conn.cursor()
    cur.execute("SHOW CACHE")
    names = [d[0] for d in cur.description]
    return {(r[0], r[1]): dict(zip(names, r)) for r in cur.fetchall()}


def _data(lo: int, hi: int, tag: str = "") -> pa.Table:
    ks = list(range(lo, hi))
    return pa.table({"k": pa.array(ks, pa.int64()),
                     "s": [("red", "green", "blue")[k % 3] + tag for k in ks]})


@pytest.fixture
def wh(tmp_path):
    return str(tmp_path / "wh")


@pytest.fixture
def conn(wh):
    c = sql.connect(wh)
    yield c
    if not c._closed:  # the cache is the process's: leave it empty for the next test
        _rows(c, "CLEAR CACHE")
        c.close()


class Mirror:
    """DuckDB's copy of a Lamna table: receives the same writes, answers the same query."""

    def __init__(self) -> None:
        self.db = duckdb.connect()
        self.db.execute("CREATE TABLE t (k BIGINT, s VARCHAR, p INTEGER)")

    def insert(self, data: pa.Table, p: int, overwrite: bool = False) -> None:
        if overwrite:
            self.db.execute("DELETE FROM t WHERE p = ?", [p])
        self.db.register("incoming", data)
        self.db.execute("INSERT INTO t SELECT k, s, ? FROM incoming", [p])
        self.db.unregister("incoming")

    def rows(self, text: str = "SELECT k, s, p FROM t ORDER BY k, p") -> list[tuple]:
        return [tuple(r) for r in self.db.execute(text).fetchall()]


def _load(conn, mirror: Mirror, data: pa.Table, p: int, overwrite: bool = False) -> None:
    conn.register_arrow("incoming", data)
    verb = "OVERWRITE TABLE" if overwrite else "INTO"
    _rows(conn, f"INSERT {verb} t PARTITION (p={p}) SELECT k, s FROM incoming")
    mirror.insert(data, p, overwrite)


@pytest.fixture
def table(conn):
    """``t (k, s) PARTITIONED BY (p)``: partitions 1 and 2, cached and read once."""
    mirror = Mirror()
    _rows(conn, "CREATE TABLE t (k BIGINT, s STRING) PARTITIONED BY (p INT)")
    _load(conn, mirror, _data(0, 1000), 1)
    _load(conn, mirror, _data(1000, 2000), 2)
    _rows(conn, "CACHE TABLE t")
    assert _rows(conn, "SELECT k, s, p FROM t ORDER BY k, p") == mirror.rows()
    return mirror


# -- the statements -----------------------------------------------------------------------


def test_cache_lazy_options_uncache_clear(conn, table):
    report = _show(conn)
    assert report[("default.t", None)]["in_memory"] == 2 and report[("default.t", None)]["rows"] == 2000
    assert report[("default.t", "p=1")]["rows"] == 1000
    _rows(conn, "UNCACHE TABLE t")
    assert _show(conn) == {}
    _rows(conn, "UNCACHE TABLE IF EXISTS nope")
    with pytest.raises(sql.ProgrammingError, match="Table or view not found"):
        _rows(conn, "UNCACHE TABLE nope")
    _rows(conn, "CACHE LAZY TABLE t OPTIONS ('storageLevel' 'MEMORY_ONLY')")
    report = _show(conn)[("default.t", None)]
    assert report["storage_level"] == "MEMORY_ONLY" and report["in_memory"] == 0
    assert _rows(conn, "SELECT count(*) FROM t") == [(2000,)]
    assert _show(conn)[("default.t", None)]["in_memory"] == 2  # built by the query's scan tasks
    with pytest.raises(sql.ProgrammingError, match=r"Unknown storage level 'FAST'.*\(line 1:"):
        _rows(conn, "CACHE TABLE t OPTIONS ('storageLevel' 'FAST')")
    with pytest.raises(sql.ProgrammingError, match="Unknown CACHE TABLE option 'speed'"):
        _rows(conn, "CACHE TABLE t OPTIONS ('speed' 'fast')")
    _rows(conn, "CACHE TABLE v AS SELECT p, count(*) AS n FROM t GROUP BY p")
    assert set(_show(conn)) >= {("default.t", None), ("v", None)}
    _rows(conn, "CLEAR CACHE")
    assert _show(conn) == {}
    assert _rows(conn, "SELECT n FROM v ORDER BY p") == [(1000,), (1000,)]  # the view remains


def test_cache_table_as_select_is_invalidated_by_writes_to_its_inputs(conn, table):
    _rows(conn, "CACHE TABLE colors AS SELECT s, count(*) AS n, sum(k) AS total FROM t GROUP BY s")
    query = "SELECT s, n, total FROM colors ORDER BY s"
    expect = "SELECT s, count(*), sum(k) FROM t GROUP BY s ORDER BY s"
    assert _rows(conn, query) == table.rows(expect)
    assert _show(conn)[("colors", None)]["rows"] == 3
    _load(conn, table, _data(2000, 2010, "!"), 3)
    assert _rows(conn, query) == table.rows(expect)  # the query runs again: new colors
    assert ("colors", None) not in _show(conn)
    # a view over a view, cached; replacing the inner view invalidates it
    _rows(conn, "CREATE VIEW reds AS SELECT k FROM t WHERE s = 'red'")
    _rows(conn, "CREATE VIEW few_reds AS SELECT k FROM reds WHERE k < 30")
    _rows(conn, "CACHE TABLE few_reds")
    assert _rows(conn, "SELECT count(*) FROM few_reds") == [(10,)]
    assert ("default.few_reds", None) in _show(conn)
    _rows(conn, "CREATE OR REPLACE VIEW reds AS SELECT k FROM t WHERE s = 'blue'")
    assert _rows(conn, "SELECT min(k) FROM few_reds") == [(2,)]
    assert ("default.few_reds", None) not in _show(conn)


def test_refresh_table_rereads_files_changed_outside(conn, tmp_path):
    loc = tmp_path / "ext"
    loc.mkdir()
    pq.write_table(_data(0, 10), str(loc / "a.parquet"))
    _rows(conn, f"CREATE EXTERNAL TABLE e (k BIGINT, s STRING) STORED AS PARQUET LOCATION '{loc}'")
    _rows(conn, "CACHE TABLE e")
    assert _rows(conn, "SELECT count(*) FROM e") == [(10,)]
    pq.write_table(_data(10, 15), str(loc / "b.parquet"))  # behind the engine's back
    assert _rows(conn, "SELECT count(*) FROM e") == [(10,)]  # the cache still holds the old listing
    _rows(conn, "REFRESH TABLE e")
    got = _rows(conn, "SELECT k, s FROM e ORDER BY k")
    expect = duckdb.sql(f"SELECT k, s FROM read_parquet('{loc}/*.parquet') ORDER BY k").fetchall()
    assert got == [tuple(r) for r in expect] and len(got) == 15
    assert _show(conn)[("default.e", None)]["partitions"] == 2


# -- pruning --------------------------------------------------------------------------------


def test_pruning_skips_the_blocks_statistics_rule_out(conn):
    _rows(conn, "CREATE TABLE r (k BIGINT, s STRING)")
    for i in range(4):  # four files, four disjoint key ranges, one color each
        conn.register_arrow("incoming", pa.table({"k": pa.array(range(i * 100, i * 100 + 100), pa.int64()),
                                                  "s": [("red", "green", "blue", "gold")[i]] * 100}))
        _rows(conn, "INSERT INTO r SELECT k, s FROM incoming")
    _rows(conn, "CACHE TABLE r")
    assert _show(conn)[("default.r", None)]["partitions"] == 4
    plan = _rows(conn, "EXPLAIN SELECT count(*) FROM r WHERE k >= 250")[0][0]
    assert "cached MEMORY_AND_DISK: 2 of 4 partitions (2 skipped by statistics)" in plan
    before = _show(conn)[("default.r", None)]["skipped"]
    assert _rows(conn, "SELECT count(*) FROM r WHERE k >= 250") == [(150,)]
    assert _show(conn)[("default.r", None)]["skipped"] == before + 2
    # 'gold' is between 'blue' and 'red' in every block's range: only the sets rule it out
    assert _rows(conn, "SELECT count(*), min(k) FROM r WHERE s = 'gold'") == [(100, 300)]
    assert _show(conn)[("default.r", None)]["skipped"] == before + 5
    assert _rows(conn, "SELECT count(*) FROM r WHERE s = 'black'") == [(0,)]
    assert _show(conn)[("default.r", None)]["skipped"] == before + 9


_NARROW_FILTERS = (
    "k = 4242",
    "s = 'green' AND k < 100",
    "s IS NULL OR k > 5990",
    "n * 100000 > 3000000 AND s <> 'red'",  # overflows if computed in the block's int8
    "1 = 1 AND k BETWEEN 10 AND 20",
    "1 = 0",
    "d > 59.5",
    "s LIKE 'b%' AND n IN (3, 7)",
)


@pytest.mark.parametrize("where", _NARROW_FILTERS)
def test_filters_over_a_cached_tables_narrowed_columns_agree_with_duckdb(conn, where):
    """A cached block stores narrow integers and dictionaries; a scan's filters read
    engine types while the other columns are cast only for the rows left."""
    ks = list(range(6000))
    data = pa.table({"k": pa.array(ks, pa.int64()),
                     "s": [None if k % 11 == 0 else ("red", "green", "blue")[k % 3] for k in ks],
                     "n": pa.array([k % 50 for k in ks], pa.int32()),
                     "d": pa.array([k / 100 for k in ks], pa.float64()),
                     "t": [f"label-{k % 7}" for k in ks]})
    _rows(conn, "CREATE TABLE w (k BIGINT, s STRING, n INT, d DOUBLE, t STRING)")
    conn.register_arrow("incoming", data)
    _rows(conn, "INSERT INTO w SELECT * FROM incoming")
    query = f"SELECT k, s, n, d, t, upper(t) FROM w WHERE {where} ORDER BY k"
    uncached = _rows(conn, query)
    _rows(conn, "CACHE TABLE w")
    duck = duckdb.connect()
    duck.register("w", data)
    expect = [tuple(r) for r in duck.execute(query).fetchall()]
    assert _rows(conn, query) == uncached == expect


def test_a_cached_partitioned_table_keeps_partition_pruning(conn, table):
    plan = _rows(conn, "EXPLAIN SELECT count(*) FROM t WHERE p = 2")[0][0]
    assert "1 of 2 partitions (1 skipped" in plan
    assert _rows(conn, "SELECT count(*), min(k) FROM t WHERE p = 2") == [(1000, 1000)]
    report = _show(conn)
    assert report[("default.t", "p=1")]["skipped"] == 2 and report[("default.t", "p=2")]["skipped"] == 0


# -- no stale read after any write ----------------------------------------------------------


def _write_insert(conn, mirror, tmp_path):
    _load(conn, mirror, _data(5000, 5003, "+"), 1)


def _write_insert_overwrite(conn, mirror, tmp_path):
    _load(conn, mirror, _data(7000, 7002, "#"), 2, overwrite=True)


def _write_load_data(conn, mirror, tmp_path):
    path = tmp_path / "load.parquet"
    data = _data(8000, 8004, "*")
    pq.write_table(data, str(path))
    _rows(conn, f"LOAD DATA LOCAL INPATH '{path}' INTO TABLE t PARTITION (p=4)")
    mirror.insert(data, 4)


def _write_truncate(conn, mirror, tmp_path):
    _rows(conn, "TRUNCATE TABLE t")
    mirror.db.execute("DELETE FROM t")


def _write_add_partition(conn, mirror, tmp_path):
    loc = tmp_path / "p9"
    loc.mkdir()
    data = _data(9000, 9005, "~")
    pq.write_table(data, str(loc / "f.parquet"))
    _rows(conn, f"ALTER TABLE t ADD PARTITION (p=9) LOCATION '{loc}'")
    mirror.insert(data, 9)


def _write_drop_partition(conn, mirror, tmp_path):
    _rows(conn, "ALTER TABLE t DROP PARTITION (p=1)")
    mirror.db.execute("DELETE FROM t WHERE p = 1")


def _write_set_location(conn, mirror, tmp_path):
    loc = tmp_path / "moved"
    loc.mkdir()
    data = _data(6000, 6002, "@")
    pq.write_table(data, str(loc / "f.parquet"))
    _rows(conn, f"ALTER TABLE t PARTITION (p=2) SET LOCATION '{loc}'")
    mirror.db.execute("DELETE FROM t WHERE p = 2")
    mirror.insert(data, 2)


def _write_drop_and_ctas(conn, mirror, tmp_path):
    _rows(conn, "CREATE TABLE keep AS SELECT k, s, p FROM t WHERE p = 1")
    _rows(conn, "DROP TABLE t")
    _rows(conn, "CREATE TABLE t PARTITIONED BY (p) AS SELECT k + 1 AS k, s, p FROM keep")
    mirror.db.execute("DELETE FROM t WHERE p <> 1")
    mirror.db.execute("UPDATE t SET k = k + 1")
    _rows(conn, "CACHE TABLE t")


def _write_alter_columns(conn, mirror, tmp_path):
    _rows(conn, "ALTER TABLE t REPLACE COLUMNS (k BIGINT)")
    mirror.db.execute("UPDATE t SET s = NULL")


WRITES = [_write_insert, _write_insert_overwrite, _write_load_data, _write_truncate, _write_add_partition,
          _write_drop_partition, _write_set_location, _write_drop_and_ctas, _write_alter_columns]


@pytest.mark.parametrize("write", WRITES, ids=[w.__name__[7:] for w in WRITES])
def test_a_cached_table_read_right_after_a_write_returns_the_new_contents(conn, table, tmp_path, write):
    assert _show(conn)[("default.t", None)]["in_memory"] == 2
    write(conn, table, tmp_path)
    if write is _write_alter_columns:  # the column s is gone from the definition
        assert _rows(conn, "SELECT * FROM t ORDER BY k, p") == table.rows("SELECT k, p FROM t ORDER BY k, p")
        return
    assert _rows(conn, "SELECT k, s, p FROM t ORDER BY k, p") == table.rows()
    assert _rows(conn, "SELECT p, count(*), sum(k) FROM t GROUP BY p ORDER BY p") == table.rows(
        "SELECT p, count(*), sum(k) FROM t GROUP BY p ORDER BY p")
    assert _show(conn)[("default.t", None)]["rows"] == table.rows("SELECT count(*) FROM t")[0][0]


def test_a_write_by_another_connection_is_seen(wh, conn, table):
    other = sql.connect(wh)
    try:
        other.register_arrow("incoming", _data(3000, 3007))
        _rows(other, "INSERT INTO t PARTITION (p=1) SELECT k, s FROM incoming")
        table.insert(_data(3000, 3007), 1)
        assert _rows(conn, "SELECT k, s, p FROM t ORDER BY k, p") == table.rows()
    finally:
        other.close()


_REPLACE = """
import sys, sql
conn = sql.connect(sys.argv[1])
cur = conn.cursor()
cur.execute("DROP TABLE u")
cur.execute("CREATE TABLE u AS SELECT 7 AS k, 'seven' AS s")
"""


def test_a_table_dropped_and_recreated_by_another_process_is_not_read_from_the_cache(wh, conn):
    conn.register_arrow("incoming", pa.table({"k": pa.array([1], pa.int64()), "s": ["one"]}))
    _rows(conn, "CREATE TABLE u AS SELECT CAST(k AS INT) AS k, s FROM incoming")
    _rows(conn, "CACHE TABLE u")
    assert _rows(conn, "SELECT k, s FROM u") == [(1, "one")]
    # same data version (one commit each), new definition: only its identity tells them apart
    subprocess.run([sys.executable, "-c", textwrap.dedent(_REPLACE), wh], cwd=ROOT, check=True, timeout=120)
    assert _rows(conn, "SELECT k, s FROM u") == [(7, "seven")]


# -- memory budget ----------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["MEMORY_AND_DISK", "MEMORY_ONLY"])
def test_tiny_budget_evicts_spills_and_answers_correctly(conn, level):
    mirror = Mirror()
    _rows(conn, "CREATE TABLE t (k BIGINT, s STRING) PARTITIONED BY (p INT)")
    for p in range(4):
        _load(conn, mirror, _data(p * 2000, p * 2000 + 2000), p)
    budget = conn.session.rdd_context.env.block_manager.budget  # the shared Context's: put back after
    _rows(conn, "SET lamna.cache.memory=10k")
    try:
        _rows(conn, f"CACHE TABLE t OPTIONS ('storageLevel' '{level}')")
        for _ in range(2):
            q = "SELECT p, s, count(*), sum(k) FROM t GROUP BY p, s ORDER BY p, s"
            assert _rows(conn, q) == mirror.rows(q)
            q = "SELECT a.k, b.p FROM t a JOIN t b ON a.k = b.k + 1 WHERE a.k % 997 = 0 ORDER BY a.k"
            assert _rows(conn, q) == mirror.rows(q.replace("t a", "t AS a").replace("t b", "t AS b"))
        report = _show(conn)[("default.t", None)]
        assert report["evictions"] > 0 and report["memory_bytes"] <= 10 * 1024
        if level == "MEMORY_AND_DISK":
            assert report["on_disk"] > 0 and report["disk_bytes"] > 0
        else:
            assert report["on_disk"] == 0 and report["in_memory"] < 4
        with pytest.raises(sql.ProgrammingError, match=r"lamna.cache.memory must be a size"):
            _rows(conn, "SET lamna.cache.memory=lots")
    finally:
        _rows(conn, f"SET lamna.cache.memory={budget}")


# -- Shark's forms ----------------------------------------------------------------------------


def test_cached_names_and_cache_properties(conn, table):
    _rows(conn, "CREATE TABLE big_cached AS SELECT k, s FROM t WHERE p = 2")
    report = _show(conn)[("default.big_cached", None)]
    assert report["in_memory"] == report["partitions"] > 0 and report["rows"] == 1000
    assert report["storage_level"] == "MEMORY_AND_DISK"
    assert _rows(conn, "SELECT count(*), sum(k) FROM big_cached") == table.rows(
        "SELECT count(*), sum(k) FROM t WHERE p = 2")
    _rows(conn, "CREATE TABLE m (k BIGINT) TBLPROPERTIES ('lamna.cache' = 'MEMORY_ONLY')")
    _rows(conn, "INSERT INTO m SELECT k FROM t WHERE k < 10")
    report = _show(conn)[("default.m", None)]
    assert (report["storage_level"], report["in_memory"], report["rows"]) == ("MEMORY_ONLY", 1, 10)
    _rows(conn, "ALTER TABLE m SET TBLPROPERTIES ('lamna.cache' = 'NONE')")
    assert ("default.m", None) not in _show(conn)
    _rows(conn, "ALTER TABLE m SET TBLPROPERTIES ('lamna.cache' = 'memory')")
    assert _show(conn)[("default.m", None)]["storage_level"] == "MEMORY_AND_DISK"
    with pytest.raises(sql.ProgrammingError, match="lamna.cache must be one of MEMORY, MEMORY_ONLY, NONE"):
        _rows(conn, "ALTER TABLE m SET TBLPROPERTIES ('lamna.cache' = 'RAM')")
    _rows(conn, "CREATE TABLE old (k BIGINT) TBLPROPERTIES ('lamna.cached' = 'true')")  # earlier versions
    assert ("default.old", None) in _show(conn)
    _rows(conn, "UNCACHE TABLE big_cached")  # a _cached name: now lamna.cache = NONE
    assert ("lamna.cache", "NONE") in _rows(conn, "SHOW TBLPROPERTIES big_cached")
    assert ("default.big_cached", None) not in _show(conn)


# -- restart recovery -------------------------------------------------------------------------

_PROCESS = """
import sys, json, sql
conn = sql.connect(sys.argv[1], **dict(a.split("=", 1) for a in sys.argv[2:]))
cur = conn.cursor()
cur.execute("SHOW CACHE")
names = [d[0] for d in cur.description]
at_start = {r[0]: dict(zip(names, r)) for r in cur.fetchall() if r[1] is None}
cur.execute("SELECT count(*), sum(k) FROM mem")
answer = cur.fetchall()
cur.execute("SHOW CACHE")
after = {r[0]: dict(zip(names, r)) for r in cur.fetchall() if r[1] is None}
print(json.dumps({"start": at_start, "answer": answer, "after": after}))
"""


def _new_process(wh: str, *settings: str) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_PROCESS), wh, *settings], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_memory_table_is_rebuilt_after_a_restart(wh, conn):
    conn.register_arrow("incoming", _data(0, 500))
    _rows(conn, "CREATE TABLE mem TBLPROPERTIES ('lamna.cache' = 'MEMORY') AS SELECT k, s FROM incoming")
    _rows(conn, "CREATE TABLE only_mem TBLPROPERTIES ('lamna.cache' = 'MEMORY_ONLY') AS SELECT k FROM incoming")
    conn.close()
    lazy = _new_process(wh)  # lazily: rebuilt by the first query
    assert lazy["start"]["default.mem"]["in_memory"] == 0
    assert lazy["answer"] == [[500, sum(range(500))]]
    assert lazy["after"]["default.mem"]["in_memory"] == 1 and lazy["after"]["default.mem"]["rows"] == 500
    warm = _new_process(wh, "lamna.cache.warm=true")  # eagerly, when the catalog opens
    assert warm["start"]["default.mem"]["in_memory"] == 1 and warm["start"]["default.mem"]["rows"] == 500
    assert warm["start"]["default.only_mem"]["in_memory"] == 0  # MEMORY_ONLY: never rebuilt at start
    assert warm["answer"] == [[500, sum(range(500))]]


# -- one cache, one Context, per-session cancel ---------------------------------------------


def test_two_connections_share_one_cached_copy(wh, conn, table):
    other = sql.connect(wh)
    try:
        assert other.session.rdd_context is conn.session.rdd_context
        before = _show(conn)[("default.t", None)]
        assert _rows(other, "SELECT count(*), sum(k) FROM t") == table.rows("SELECT count(*), sum(k) FROM t")
        mine, theirs = _show(conn)[("default.t", None)], _show(other)[("default.t", None)]
        assert mine["memory_bytes"] == theirs["memory_bytes"] == before["memory_bytes"] > 0
        assert theirs["hits"] >= before["hits"] + 2  # the other connection read the same blocks
        manager = conn.session.rdd_context.env.block_manager
        cache_ids = [b for b in manager.block_ids() if b.startswith("cache_")]
        entry = next(e for e in REGISTRY.entries() if e.label == "default.t" and e.key[1] == os.path.abspath(wh))
        ours = [b.block_id for b in entry.blocks]
        assert set(ours) <= set(cache_ids) and len(ours) == 2
        assert sum(manager.block_sizes(b)[0] for b in ours) == mine["memory_bytes"]
    finally:
        other.close()
    assert not conn.session.rdd_context._stopped  # closing one connection keeps the shared Context
    assert _show(conn)[("default.t", None)]["in_memory"] == 2  # and the shared cache


def test_cancel_stops_only_the_sessions_own_query(wh):
    started = threading.Event()

    def slow(x: pa.Array) -> pa.Array:
        started.set()
        task = TaskContext.get()
        for _ in range(100):  # at most 5 s, checking for a cancel
            if task is not None:
                task.check_interrupted()
            time.sleep(0.05)
        return x

    def quick(x: pa.Array) -> pa.Array:
        time.sleep(0.02)
        return x

    a, b = sql.connect(wh), sql.connect(wh)
    assert a.session.rdd_context is b.session.rdd_context
    data = pa.table({"x": pa.array(range(40), pa.int64())})
    outcome: dict[str, object] = {}
    try:
        for c in (a, b):
            c.session.register_arrow("nums", data, rows_per_split=5)
        a.register_udf("slow", slow, "bigint")
        b.register_udf("quick", quick, "bigint")

        def run(name, c, text):
            try:
                outcome[name] = _rows(c, text)
            except Exception as e:  # noqa: BLE001 - the outcome is what the test checks
                outcome[name] = e

        ta = threading.Thread(target=run, args=("a", a, "SELECT sum(slow(x)) FROM nums"))
        ta.start()
        assert started.wait(30)
        tb = threading.Thread(target=run, args=("b", b, "SELECT sum(quick(x)) FROM nums"))
        tb.start()
        tracker = b.session.rdd_context.statusTracker()
        deadline = time.monotonic() + 30
        while not tracker.getJobIdsForGroup(b.session._group) and time.monotonic() < deadline:
            time.sleep(0.01)  # b's job is submitted (its tasks wait behind a's)
        assert tracker.getJobIdsForGroup(b.session._group)
        a.session.cancel()
        ta.join(60)
        tb.join(60)
        assert isinstance(outcome["a"], Exception) and "cancel" in str(outcome["a"]).lower()
        assert outcome["b"] == [(sum(range(40)),)]
    finally:
        a.close()
        b.close()
