"""Where a query's tasks run (``lamna.executor``) on a Context with worker processes
beside its threads (``lamna.workers``): queries reading files go to the workers, queries
over data the driver holds (cached tables, registered Arrow tables, VALUES) stay on its
threads; answers are the same either way, checked against DuckDB."""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa
import pytest
from tpch_util import load_tables, query_text

import sql
from rdd import EXECUTOR_PROPERTY


def _pid(values: pa.Array) -> pa.Array:
    return pa.array([os.getpid()] * len(values), pa.int64())


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("placement") / "warehouse"
    conn = sql.connect(warehouse=str(warehouse), master="local[2]", **{"lamna.workers": "2"})
    conn.session.register_udf("pid", _pid, "bigint")
    cur = conn.cursor()
    for name, table in load_tables(0.01).items():
        if name in ("nation", "region", "customer", "orders"):
            conn.session.register_arrow(f"arrow_{name}", table)
            cur.execute(f"CREATE TABLE {name} STORED AS PARQUET AS SELECT * FROM arrow_{name}")
    yield conn
    conn.close()


def _pids(conn, query: str) -> set[int]:
    cur = conn.cursor()
    cur.execute(query)
    return {row[0] for row in cur.fetchall()}


def test_the_session_has_its_own_context_with_workers(conn) -> None:
    ctx = conn.session.rdd_context
    assert ctx.settings.workers == 2 and ctx.getConf().get("lamna.workers") == "2"


def test_file_queries_run_on_the_workers_and_in_memory_ones_on_the_driver(conn) -> None:
    assert os.getpid() not in _pids(conn, "SELECT DISTINCT pid(n_nationkey) FROM nation")
    assert _pids(conn, "SELECT DISTINCT pid(n_nationkey) FROM arrow_nation") == {os.getpid()}
    assert _pids(conn, "SELECT pid(1)") == {os.getpid()}
    cur = conn.cursor()
    cur.execute("CACHE TABLE region")
    try:
        assert _pids(conn, "SELECT DISTINCT pid(r_regionkey) FROM region") == {os.getpid()}
        # a query joining a cached table with a file table reads files: the workers
        assert os.getpid() not in _pids(
            conn, "SELECT DISTINCT pid(n_nationkey) FROM nation JOIN region ON n_regionkey = r_regionkey")
    finally:
        cur.execute("UNCACHE TABLE region")


def test_the_setting_forces_either_side(conn) -> None:
    cur = conn.cursor()
    try:
        cur.execute("SET lamna.executor=threads")
        assert _pids(conn, "SELECT DISTINCT pid(n_nationkey) FROM nation") == {os.getpid()}
        cur.execute("SET lamna.executor=workers")
        assert os.getpid() not in _pids(conn, "SELECT DISTINCT pid(n_nationkey) FROM arrow_nation")
        cur.execute("SET lamna.executor=sometimes")
        with pytest.raises(sql.ProgrammingError, match="lamna.executor"):
            cur.execute("SELECT 1")
    finally:
        cur.execute("SET lamna.executor=auto")


def test_the_threads_choice_is_restored_after_each_statement(conn) -> None:
    ctx = conn.session.rdd_context
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM nation; SELECT count(*) FROM arrow_nation")
    assert cur.fetchall() == [(25,)]
    assert ctx.getLocalProperty(EXECUTOR_PROPERTY) is None


def test_plan_cache_hits_keep_their_placement(conn) -> None:
    query = "SELECT DISTINCT pid(c_custkey) FROM customer WHERE c_custkey = {}"
    hits = conn.session.plans.hits
    for key in (1, 2, 3):
        assert os.getpid() not in _pids(conn, query.format(key))
    assert conn.session.plans.hits > hits


def test_insert_reading_files_runs_on_the_workers_and_commits(conn) -> None:
    cur = conn.cursor()
    cur.execute("CREATE TABLE rich STORED AS PARQUET AS "
                "SELECT c_custkey, c_acctbal, pid(c_custkey) AS wrote_in FROM customer WHERE c_acctbal > 5000")
    cur.execute("INSERT INTO rich SELECT c_custkey, c_acctbal, pid(c_custkey) FROM customer WHERE c_acctbal < -900")
    cur.execute("SELECT count(*), count(DISTINCT c_custkey), max(wrote_in) FROM rich")
    [(rows, keys, _)] = cur.fetchall()
    cur.execute("SELECT count(*) FROM arrow_customer WHERE c_acctbal > 5000 OR c_acctbal < -900")
    assert rows == keys == cur.fetchall()[0][0] > 0
    assert os.getpid() not in _pids(conn, "SELECT DISTINCT wrote_in FROM rich")


@pytest.mark.parametrize("executor", ["auto", "threads"])
@pytest.mark.parametrize("q", [3, 5, 10, 13, 18, 22])
def test_tpch_answers_match_duckdb_on_either_side(conn, q: int, executor: str) -> None:
    """TPC-H over Parquet tables and registered Arrow tables (shipped to the workers in
    their tasks) agrees with DuckDB on the workers and on the threads."""
    tables = load_tables(0.01)
    dd = duckdb.connect()
    for name, table in tables.items():
        dd.register(name, table)
    cur = conn.cursor()
    for name in ("lineitem", "supplier", "part", "partsupp"):
        conn.session.register_arrow(name, tables[name])
    text = query_text(q, 0.01)
    try:
        cur.execute(f"SET lamna.executor={executor}")
        cur.execute(text)
        got = _rounded(cur.fetchall())
    finally:
        cur.execute("SET lamna.executor=auto")
    assert got == _rounded(dd.execute(text).fetchall())


def _rounded(rows: list[tuple]) -> list[tuple]:
    def value(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        try:
            return round(float(v), 2)
        except (TypeError, ValueError):
            return v
    return sorted((tuple(value(v) for v in r) for r in rows), key=repr)
