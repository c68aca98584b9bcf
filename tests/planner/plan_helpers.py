"""Build logical plans from SQL over small in-memory tables, for rule tests."""

from __future__ import annotations

import pyarrow as pa
import sqlglot

from planner import logical as L
from sql.session import Session

def _t(n: int, cols: dict) -> pa.Table:
    return pa.table({name: pa.array([f(i) for i in range(n)], t) for name, (f, t) in cols.items()})


# a is the large table, c the small one (statistics are row counts only)
TABLES = {
    "a": _t(1000, {"k": (lambda i: i, pa.int64()), "x": (lambda i: i % 50, pa.int64()),
                   "s": (lambda i: "pq"[i % 2], pa.string())}),
    "b": _t(100, {"k": (lambda i: i, pa.int64()), "y": (lambda i: i % 7, pa.int64())}),
    "c": _t(10, {"k": (lambda i: i, pa.int64()), "z": (lambda i: i * 10, pa.int64())}),
}


def session(**settings: str) -> Session:
    s = Session(settings=settings)
    for name, t in TABLES.items():
        s.register_arrow(name, t)
    return s


def bind(q: str, s: Session | None = None) -> L.LogicalPlan:
    s = s or session()
    plan, _ = s.bind(sqlglot.parse_one(q, read="hive"))
    return plan


def text(plan: L.LogicalPlan) -> str:
    return L.explain(plan)


def lines(block: str) -> str:
    """A dedented multi-line expected plan."""
    import textwrap
    return textwrap.dedent(block).strip("\n")
