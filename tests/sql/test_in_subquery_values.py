"""``x IN (subquery)`` used as a value (SELECT list, CASE, OR), not as a filter: SQL's
three-valued answer (NULL when nothing matched but the subquery had a NULL, or x was
NULL and the subquery had rows), correlated and not, checked against DuckDB."""

from __future__ import annotations

import duckdb
import pytest

import sql

A = "a as (select * from (values (1, 1), (2, 1), (null, 2), (3, 3), (4, null)) t(k, g))"
B_WITH_NULL = "b as (select * from (values (1, 1), (null, 2), (5, 1), (3, 4)) t(k, g))"
B_NO_NULL = "b as (select * from (values (1, 1), (5, 1), (2, 2)) t(k, g))"

QUERIES = [
    "select k, k in (select k from b) from a",
    "select k, k not in (select k from b) from a",
    "select k, k in (select k from b where k > 100) from a",
    "select k, g, k in (select b.k from b where b.g = a.g) from a",
    "select k, g, k not in (select b.k from b where b.g = a.g) or g = 3 from a",
    "select k, case when k in (select k from b) then 'y' when k is null then 'null' else 'n' end from a",
    "select count(*) from a where k in (select k from b) or k is null",
    "select k from a where not (k in (select k from b)) or k = 1",
    "select k, (k + 1) in (select k from b) and g is not null from a",
]


@pytest.fixture(scope="module")
def conn():
    c = sql.connect()
    yield c
    c.close()


@pytest.mark.parametrize("b", [B_WITH_NULL, B_NO_NULL], ids=["b-has-null", "b-no-null"])
@pytest.mark.parametrize("query", QUERIES)
def test_in_subquery_as_a_value_matches_duckdb(conn, b: str, query: str) -> None:
    text = f"with {A}, {b} {query}"
    cur = conn.cursor()
    cur.execute(text)
    got = sorted(cur.fetchall(), key=repr)
    expected = sorted(duckdb.sql(text).fetchall(), key=repr)
    assert got == expected


@pytest.mark.parametrize("b", [B_WITH_NULL, B_NO_NULL], ids=["b-has-null", "b-no-null"])
def test_correlated_not_in_keeps_nulls_per_group(conn, b: str) -> None:
    """A NULL in one correlation group's values decides only that group's rows, and a
    NULL x survives where its group is empty (it used to empty the whole result)."""
    text = (f"with {A}, {b} select k, g from a "
            f"where k not in (select b.k from b where b.g = a.g)")
    cur = conn.cursor()
    cur.execute(text)
    assert sorted(cur.fetchall(), key=repr) == sorted(duckdb.sql(text).fetchall(), key=repr)
