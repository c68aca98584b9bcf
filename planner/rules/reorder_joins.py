"""Join ordering: flatten a tree of inner joins and rebuild it greedily from statistics.

Greedy operator ordering: repeatedly join the two connected subtrees whose join has
the smallest estimated result (``|L|·|R| / max ndv`` of the join keys), the larger one
as the probe (left) side. Filtered dimension chains get joined first (TPC-H Q5, Q8, Q9:
``supplier ⋈ σ(nation)`` before the fact table), and comma joins listed in an unlucky
order never become cross products.
"""

from __future__ import annotations

from planner import logical as L
from planner.expressions import Call, ColumnRef, Expr, and_all, column_ids, conjuncts
from planner.rules.stats import column_ndv, estimate_rows, is_key_like


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


class _Tree:
    __slots__ = ("plan", "ids", "rows")

    def __init__(self, plan: L.LogicalPlan, rows: float) -> None:
        self.plan = plan
        self.ids = {c.id for c in plan.schema}
        self.rows = rows


def _reorder(node: L.LogicalPlan) -> L.LogicalPlan:
    leaves: list[L.LogicalPlan] = []
    conds: list[Expr] = []
    _flatten(node, leaves, conds)
    leaves = [reorder_joins(leaf) for leaf in leaves]
    if len(leaves) < 3:
        assert isinstance(node, L.Join)
        return L.with_children(node, (reorder_joins(node.left), reorder_joins(node.right)))
    # distinct-value estimates of every column an equality reads, from its leaf
    ndv: dict[int, float] = {}
    for leaf in leaves:
        for c in leaf.schema:
            ndv[c.id] = -1.0
    eqs: list[tuple[int, int]] = []
    for c in conds:
        if isinstance(c, Call) and c.name == "eq" and all(isinstance(a, ColumnRef) for a in c.args):
            a, b = c.args[0].column.id, c.args[1].column.id  # type: ignore[union-attr]
            eqs.append((a, b))
    key: dict[int, bool] = {}
    for leaf in leaves:
        for a, b in eqs:
            for x in (a, b):
                if x in {c.id for c in leaf.schema}:
                    ndv[x] = column_ndv(leaf, x)
                    key[x] = is_key_like(leaf, x)
    _bound_by_keys(eqs, ndv, key)
    trees = [_Tree(leaf, estimate_rows(leaf)) for leaf in leaves]
    used: set[int] = set()
    while len(trees) > 1:
        best: tuple[float, int, int] | None = None
        for i in range(len(trees)):
            for j in range(i + 1, len(trees)):
                den = _denominator(trees[i], trees[j], eqs, ndv, key)
                if den is None:
                    continue
                est = trees[i].rows * trees[j].rows / den
                if best is None or est < best[0]:
                    best = (est, i, j)
        if best is None:  # nothing connected: cross join the two smallest
            order = sorted(range(len(trees)), key=lambda k: trees[k].rows)
            i, j = order[0], order[1]
            est = trees[i].rows * trees[j].rows
        else:
            est, i, j = best
        a, b = trees[i], trees[j]
        big, small = (a, b) if a.rows >= b.rows else (b, a)
        have = a.ids | b.ids
        mine = [k for k, c in enumerate(conds) if k not in used and column_ids(c) <= have]
        used |= set(mine)
        cond = and_all([conds[k] for k in mine])
        joined = L.Join(left=big.plan, right=small.plan, kind="inner" if cond is not None else "cross",
                        condition=cond)
        t = _Tree(joined, max(est, 1.0))
        trees = [x for k, x in enumerate(trees) if k not in (i, j)] + [t]
    plan = trees[0].plan
    rest = [conds[k] for k in range(len(conds)) if k not in used]
    if rest:
        plan = L.Filter(input=plan, condition=and_all(rest))  # type: ignore[arg-type]
    if plan.schema != node.schema:
        plan = L.Project(input=plan, exprs=tuple((c, c.ref()) for c in node.schema))
    return plan


def _denominator(a: _Tree, b: _Tree, eqs: list[tuple[int, int]], ndv: dict[int, float],
                 key: dict[int, bool]) -> float | None:
    best = None
    for x, y in eqs:
        if (x in a.ids and y in b.ids) or (x in b.ids and y in a.ids):
            nx, ny = ndv.get(x, 1.0), ndv.get(y, 1.0)
            d = min(nx, ny) if key.get(x) and key.get(y) else max(nx, ny)
            d = max(d, 1.0)
            best = d if best is None else max(best, d)
    return best


def _bound_by_keys(eqs: list[tuple[int, int]], ndv: dict[int, float], key: dict[int, bool]) -> None:
    """Columns made equal by the join conditions share one set of values, so none has more
    distinct values than the smallest key among them (``c_nationkey = s_nationkey = n_nationkey``
    means 25 nations, whatever the customer and supplier tables' sizes suggest)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in eqs:
        parent[find(a)] = find(b)
    classes: dict[int, list[int]] = {}
    for x in list(parent):
        classes.setdefault(find(x), []).append(x)
    for members in classes.values():
        keyed = [ndv[m] for m in members if key.get(m) and ndv.get(m, -1) > 0]
        if not keyed:
            continue
        bound = min(keyed)
        for m in members:
            if not key.get(m) and ndv.get(m, -1) > 0:
                ndv[m] = min(ndv[m], bound)
