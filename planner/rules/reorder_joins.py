"""Join ordering: flatten a tree of inner joins and rebuild it greedily from statistics.

The largest input stays the probe (left) side; each step joins the smallest input that
shares an equality with what is joined so far, so comma joins listed in an unlucky order
(TPC-H Q8: part, supplier, …) never become cross products.
"""

from __future__ import annotations

from planner import logical as L
from planner.expressions import Call, Expr, and_all, column_ids, conjuncts
from planner.rules.stats import estimate_rows


def reorder_joins(plan: L.LogicalPlan) -> L.LogicalPlan:
    if _is_inner(plan):
        return _reorder(plan)
    return L.with_children(plan, tuple(reorder_joins(k) for k in plan.children()))


def _is_inner(node: L.LogicalPlan) -> bool:
    return isinstance(node, L.Join) and node.kind in ("inner", "cross") and node.hint is None


def _flatten(node: L.LogicalPlan, leaves: list[L.LogicalPlan], conds: list[Expr]) -> None:
    if _is_inner(node):
        assert isinstance(node, L.Join)
        _flatten(node.left, leaves, conds)
        _flatten(node.right, leaves, conds)
        conds.extend(conjuncts(node.condition))
    else:
        leaves.append(node)


def _reorder(node: L.LogicalPlan) -> L.LogicalPlan:
    if not _is_inner(node):
        return node
    leaves: list[L.LogicalPlan] = []
    conds: list[Expr] = []
    _flatten(node, leaves, conds)
    leaves = [reorder_joins(leaf) for leaf in leaves]
    if len(leaves) < 3:
        assert isinstance(node, L.Join)
        return L.with_children(node, (reorder_joins(node.left), reorder_joins(node.right)))
    ids = [{c.id for c in leaf.schema} for leaf in leaves]
    rows = [estimate_rows(leaf) for leaf in leaves]

    def connects(i: int, joined: set[int]) -> bool:
        for c in conds:
            if isinstance(c, Call) and c.name == "eq":
                a, b = column_ids(c.args[0]), column_ids(c.args[1])
                if a and b and ((a <= ids[i] and b <= joined) or (b <= ids[i] and a <= joined)):
                    return True
        return False

    start = max(range(len(leaves)), key=lambda i: rows[i])
    order = [start]
    joined = set(ids[start])
    remaining = set(range(len(leaves))) - {start}
    while remaining:
        cands = [i for i in remaining if connects(i, joined)]
        pick = min(cands or remaining, key=lambda i: (rows[i], i))
        order.append(pick)
        joined |= ids[pick]
        remaining.discard(pick)

    used: set[int] = set()
    plan = leaves[order[0]]
    have = set(ids[order[0]])
    for i in order[1:]:
        have |= ids[i]
        mine = [k for k, c in enumerate(conds) if k not in used and column_ids(c) <= have]
        used |= set(mine)
        cond = and_all([conds[k] for k in mine])
        plan = L.Join(left=plan, right=leaves[i], kind="inner" if cond is not None else "cross", condition=cond)
    rest = [conds[k] for k in range(len(conds)) if k not in used]
    if rest:
        plan = L.Filter(input=plan, condition=and_all(rest))
    if plan.schema != node.schema:
        plan = L.Project(input=plan, exprs=tuple((c, c.ref()) for c in node.schema))
    return plan
