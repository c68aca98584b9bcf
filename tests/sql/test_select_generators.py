"""Generators in the SELECT list (Hive/Spark: ``SELECT explode(a) AS x FROM t``) give the
rows of the equivalent LATERAL VIEW; DuckDB's UNNEST is the reference."""

from __future__ import annotations

import duckdb
import pytest

import sql
from sql.errors import ProgrammingError

T = "t as (select 1 k, [1, 2] a, map(['a'], [10]) m union all select 2, [3], map(['b', 'c'], [20, 30]) union all select 3, [], map([], []))"
LAMNA_T = ("t as (select 1 k, array(1, 2) a, map('a', 10) m union all select 2, array(3), map('b', 20, 'c', 30) "
           "union all select 3, cast(array() as array<int>), cast(map() as map<string,int>))")


@pytest.fixture(scope="module")
def cur():
    conn = sql.connect()
    yield conn.cursor()
    conn.close()


@pytest.mark.parametrize("lamna, duck", [
    ("select explode(a) from t", "select unnest(a) from t"),
    ("select explode(a) as x from t where k < 3", "select unnest(a) as x from t where k < 3"),
    ("select k, explode(a) as x from t", "select k, unnest(a) as x from t"),
    ("select k, posexplode(a) as (p, x) from t",
     "select k, generate_subscripts(a, 1) - 1 as p, unnest(a) as x from t"),
    ("select explode(m) as (key, value) from t", "select unnest(map_keys(m)), unnest(map_values(m)) from t"),
    ("select k, explode_outer(a) from t", "select k, unnest(case when len(a) = 0 then [null] else a end) from t"),
    ("select explode(array(1, 2, 3))", "select unnest([1, 2, 3])"),
])
def test_select_list_generator_matches_unnest(cur, lamna: str, duck: str) -> None:
    cur.execute(f"with {LAMNA_T} {lamna}")
    got = sorted(cur.fetchall(), key=repr)
    expected = sorted(duckdb.sql(f"with {T} {duck}").fetchall(), key=repr)
    assert got == expected


def test_default_column_names_are_hives(cur) -> None:
    cur.execute(f"with {LAMNA_T} select posexplode(a) from t")
    assert [d[0] for d in cur.description] == ["pos", "col"]
    cur.execute(f"with {LAMNA_T} select explode(m) from t")
    assert [d[0] for d in cur.description] == ["key", "value"]


@pytest.mark.parametrize("query, words", [
    ("select explode(a), explode(a) from t", "only one generator"),
    ("select k, explode(a) from t group by k", "GROUP BY"),
])
def test_forms_hive_rejects_are_clear_errors(cur, query: str, words: str) -> None:
    with pytest.raises(ProgrammingError, match=words):
        cur.execute(f"with {LAMNA_T} {query}")


def test_empty_constructors_and_map_size(cur) -> None:
    """map() and array() are Hive's empty map<string,string> and array<string>; size
    counts map entries (it failed on maps) and is -1 for NULL."""
    cur.execute("with t as (select 1 k, map('a', 1) m union all select 2, map('b', 2, 'c', 3) "
                "union all select 3, cast(null as map<string,int>)) "
                "select k, size(m), size(map()), size(array()), map(), array() from t order by k")
    assert cur.fetchall() == [(1, 1, 0, 0, {}, []), (2, 2, 0, 0, {}, []), (3, -1, 0, 0, {}, [])]
