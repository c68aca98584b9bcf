"""The agreed interface with the real session (``sql.connect``): statements go through
``execute_statement``, queries read the catalog's scan sources, errors keep positions."""

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
