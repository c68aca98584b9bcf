"""Predicate pushdown: move each conjunct as close to the data as it can go.

Through projections (substituting the projected expressions), into both sides of inner
joins (turning comma joins plus WHERE equalities into equi-joins), into the preserved
side of outer joins, below aggregates (conjuncts on grouping keys only), into every
branch of a UNION ALL, and into scans, where it reaches partition and row-group pruning.

>>> # SELECT … FROM a, b WHERE a.k = b.k AND a.x > 1
>>> # Filter(a.k = b.k AND a.x > 1, Join cross(a, b))  →  Join inner on a.k = b.k (Filter a.x > 1 (a), b)
"""

from __future__ import annotations

from dataclasses import replace

from planner import logical as L
from planner.expressions import (Call, ColumnRef, Expr, SUBQUERIES, and_all, column_ids, conjuncts,
                                 disjuncts, or_all, replace_columns, walk)
from planner.functions import SCALARS


def push_down_filter(plan: L.LogicalPlan) -> L.LogicalPlan:
    return _push(plan, [])


def factor_or(p: Expr) -> list[Expr]:
    """``(A AND B) OR (A AND C)`` → ``[A, B OR C]``: common conjuncts leave the OR."""
    ds = disjuncts(p)
    if len(ds) < 2:
        return [p]
    parts = [conjuncts(d) for d in ds]
    common = [c for c in parts[0] if all(c in q for q in parts[1:])]
    if not common:
        return [p]
    rest = [[c for c in q if c not in common] for q in parts]
    if any(not r for r in rest):
        return common
    return common + [or_all([and_all(r) for r in rest])]  # type: ignore[list-item]


def derive_side_filter(p: Expr, ids: set[int]) -> Expr | None:
    """From an OR over both join sides, the weaker OR that reads only ``ids``:
    ``(a.x = 1 AND b.y = 2) OR (a.x = 3 AND b.y = 4)`` gives ``a.x = 1 OR a.x = 3`` for a."""
    ds = disjuncts(p)
    if len(ds) < 2:
        return None
    out = []
    for d in ds:
        mine = [c for c in conjuncts(d) if column_ids(c) and column_ids(c) <= ids and _deterministic(c)]
        if not mine:
            return None
        out.append(and_all(mine))
    return or_all(out)  # type: ignore[arg-type]


def _factor_all(preds: list[Expr]) -> list[Expr]:
    out: list[Expr] = []
    for p in preds:
        for q in factor_or(p):
            if q not in out:
                out.append(q)
    return out


def _deterministic(e: Expr) -> bool:
    for x in walk(e):
        if isinstance(x, Call) and (x.udf is not None or (x.name in SCALARS and not SCALARS[x.name].deterministic)):
            return False
        if isinstance(x, SUBQUERIES):
            return False
    return True


def _wrap(plan: L.LogicalPlan, preds: list[Expr]) -> L.LogicalPlan:
    cond = and_all(preds)
    return plan if cond is None else L.Filter(input=plan, condition=cond)


def _ids(plan: L.LogicalPlan) -> set[int]:
    return {c.id for c in plan.schema}


def _push(node: L.LogicalPlan, preds: list[Expr]) -> L.LogicalPlan:
    preds = _factor_all(preds)
    match node:
        case L.Filter():
            return _push(node.input, preds + conjuncts(node.condition))
        case L.Project():
            mapping = {c.id: e for c, e in node.exprs}
            down, keep = [], []
            for p in preds:
                ok = _deterministic(p) and all(_deterministic(mapping[i]) for i in column_ids(p) if i in mapping)
                (down if ok else keep).append(p)
            sub = [replace_columns(p, {i: mapping[i] for i in column_ids(p) if i in mapping
                                       and not (isinstance(mapping[i], ColumnRef) and mapping[i].column.id == i)})
                   for p in down]
            return _wrap(replace(node, input=_push(node.input, sub)), keep)
        case L.Join():
            return _push_join(node, preds)
        case L.Aggregate():
            passthrough = {c.id for c, e in node.keys if isinstance(e, ColumnRef) and e.column.id == c.id}
            down, keep = [], []
            for p in preds:
                ok = node.grouping_sets is None and _deterministic(p) and column_ids(p) <= passthrough \
                    and column_ids(p)
                (down if ok else keep).append(p)
            return _wrap(replace(node, input=_push(node.input, down)), keep)
        case L.Union():
            keep = [p for p in preds if not _deterministic(p)]
            down = [p for p in preds if _deterministic(p)]
            inputs = []
            for inp in node.inputs:
                m = {c.id: s.ref() for c, s in zip(node.columns, inp.schema)}
                inputs.append(_push(inp, [replace_columns(p, m) for p in down]))
            return _wrap(replace(node, inputs=tuple(inputs)), keep)
        case L.Sort() | L.Repartition():
            ok = [p for p in preds if _deterministic(p)]
            keep = [p for p in preds if not _deterministic(p)]
            return _wrap(replace(node, input=_push(node.input, ok)), keep)
        case L.Generate():
            gen = {c.id for c in node.columns}
            down = [p for p in preds if _deterministic(p) and not (column_ids(p) & gen)]
            keep = [p for p in preds if p not in down]
            return _wrap(replace(node, input=_push(node.input, down)), keep)
        case L.Window():
            part_ids: set[int] = set()
            common = None
            for _, w in node.functions:
                ids = set()
                for e in w.partition_by:
                    if isinstance(e, ColumnRef):
                        ids.add(e.column.id)
                common = ids if common is None else common & ids
            part_ids = common or set()
            down = [p for p in preds if _deterministic(p) and column_ids(p) and column_ids(p) <= part_ids]
            keep = [p for p in preds if p not in down]
            return _wrap(replace(node, input=_push(node.input, down)), keep)
        case L.Scan():
            scan_ids = _ids(node)
            down = [p for p in preds if _deterministic(p) and column_ids(p) <= scan_ids]
            keep = [p for p in preds if p not in down]
            new = node
            if down:
                new = replace(node, filters=node.filters + tuple(d for d in down if d not in node.filters))
            return _wrap(new, keep)
        case L.Limit() | L.Values():
            kids = tuple(_push(k, []) for k in node.children())
            return _wrap(L.with_children(node, kids), preds)
    raise AssertionError(node)


def _push_join(node: L.Join, preds: list[Expr]) -> L.LogicalPlan:
    lids, rids = _ids(node.left), _ids(node.right)
    kind = node.kind
    on = _factor_all(conjuncts(node.condition))
    left_down: list[Expr] = []
    right_down: list[Expr] = []
    keep: list[Expr] = []
    new_on: list[Expr] = []

    # predicates from above the join
    for p in preds:
        ids = column_ids(p)
        det = _deterministic(p)
        if det and ids and ids <= lids and kind in ("inner", "cross", "left", "semi", "anti"):
            left_down.append(p)
        elif det and ids and ids <= rids and kind in ("inner", "cross", "right"):
            right_down.append(p)
        elif det and kind in ("inner", "cross") and ids and ids <= lids | rids:
            new_on.append(p)
        else:
            keep.append(p)
    # conjuncts of the ON condition
    for c in on:
        ids = column_ids(c)
        det = _deterministic(c)
        if det and ids and ids <= lids and kind in ("inner", "cross", "semi", "right"):
            left_down.append(c)
        elif det and ids and ids <= rids and kind in ("inner", "cross", "semi", "anti", "left"):
            right_down.append(c)
        else:
            new_on.append(c)
    # ORs spanning both sides still imply a filter on each side (TPC-H Q7, Q19).
    if kind in ("inner", "cross"):
        for p in list(new_on):
            if isinstance(p, Call) and p.name == "or":
                for side_ids, dest in ((lids, left_down), (rids, right_down)):
                    d = derive_side_filter(p, side_ids)
                    if d is not None and d not in dest:
                        dest.append(d)
    if kind == "cross" and new_on:
        kind = "inner"
    cond = and_all(new_on)
    if kind == "inner" and cond is None:
        kind = "cross"
    left = _push(node.left, left_down)
    right = _push(node.right, right_down)
    return _wrap(replace(node, left=left, right=right, kind=kind, condition=cond), keep)
