"""INTERSECT ALL and EXCEPT ALL: multiset semantics from a window and a counted join.

A row that occurs m times on the left and n times on the right occurs min(m, n) times in
``INTERSECT ALL`` and max(m − n, 0) times in ``EXCEPT ALL`` (NULLs equal to each other,
as in every set operation). Numbering the left copies of each distinct row 1…m (a
``row_number()`` partitioned by every column) and joining the right side's count n per
distinct row, the left copy numbered r is kept iff r ≤ n (INTERSECT ALL) or r > n
(EXCEPT ALL) — all in existing vectorized operators, no row replication:

    left  a a a b      right  a b b        INTERSECT ALL  a b
    r     1 2 3 1      n(a)=1, n(b)=2      EXCEPT ALL     a a
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from planner import logical as L
from planner import types as T
from planner.expressions import (
    AggCall,
    Call,
    Cast,
    Column,
    Literal,
    WindowCall,
    and_all,
)


def multiset_setop(left: L.LogicalPlan, right: L.LogicalPlan, intersect: bool,
                   new_column: Callable[[str, pa.DataType], Column]) -> L.LogicalPlan:
    """``left INTERSECT ALL right`` (or ``EXCEPT ALL``); both sides already coerced to
    the same column types. The output columns are ``left``'s."""
    copy = new_column("_copy", T.INT32)
    number = WindowCall(name="row_number", args=(), partition_by=tuple(c.ref() for c in left.schema),
                        order_by=(), frame=None, type=T.INT32)
    numbered = L.Window(input=left, functions=((copy, number),))
    keys = tuple((new_column(c.name, c.type), c.ref()) for c in right.schema)
    count = new_column("_count", T.INT64)
    counted = L.Aggregate(input=right, keys=keys, aggregates=((count, AggCall("count", (), False, T.INT64)),))
    same = and_all([Call("eq_null_safe", (a.ref(), k.ref()), T.BOOL) for a, (k, _) in zip(left.schema, keys)])
    joined = L.Join(left=numbered, right=counted, kind="left", condition=same)
    r = Cast(copy.ref(), T.INT64)
    n = Call("coalesce", (count.ref(), Literal(0, T.INT64)), T.INT64)
    keep = Call("le" if intersect else "gt", (r, n), T.BOOL)
    kept = L.Filter(input=joined, condition=keep)
    return L.Project(input=kept, exprs=tuple((c, c.ref()) for c in left.schema))
