"""Result comparison for differential tests (Lamna vs DuckDB)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import sqlglot


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return round(v, 6)
    if isinstance(v, Decimal):
        return Decimal(v).normalize() if v == v else v
    if isinstance(v, list):
        return tuple(_norm(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _norm(x)) for k, x in v.items()))
    return v


def _key(row: tuple) -> str:
    return repr(tuple((x is None, str(type(x).__name__) if x is not None else "", x if x is not None else 0) for x in row))


def _close(a: Any, b: Any) -> bool:
    import datetime as dt
    if isinstance(a, dt.date) and isinstance(b, dt.datetime) and not isinstance(a, dt.datetime):
        return b == dt.datetime(a.year, a.month, a.day)
    if isinstance(a, float) and isinstance(b, (float, int, Decimal)):
        return math.isclose(a, float(b), rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(b, float) and isinstance(a, (int, Decimal)):
        return math.isclose(float(a), b, rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(a, Decimal) and isinstance(b, (Decimal, int)):
        return a == b
    return a == b


def rows_equal(got: list[tuple], exp: list[tuple], ordered: bool) -> bool:
    g = [tuple(_norm(v) for v in r) for r in got]
    e = [tuple(_norm(v) for v in r) for r in exp]
    if len(g) != len(e):
        return False
    if not ordered:
        g, e = sorted(g, key=_key), sorted(e, key=_key)
    return all(len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b)) for a, b in zip(g, e))


def check(lamna: Any, duck: Any, hive_sql: str, duck_sql: str | None = None, ordered: bool | None = None) -> None:
    """Run ``hive_sql`` on Lamna and its DuckDB translation (or ``duck_sql``); compare."""
    if duck_sql is None:
        duck_sql = sqlglot.transpile(hive_sql, read="hive", write="duckdb")[0]
    cur = lamna.cursor()
    cur.execute(hive_sql)
    got = cur.fetchall()
    exp = duck.execute(duck_sql).fetchall()
    if ordered is None:
        ordered = sqlglot.parse_one(hive_sql, read="hive").args.get("order") is not None
    assert rows_equal(got, exp, ordered), (
        f"\nquery: {hive_sql}\nduckdb: {duck_sql}\ngot ({len(got)}): {got[:8]}\nexp ({len(exp)}): {exp[:8]}")
