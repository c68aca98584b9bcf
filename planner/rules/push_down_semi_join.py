"""Semi/anti join pushdown: filter a join input by ``IN``/``EXISTS`` before the join.

``(orders ⋈ lineitem ⋈ customer) ⋉ big_orders ON o_orderkey = …`` → the semi join goes
onto ``orders`` (the only input its condition reads), so the large joins see only the
rows that survive it (TPC-H Q18).
"""

from __future__ import annotations

from dataclasses import replace

from planner import logical as L
from planner.expressions import ColumnRef, column_ids


def push_down_semi_join(plan: L.LogicalPlan) -> L.LogicalPlan:
    plan = L.with_children(plan, tuple(push_down_semi_join(k) for k in plan.children()))
    if isinstance(plan, L.Join) and plan.kind == "semi" and not plan.null_aware and _selective(plan):
        return _sink(plan)
    return plan


def _selective(j: L.Join) -> bool:
    """Only a semi join expected to drop most rows is worth running before other joins;
    a non-selective one (TPC-H Q21's EXISTS over all of lineitem) stays on top, where
    the other joins have already shrunk its input."""
    from planner.rules.stats import estimate_rows
    return estimate_rows(j) <= 0.5 * estimate_rows(j.left)


def _sink(j: L.Join) -> L.LogicalPlan:
    need = column_ids(j.condition) & {c.id for c in j.left.schema} if j.condition is not None else set()
    left = j.left
    match left:
        case L.Join(kind="inner" | "cross"):
            for side in ("left", "right"):
                child = getattr(left, side)
                if need <= {c.id for c in child.schema}:
                    pushed = _sink(replace(j, left=child))
                    return replace(left, **{side: pushed})
        case L.Join(kind="left" | "semi" | "anti"):
            if need <= {c.id for c in left.left.schema}:
                return replace(left, left=_sink(replace(j, left=left.left)))
        case L.Project():
            passthrough = {c.id for c, e in left.exprs if isinstance(e, ColumnRef) and e.column.id == c.id}
            if need <= passthrough:
                return replace(left, input=_sink(replace(j, left=left.input)))
        case L.Filter():
            return replace(left, input=_sink(replace(j, left=left.input)))
    return j
