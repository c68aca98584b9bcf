"""PEP 249 surface: module attributes, parameters, description, fetching, errors, UDFs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import sql


@pytest.fixture()
def conn():
    c = sql.connect()
    c.register_arrow("t", pa.table({
        "id": pa.array(range(10), pa.int64()),
        "name": pa.array([f"n{i}" for i in range(10)]),
        "price": pa.array([Decimal(i) / 4 for i in range(10)], pa.decimal128(10, 2)),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(10)]),
    }))
    yield c
    c.close()


def test_module_attributes():
    assert sql.apilevel == "2.0"
    assert sql.paramstyle == "pyformat"
    assert sql.threadsafety in (0, 1, 2, 3)
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
                 "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError"):
        assert issubclass(getattr(sql, name), Exception)
    assert issubclass(sql.ProgrammingError, sql.DatabaseError)
    assert issubclass(sql.DatabaseError, sql.Error)


def test_description_and_python_values(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, name, price, day, array(id, 1) AS a, map('k', id) AS m, "
                "named_struct('x', id) AS s FROM t WHERE id = 5")
    names = [d[0] for d in cur.description]
    assert names == ["id", "name", "price", "day", "a", "m", "s"]
    assert cur.description[0][1] == sql.NUMBER
    assert cur.description[1][1] == sql.STRING
    assert cur.description[3][1] == sql.DATETIME
    assert cur.description[2][4:6] == (10, 2)
    row = cur.fetchone()
    assert row == (5, "n5", Decimal("1.25"), dt.date(2024, 1, 6), [5, 1], {"k": 5}, {"x": 5})
    assert cur.fetchone() is None


def test_parameters(conn):
    cur = conn.cursor()
    cur.execute("SELECT id FROM t WHERE id > %s AND name <> %s ORDER BY id", (6, "n8"))
    assert cur.fetchall() == [(7,), (9,)]
    cur.execute("SELECT id FROM t WHERE name = %(n)s OR day = %(d)s ORDER BY id",
                {"n": "n1", "d": dt.date(2024, 1, 3)})
    assert cur.fetchall() == [(1,), (2,)]
    cur.execute("SELECT %s, %s, %s", ("it's", None, Decimal("1.50")))
    assert cur.fetchone() == ("it's", None, Decimal("1.50"))
    cur.execute("SELECT '100%%' AS p, %s", (1,))
    assert cur.fetchone() == ("100%", 1)
    with pytest.raises(sql.ProgrammingError):
        cur.execute("SELECT %s, %s", (1,))


def test_fetchmany_and_iteration(conn):
    cur = conn.cursor()
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchmany(3) == [(0,), (1,), (2,)]
    cur.arraysize = 2
    assert cur.fetchmany() == [(3,), (4,)]
    assert [r[0] for r in cur] == [5, 6, 7, 8, 9]
    assert cur.fetchall() == []


def test_fetch_arrow(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, price FROM t WHERE id < 3 ORDER BY id")
    assert cur.fetchone() == (0, Decimal("0.00"))
    table = cur.fetch_arrow()
    assert isinstance(table, pa.Table)
    assert table.column("id").to_pylist() == [1, 2]
    assert table.schema.field("price").type == pa.decimal128(10, 2)


def test_errors_are_pep249(conn):
    cur = conn.cursor()
    with pytest.raises(sql.ProgrammingError):
        cur.execute("SELECT nope FROM t")
    with pytest.raises(sql.ProgrammingError):
        cur.execute("SELEC 1")
    with pytest.raises(sql.ProgrammingError):
        cur.execute("SELECT * FROM missing_table")
    cur.execute("SET x.y = 1")
    with pytest.raises(sql.ProgrammingError):
        cur.fetchall()


def test_context_managers_and_close():
    with sql.connect() as c:
        with c.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchall() == [(1,)]
        with pytest.raises(sql.InterfaceError):
            cur.execute("SELECT 1")
    with pytest.raises(sql.InterfaceError):
        c.cursor()


def test_udf_vectorized(conn):
    calls = []

    def add_tax(price: pa.Array, rate: pa.Array) -> pa.Array:
        calls.append(len(price))
        return pc.multiply(pc.cast(price, pa.float64()), pc.add(rate, 1.0))

    conn.register_udf("add_tax", add_tax, "double")
    cur = conn.cursor()
    cur.execute("SELECT id, add_tax(price, 0.5D) FROM t WHERE id IN (0, 4) ORDER BY id")
    assert cur.fetchall() == [(0, 0.0), (4, 1.5)]
    assert all(n >= 1 for n in calls)  # whole arrays, not rows
    cur.execute("SELECT sum(add_tax(price, 0.0D)) FROM t")
    assert cur.fetchone() == (11.25,)


def test_streaming_does_not_wait_for_everything():
    """The first rows arrive after the first partition, not the whole result."""
    c = sql.connect()
    n = 400_000
    c.session.register_arrow("big", pa.table({"x": pa.array(range(n), pa.int64())}), rows_per_split=50_000)
    seen = []

    def spy(x: pa.Array) -> pa.Array:
        seen.append(len(x))
        return x

    c.register_udf("spy", spy, "bigint")
    cur = c.cursor()
    cur.execute("SELECT spy(x) FROM big")
    first = cur.fetchmany(10)
    assert len(first) == 10
    assert sum(seen) < n  # not everything was computed to hand out ten rows
    rest = cur.fetchall()
    assert len(first) + len(rest) == n
    c.close()


def test_register_arrow_and_views(conn):
    cur = conn.cursor()
    cur.execute("CREATE TEMPORARY VIEW cheap AS SELECT * FROM t WHERE price < 1")
    cur.execute("SELECT count(*) FROM cheap")
    assert cur.fetchone() == (4,)
    cur.execute("DROP VIEW cheap")
    with pytest.raises(sql.ProgrammingError):
        cur.execute("SELECT * FROM cheap")


def test_explain(conn):
    cur = conn.cursor()
    cur.execute("EXPLAIN EXTENDED SELECT name, count(*) FROM t WHERE id > 2 GROUP BY name")
    text = cur.fetchone()[0]
    for part in ("== Parsed Logical Plan ==", "== Optimized Logical Plan ==", "== Physical Plan ==",
                 "== RDD Stages ==", "HashAggregateExec", "ScanExec t"):
        assert part in text


def test_udaf_once_per_group(conn):
    groups = []

    def spread(values: pa.Array) -> float:
        groups.append(len(values))
        return pc.max(values).as_py() - pc.min(values).as_py()

    conn.register_udaf("spread", spread, "bigint")
    cur = conn.cursor()
    cur.execute("SELECT id % 2, spread(id) FROM t GROUP BY id % 2 ORDER BY 1")
    assert cur.fetchall() == [(0, 8), (1, 8)]
    assert sorted(groups) == [5, 5]
    cur.execute("SELECT spread(id) FROM t")
    assert cur.fetchall() == [(9,)]
