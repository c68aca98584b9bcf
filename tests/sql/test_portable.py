"""sql.portable.detachable: which queries a query server may hand to a process of its
own (a "query process": another engine over the same warehouse).

Everything runs on a real warehouse in a temporary directory. Besides the answer
itself, every query said to be detachable is run twice and the rows compared: in this
session (temporary views, registered tables, UDFs, the cache) and in a fresh session of
the same warehouse with ``lamna.cache.enabled=false``, which is what a query process
is. A wrong True therefore shows up twice: as the wrong answer and as other rows (or an
error) on the other side."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import sql
from catalog import Catalog
from sql import portable
from sql.portable import detachable

# ---------------------------------------------------------------- data and helpers

T_ROWS = [(i, f"v{i % 3}") for i in range(1, 10)]
U_ROWS = [(i, f"w{i}") for i in range(0, 12, 2)]
M_ROWS = [(i, i * 10) for i in range(1, 7)]


def _values(rows: list[tuple[Any, ...]]) -> str:
    return ", ".join("(" + ", ".join(repr(v) for v in r) + ")" for r in rows)


def _run(conn: Any, q: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(q)
    return cur.fetchall() if cur.description else []


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)  # repr: rows may hold NULLs


def _rows(conn: Any, q: str) -> list[tuple[Any, ...]]:
    return _sorted(_run(conn, q))


def _det(conn: Any, q: str) -> bool:
    return detachable(conn.session, q)


def _connect(warehouse: Path, **settings: str) -> Any:
    return sql.connect(warehouse=str(warehouse), **{"spark.sql.shuffle.partitions": "2", **settings})


def _uncaching(warehouse: Path) -> Any:
    """A session like a query process's: same warehouse, nothing of this process's own."""
    return _connect(warehouse, **{"lamna.cache.enabled": "false"})


def _base_tables(conn: Any) -> None:
    """t, u: plain stored tables; m: cached by its definition (MEMORY policy)."""
    _run(conn, "CREATE TABLE t (k INT, v STRING)")
    _run(conn, f"INSERT INTO t VALUES {_values(T_ROWS)}")
    _run(conn, "CREATE TABLE u (k INT, w STRING)")
    _run(conn, f"INSERT INTO u VALUES {_values(U_ROWS)}")
    _run(conn, "CREATE TABLE m (k INT, x INT) TBLPROPERTIES ('lamna.cache'='MEMORY')")
    _run(conn, f"INSERT INTO m VALUES {_values(M_ROWS)}")


def _upper_udf(values: pa.Array) -> pa.Array:
    return pc.utf8_upper(values)


def _marker_udf(*arrays: pa.Array) -> pa.Array:
    """Distinguishable from any builtin: every row says it came from the UDF."""
    return pa.array(["UDF"] * len(arrays[0]), pa.string())


@dataclass(frozen=True)
class World:
    conn: Any    # the server's session: temp views, registered tables, UDFs, cache
    remote: Any  # a query process's session over the same warehouse


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    wh = tmp_path_factory.mktemp("portable-world")
    conn = _connect(wh)
    _base_tables(conn)
    _run(conn, "CREATE TABLE c (k INT, y STRING)")
    _run(conn, "INSERT INTO c VALUES (1, 'c1'), (4, 'c4'), (8, 'c8')")
    _run(conn, "CACHE TABLE c")
    _run(conn, "CREATE DATABASE db2")
    _run(conn, "CREATE TABLE db2.x (a INT)")
    _run(conn, "INSERT INTO db2.x VALUES (3), (5)")
    _run(conn, "CREATE VIEW sv AS SELECT k, v FROM t WHERE k > 2")        # over a stored table
    _run(conn, "CREATE VIEW svv AS SELECT k FROM sv")                       # over a stored view
    _run(conn, "CREATE VIEW mv AS SELECT k, x FROM m")                      # over a cached table
    _run(conn, "CREATE VIEW cv AS SELECT k, v FROM t WHERE k < 5")          # cached itself
    _run(conn, "CACHE TABLE cv")
    _run(conn, "CREATE TEMPORARY VIEW tv AS SELECT 100 AS k, 'temp' AS v")
    _run(conn, "CREATE VIEW tvv AS SELECT k FROM tv")                       # over a temporary view
    conn.register_arrow("ra", pa.table({"k": pa.array([1, 2], pa.int32())}))
    conn.register_udf("myf", _upper_udf, "string")
    conn.register_udaf("myagg", lambda values: 42, "int")
    _run(conn, "CREATE VIEW uv AS SELECT myf(v) AS s FROM t")              # calls a session UDF
    # UDFs named as builtins that sqlglot spells otherwise (SUBSTRING, POWER)
    conn.register_udf("substr", _marker_udf, "string")
    conn.register_udf("pow", _marker_udf, "string")
    remote = _uncaching(wh)
    yield World(conn, remote)
    remote.close()
    conn.close()


# ---------------------------------------------------------------- the answer, query by query

DETACHABLE = [
    "SELECT * FROM t",
    "SELECT k, v FROM T WHERE k > 1",
    "SELECT * FROM `t`",
    "SELECT * FROM default.t",
    "SELECT * FROM `default`.`t`",
    "/* leading comment */ SELECT * FROM t;",
    "(SELECT k FROM t)",
    "FROM t SELECT k",
    "SELECT k, v FROM t UNION ALL SELECT k, w FROM u",
    "SELECT k FROM t INTERSECT SELECT k FROM u",
    "SELECT k FROM t EXCEPT SELECT k FROM u",
    "SELECT upper(v), count(*), max(k) FROM t GROUP BY upper(v)",
    "SELECT a.k FROM t a JOIN t b ON a.k = b.k",
    "SELECT k FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k)",
    "SELECT k, y FROM t LATERAL VIEW explode(array(1, 2)) e AS y",
    "SELECT * FROM db2.x",
    # stored views, followed to their tables
    "SELECT * FROM sv",
    "SELECT * FROM svv",
    # mixed: at least one table not cached here
    "SELECT t.k, m.x FROM t JOIN m ON t.k = m.k",
    "SELECT k FROM t WHERE k IN (SELECT k FROM c)",
    "SELECT sv.k FROM sv JOIN mv ON sv.k = mv.k",
    "SELECT k FROM cv UNION ALL SELECT k FROM u",
    # CTEs: names of their own, even where a temporary view has the same name
    "WITH tv AS (SELECT * FROM t) SELECT * FROM tv",
    "WITH a AS (SELECT * FROM t), b AS (SELECT k FROM a) SELECT * FROM b",
]

NOT_DETACHABLE = [
    # only tables cached here: by policy, by CACHE TABLE, through views, cached views
    "SELECT * FROM m",
    "SELECT * FROM c",
    "SELECT * FROM mv",
    "SELECT * FROM cv",
    "SELECT m.k FROM m JOIN c ON m.k = c.k",
    # temporary views, directly, in any case, in subqueries, under stored views
    "SELECT * FROM tv",
    "SELECT * FROM TV",
    "SELECT t.k FROM t JOIN tv ON t.k = tv.k",
    "SELECT k FROM t WHERE k IN (SELECT k FROM tv)",
    "SELECT * FROM tvv",
    # registered Arrow tables
    "SELECT * FROM ra",
    "SELECT t.k FROM t JOIN ra ON t.k = ra.k",
    # the session's own functions, directly or in a stored view
    "SELECT myf(v) FROM t",
    "SELECT MYF(v) FROM t",
    "SELECT myagg(k) FROM t",
    "SELECT * FROM uv",
    # unknown names
    "SELECT * FROM nope",
    "SELECT * FROM nodb.t",
    "SELECT * FROM `default.t`",
    # no stored table at all
    "SELECT 1",
    "VALUES (1, 'a')",
    "SELECT * FROM (VALUES (1), (2)) AS x(a)",
    "WITH tv AS (SELECT 1 AS k) SELECT * FROM tv",
    # not one query
    "INSERT INTO u SELECT k, v FROM t",
    "CREATE TABLE z AS SELECT * FROM t",
    "CACHE TABLE t",
    "EXPLAIN SELECT * FROM t",
    "SHOW TABLES",
    "DESCRIBE t",
    "SELECT * FROM t; SELECT * FROM u",
    # does not parse
    "",
    "SELEC * FROM t",
    "SELECT * FROM (",
    # table functions, three-part names
    "SELECT * FROM range(3)",
    "SELECT * FROM inline(array(struct(1)))",
    "SELECT * FROM spark_catalog.default.t",
]

#: wrong answers found here once: CTE names are scoped (a WITH's names are visible to its
#: query and to the expressions after each one), and a UDF shadowing a builtin that
#: sqlglot spells otherwise (SUBSTRING for substr, POWER for pow) is still the UDF
SCOPING_AND_SPELLING = [
    "SELECT * FROM (WITH tv AS (SELECT * FROM t) SELECT * FROM tv) a UNION ALL SELECT * FROM tv",
    "WITH tv AS (SELECT * FROM tv UNION ALL SELECT * FROM t) SELECT * FROM tv",
    "SELECT substr(v, 1) FROM t",
    "SELECT pow(k, 2) FROM t",
]


@pytest.mark.parametrize("q", DETACHABLE)
def test_detachable_queries_give_the_same_rows_elsewhere(world: World, q: str) -> None:
    assert _det(world.conn, q) is True
    assert _rows(world.conn, q) == _rows(world.remote, q)


@pytest.mark.parametrize("q", NOT_DETACHABLE + SCOPING_AND_SPELLING)
def test_not_detachable(world: World, q: str) -> None:
    assert _det(world.conn, q) is False


@pytest.mark.parametrize("q", [
    "SELECT * FROM tv", "SELECT * FROM ra", "SELECT myf(v) FROM t", "SELECT * FROM uv", "SELECT * FROM tvv",
    "SELECT * FROM (WITH tv AS (SELECT * FROM t) SELECT * FROM tv) a UNION ALL SELECT * FROM tv",
    "WITH tv AS (SELECT * FROM tv UNION ALL SELECT * FROM t) SELECT * FROM tv",
    "SELECT substr(v, 1) FROM t", "SELECT pow(k, 2) FROM t",
])
def test_session_only_names_really_differ_elsewhere(world: World, q: str) -> None:
    """The False answers above matter: here the query runs, elsewhere it fails or differs."""
    here = _rows(world.conn, q)
    try:
        there = _rows(world.remote, q)
    except sql.Error:
        return
    assert here != there


def test_no_warehouse_means_nothing_leaves() -> None:
    conn = sql.connect()
    try:
        conn.register_arrow("t", pa.table({"k": [1, 2]}))
        assert _rows(conn, "SELECT * FROM t") == [(1,), (2,)]
        assert _det(conn, "SELECT * FROM t") is False
        assert conn.session.catalog_if_open() is None  # and the check opened no catalog
    finally:
        conn.close()


# ---------------------------------------------------------------- names resolved at each call

@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Any]:
    c = _connect(tmp_path)
    _base_tables(c)
    yield c
    c.close()


def test_cache_and_uncache_change_the_answer(conn: Any) -> None:
    q = "SELECT k, v FROM t WHERE k > 3"
    assert _det(conn, q) is True
    hits = portable._names.cache_info().hits
    _run(conn, "CACHE TABLE t")
    assert _det(conn, q) is False  # same text, parse kept, names resolved again
    assert portable._names.cache_info().hits > hits
    assert _det(conn, "SELECT t.k FROM t JOIN u ON t.k = u.k") is True
    _run(conn, "UNCACHE TABLE t")
    assert _det(conn, q) is True


def test_cached_view_and_uncache(conn: Any) -> None:
    _run(conn, "CREATE VIEW sv AS SELECT k FROM t")
    assert _det(conn, "SELECT * FROM sv") is True
    _run(conn, "CACHE TABLE sv")
    assert _det(conn, "SELECT * FROM sv") is False
    assert _det(conn, "SELECT * FROM t") is True  # the view's table itself is not cached
    _run(conn, "UNCACHE TABLE sv")
    assert _det(conn, "SELECT * FROM sv") is True


def test_temporary_view_made_and_dropped_after_a_check(conn: Any) -> None:
    q = "SELECT * FROM t"
    assert _det(conn, q) is True
    _run(conn, "CREATE TEMPORARY VIEW t AS SELECT 7 AS k, 'tmp' AS v")
    assert _rows(conn, q) == [(7, "tmp")]
    assert _det(conn, q) is False
    assert _det(conn, "SELECT * FROM default.t") is True  # qualified: the stored table
    _run(conn, "DROP VIEW t")
    assert _det(conn, q) is True


def test_stored_view_over_a_table_later_shadowed_by_a_temporary_view(conn: Any) -> None:
    _run(conn, "CREATE VIEW sv AS SELECT k FROM u")
    assert _det(conn, "SELECT * FROM sv") is True
    _run(conn, "CREATE TEMPORARY VIEW u AS SELECT 7 AS k")
    assert _rows(conn, "SELECT * FROM sv") == [(7,)]  # the engine reads the temporary view
    assert _det(conn, "SELECT * FROM sv") is False


def test_registered_table_and_udf_after_a_check(conn: Any) -> None:
    assert _det(conn, "SELECT * FROM u") is True
    conn.register_arrow("u", pa.table({"k": [1]}))
    assert _det(conn, "SELECT * FROM u") is False
    assert _det(conn, "SELECT * FROM default.u") is True
    q = "SELECT shout(v) FROM t"
    assert _det(conn, q) is True  # not a session function yet (the query fails anywhere)
    conn.register_udf("shout", _upper_udf, "string")
    assert _det(conn, q) is False


def test_use_database_changes_what_a_name_means(conn: Any) -> None:
    _run(conn, "CREATE DATABASE db2")
    _run(conn, "CREATE TABLE db2.t (k INT, v STRING) TBLPROPERTIES ('lamna.cache'='MEMORY')")
    _run(conn, "CREATE TABLE db2.only2 (k INT)")
    assert _det(conn, "SELECT * FROM t") is True         # default.t
    assert _det(conn, "SELECT * FROM db2.t") is False    # cached
    assert _det(conn, "SELECT * FROM only2") is False    # not in default
    assert _det(conn, "SELECT * FROM db2.only2") is True
    _run(conn, "USE db2")
    assert _det(conn, "SELECT * FROM t") is False        # now db2.t
    assert _det(conn, "SELECT * FROM only2") is True
    assert _det(conn, "SELECT * FROM default.t") is True
    _run(conn, "USE default")
    assert _det(conn, "SELECT * FROM t") is True


@pytest.mark.parametrize("name, props, expected", [
    ("p", "'lamna.cache'='MEMORY'", False),
    ("p", "'lamna.cache'='MEMORY_ONLY'", False),
    ("p", "'lamna.cache'='NONE'", True),
    ("p", "'lamna.cached'='true'", False),
    ("p_cached", None, False),
    ("p_cached", "'lamna.cache'='NONE'", True),
])
def test_cache_policies(tmp_path: Path, name: str, props: str | None, expected: bool) -> None:
    c = _connect(tmp_path)
    try:
        _run(c, f"CREATE TABLE {name} (k INT)" + (f" TBLPROPERTIES ({props})" if props else ""))
        _run(c, f"INSERT INTO {name} VALUES (1), (2)")
        assert _det(c, f"SELECT * FROM {name}") is expected
    finally:
        c.close()


def test_views_are_followed_only_so_deep(conn: Any) -> None:
    prev = "u"
    answers = []
    for i in range(portable._MAX_VIEW_DEPTH + 2):
        _run(conn, f"CREATE VIEW v{i} AS SELECT k FROM {prev}")
        prev = f"v{i}"
        answers.append(_det(conn, f"SELECT * FROM {prev}"))
    assert answers[0] is True and answers[2] is True
    assert answers[-1] is False  # gives up, and says no
    assert _rows(conn, f"SELECT * FROM {prev}") == _sorted([(k,) for k, _ in U_ROWS])


def test_session_temporary_views_without_a_warehouse_argument(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A session without ``warehouse=`` keeps its temporary views itself, then opens the
    catalog ($LAMNA_WAREHOUSE) on the first statement that needs it."""
    monkeypatch.setenv("LAMNA_WAREHOUSE", str(tmp_path))
    c = sql.connect()
    try:
        _run(c, "CREATE TEMPORARY VIEW t AS SELECT 7 AS k")
        assert "t" in c.session.temp_views
        _run(c, "CREATE TABLE t (k INT)")
        _run(c, "INSERT INTO t VALUES (1)")
        assert _rows(c, "SELECT * FROM t") == [(7,)]
        assert _det(c, "SELECT * FROM t") is False
        assert _det(c, "SELECT * FROM default.t") is True
    finally:
        c.close()


# ---------------------------------------------------------------- catalogs without the cache

def test_catalog_open_without_caching(conn: Any, tmp_path: Path) -> None:
    plain, uncached = Catalog.open(str(tmp_path)), Catalog.open(str(tmp_path), caching=False)
    try:
        assert plain.caching is True and uncached.caching is False
        assert plain.cache_level(plain.get_table("default", "m")) is not None
        assert uncached.cache_level(uncached.get_table("default", "m")) is None
        assert plain.cache_level(plain.get_table("default", "t")) is None
    finally:
        plain.close()
        uncached.close()


def test_session_with_cache_disabled_reads_storage(conn: Any, tmp_path: Path) -> None:
    q = "SELECT k, x FROM m"
    assert _rows(conn, q) == _sorted(M_ROWS)  # builds this process's cache of m
    off = _uncaching(tmp_path)
    try:
        cat = off.session.catalog
        assert cat.caching is False
        assert cat.cache_level(cat.get_table("default", "m")) is None
        assert conn.session.catalog.cache_level(conn.session.catalog.get_table("default", "m")) is not None
        assert _det(off, q) is True and _det(conn, q) is False
        assert _rows(off, q) == _rows(conn, q) == _sorted(M_ROWS)
        # a write through the uncaching session is seen by both
        _run(off, "INSERT INTO m VALUES (7, 70), (8, NULL)")
        rows = M_ROWS + [(7, 70), (8, None)]
        agg = "SELECT k % 2 AS g, count(*) AS n, sum(x) AS s FROM m GROUP BY k % 2"
        duck = duckdb.connect()
        try:
            duck.execute("CREATE TABLE m (k INT, x INT)")
            duck.executemany("INSERT INTO m VALUES (?, ?)", rows)
            expected = _sorted(duck.execute(agg).fetchall())
        finally:
            duck.close()
        assert _rows(off, agg) == _rows(conn, agg) == expected
    finally:
        off.close()
