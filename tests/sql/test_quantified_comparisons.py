"""``x op ALL | ANY | SOME (subquery)``: every operator, with and without NULLs, empty
subqueries, correlation and a grouped subquery, against DuckDB."""

from __future__ import annotations

import duckdb
import pytest

import sql

A = "a as (select * from (values (1, 1), (2, 1), (null, 2), (5, 2), (3, 3)) t(x, g))"
B = {
    "with-null": "b as (select * from (values (2, 1), (null, 1), (4, 2)) t(y, g))",
    "no-null": "b as (select * from (values (2, 1), (3, 1), (2, 2)) t(y, g))",
    "duplicates": "b as (select * from (values (2, 1), (2, 1), (2, 2)) t(y, g))",
}
OPERATORS = ["=", "<>", "<", "<=", ">", ">="]


@pytest.fixture(scope="module")
def cur():
    conn = sql.connect()
    yield conn.cursor()
    conn.close()


def _same(cur, text: str) -> None:
    cur.execute(text)
    got = sorted(cur.fetchall(), key=repr)
    assert got == sorted(duckdb.sql(text).fetchall(), key=repr), text


@pytest.mark.parametrize("b", B.values(), ids=B.keys())
@pytest.mark.parametrize("quantifier", ["all", "any", "some"])
def test_every_operator_as_a_value(cur, b: str, quantifier: str) -> None:
    items = ", ".join(f"x {op} {quantifier} (select y from b)" for op in OPERATORS)
    _same(cur, f"with {A}, {b} select x, {items} from a")


@pytest.mark.parametrize("quantifier", ["all", "any"])
def test_empty_subquery(cur, quantifier: str) -> None:
    items = ", ".join(f"x {op} {quantifier} (select y from b where y > 100)" for op in OPERATORS)
    _same(cur, f"with {A}, {B['with-null']} select x, {items} from a")


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("quantifier", ["all", "any"])
def test_correlated_in_where(cur, op: str, quantifier: str) -> None:
    _same(cur, f"with {A}, {B['with-null']} select x, g from a "
               f"where x {op} {quantifier} (select y from b where b.g = a.g)")


def test_grouped_subquery_is_wrapped(cur) -> None:
    _same(cur, f"with {A}, {B['no-null']} select x, x > all (select max(y) from b group by g), "
               f"x < any (select count(*) from b group by g) from a")
