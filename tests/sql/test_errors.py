"""Binder errors name the object and its line:column, with the closest candidates."""

from __future__ import annotations

import pyarrow as pa
import pytest

import sql


@pytest.fixture(scope="module")
def cur():
    c = sql.connect()
    c.register_arrow("orders", pa.table({"o_orderkey": [1], "o_custkey": [2], "o_total": [1.5]}))
    c.register_arrow("customer", pa.table({"c_custkey": [2], "c_name": ["x"], "o_custkey": [2]}))
    yield c.cursor()
    c.close()


def err(cur, q: str) -> str:
    with pytest.raises(sql.ProgrammingError) as ex:
        cur.execute(q)
    return str(ex.value)


def test_unknown_column_with_candidates_and_position(cur):
    m = err(cur, "SELECT o_orderky\nFROM orders")
    assert "o_orderky" in m and "o_orderkey" in m and "line 1:8" in m


def test_unknown_column_position_on_later_line(cur):
    m = err(cur, "SELECT o_orderkey,\n       o_totl\nFROM orders")
    assert "o_totl" in m and "o_total" in m and "line 2:8" in m


def test_unknown_qualified_column(cur):
    m = err(cur, "SELECT o.o_nope FROM orders o")
    assert "o.o_nope" in m


def test_ambiguous_column(cur):
    m = err(cur, "SELECT o_custkey FROM orders, customer")
    assert "ambiguous" in m.lower() and "o_custkey" in m


def test_unknown_table_with_candidates(cur):
    m = err(cur, "SELECT * FROM order")
    assert "order" in m and "orders" in m and "line 1:" in m


def test_unknown_function(cur):
    m = err(cur, "SELECT uppr(c_name) FROM customer")
    assert "uppr" in m and "upper" in m


def test_wrong_argument_types(cur):
    m = err(cur, "SELECT o_total + array(1) FROM orders")
    assert "add" in m or "+" in m


def test_aggregate_misuse(cur):
    m = err(cur, "SELECT o_custkey, sum(o_total) FROM orders")
    assert "o_custkey" in m and "GROUP BY" in m
    m = err(cur, "SELECT o_custkey FROM orders WHERE sum(o_total) > 1")
    assert "not allowed" in m
    m = err(cur, "SELECT sum(max(o_total)) FROM orders")
    assert "nested" in m


def test_group_by_position_out_of_range(cur):
    m = err(cur, "SELECT o_custkey FROM orders GROUP BY 3")
    assert "position 3" in m


def test_syntax_error_has_position(cur):
    m = err(cur, "SELECT FROM WHERE")
    assert "line" in m


def test_bind_error_carries_fields(cur):
    with pytest.raises(sql.BindError) as ex:
        cur.execute("SELECT\n  zzz FROM orders")
    assert ex.value.line == 2 and ex.value.column == 3
