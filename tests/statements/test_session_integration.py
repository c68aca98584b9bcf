"""The agreed interface with the real session (``sql.connect``): statements go through
``execute_statement``, queries read the catalog's scan sources, errors keep positions."""

import duckdb
import pytest

sql = pytest.importorskip("sql")
if not hasattr(sql, "connect"):
    pytest.skip("sql.connect not available", allow_module_level=True)


@pytest.fixture
def cur(tmp_path):
    conn = sql.connect(warehouse=str(tmp_path / "wh"))
    c = conn.cursor()
    yield c
    conn.close()


def test_statements_and_queries_through_dbapi(cur):
    cur.execute("CREATE TABLE t (a INT, s STRING, d DECIMAL(10,2)) PARTITIONED BY (p STRING)")
    cur.execute("INSERT INTO t PARTITION (p='x') VALUES (1, 'a', 1.50), (2, 'b', NULL)")
    assert cur.rowcount == 2
    cur.execute("INSERT INTO t PARTITION (p) SELECT a + 10, s, d, 'y' FROM t")
    cur.execute("SELECT p, count(*) FROM t GROUP BY p ORDER BY p")
    assert cur.fetchall() == [("x", 2), ("y", 2)]
    cur.execute("SHOW PARTITIONS t")
    assert cur.fetchall() == [("p=x",), ("p=y",)]
    cur.execute("CREATE TABLE c STORED AS ORC AS SELECT a, s FROM t WHERE p = 'y'")
    cur.execute("SELECT a FROM c ORDER BY a")
    assert cur.fetchall() == [(11,), (12,)]


def test_statement_errors_keep_their_position(cur):
    with pytest.raises(sql.errors.ProgrammingError) as e:
        cur.execute("DROP TABLE\n  nope")
    assert "default.nope" in str(e.value) and "line 2:3" in str(e.value)


@pytest.mark.parametrize("statement, query", [
    ("WITH w AS (SELECT a FROM src WHERE a > 1) INSERT INTO t SELECT a FROM w",
     "WITH w AS (SELECT a FROM src WHERE a > 1) SELECT a FROM w"),
    ("WITH w AS (SELECT a FROM src) INSERT OVERWRITE TABLE t WITH v AS (SELECT a * 10 AS a FROM w) SELECT a FROM v",
     "WITH w AS (SELECT a FROM src), v AS (SELECT a * 10 AS a FROM w) SELECT a FROM v"),
    ("WITH w AS (SELECT a FROM src) INSERT INTO t SELECT a FROM w UNION ALL SELECT a + 100 FROM w",
     "WITH w AS (SELECT a FROM src) SELECT a FROM w UNION ALL SELECT a + 100 FROM w"),
])
def test_with_before_insert_names_ctes_for_its_query(cur, statement, query):
    """Hive's ``WITH w AS (…) INSERT … SELECT … FROM w``: the CTEs go with the query
    (before any WITH of its own); the rows written are DuckDB's for the same query."""
    cur.execute("CREATE TABLE src (a INT)")
    cur.execute("INSERT INTO src VALUES (1), (2), (3)")
    cur.execute("CREATE TABLE t (a INT)")
    cur.execute(statement)
    cur.execute("SELECT a FROM t ORDER BY a")
    got = cur.fetchall()
    db = duckdb.connect()
    db.execute("CREATE TABLE src (a INT); INSERT INTO src VALUES (1), (2), (3)")
    assert got == sorted(db.execute(query).fetchall()) and got


def test_with_before_insert_directory_and_errors_keep_positions(cur, tmp_path):
    cur.execute("CREATE TABLE src (a INT)")
    cur.execute("INSERT INTO src VALUES (1), (2)")
    out = tmp_path / "out"
    cur.execute(f"WITH w AS (SELECT a FROM src WHERE a = 2) INSERT OVERWRITE LOCAL DIRECTORY '{out}' SELECT a FROM w")
    assert "".join(p.read_text() for p in out.iterdir() if not p.name.startswith(".")).split() == ["2"]
    cur.execute("CREATE TABLE t (a INT)")
    with pytest.raises(sql.errors.ProgrammingError) as e:
        cur.execute("WITH w AS (SELECT nosuch FROM src) INSERT INTO t SELECT a FROM w")
    assert "nosuch" in str(e.value) and "line 1:19" in str(e.value)
