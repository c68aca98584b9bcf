"""Subquery decorrelation: EXISTS / IN / scalar subqueries become joins, never per-row runs.

``WHERE EXISTS (SELECT … WHERE inner.k = outer.k AND …)``  →  semi join on ``inner.k = outer.k``;
``NOT EXISTS`` → anti join; ``x IN (SELECT y …)`` → semi join on ``x = y``; ``NOT IN`` → a
null-aware anti join (a NULL in the subquery rejects every row, as SQL requires); a scalar
subquery → left join with the subquery, its correlated equalities turned into GROUP BY keys
of its aggregate (so one row per outer key), e.g. TPC-H Q17:

    l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)
    →  part ⟕ (SELECT l_partkey, 0.2 * avg(l_quantity) … GROUP BY l_partkey) ON p_partkey = l_partkey
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace

from planner import logical as L
from planner import types as T
from planner.expressions import (AggCall, Call, Case, Column, ColumnRef, Exists, Expr, InSubquery, Literal,
                                 ScalarSubquery, and_all, column_ids, conjuncts, replace_columns, transform)


class DecorrelationError(Exception):
    """A correlated subquery shape we cannot turn into joins."""


def decorrelate(plan: L.LogicalPlan) -> L.LogicalPlan:
    """Remove every subquery expression from ``plan`` (bottom-up, nested ones first)."""
    return L.transform_up(plan, _decorrelate_node)


def _decorrelate_node(node: L.LogicalPlan) -> L.LogicalPlan:
    match node:
        case L.Filter():
            if not _has_sub(node.condition):
                return node
            plan = node.input
            keep: list[Expr] = []
            for c in conjuncts(node.condition):
                plan, c2 = _rewrite_conjunct(plan, c)
                if c2 is not None:
                    keep.append(c2)
            out_cols = node.input.schema
            cond = and_all(keep)
            if cond is not None:
                plan = L.Filter(input=plan, condition=cond)
            if plan.schema != out_cols:
                plan = L.Project(input=plan, exprs=tuple((c, c.ref()) for c in out_cols))
            return plan
        case L.Project():
            if not any(_has_sub(e) for _, e in node.exprs):
                return node
            plan = node.input
            exprs = []
            for col, e in node.exprs:
                plan, e2 = _rewrite_scalars(plan, e)
                exprs.append((col, e2))
            return L.Project(input=plan, exprs=tuple(exprs))
        case L.Join() if node.condition is not None and _has_sub(node.condition):
            from planner.rules.decorrelate_join import rewrite_join_subqueries
            return rewrite_join_subqueries(node)
        case L.Aggregate() if any(_has_sub(e) for e in L.expressions(node)):
            raise DecorrelationError("subqueries inside aggregate arguments are not supported")
        case L.Sort() if any(_has_sub(e) for e in L.expressions(node)):
            raise DecorrelationError("subqueries in ORDER BY are not supported")
    return node


def _has_sub(e: Expr) -> bool:
    from planner.expressions import SUBQUERIES, walk
    return any(isinstance(x, SUBQUERIES) for x in walk(e))


def _rewrite_conjunct(plan: L.LogicalPlan, c: Expr) -> tuple[L.LogicalPlan, Expr | None]:
    negated = False
    inner = c
    if isinstance(c, Call) and c.name == "not" and isinstance(c.args[0], (Exists, InSubquery)):
        negated, inner = True, c.args[0]
    match inner:
        case Exists():
            sub, preds = pull_up(decorrelate(inner.plan), _outer_ids(inner.plan))
            return L.Join(left=plan, right=sub, kind="anti" if negated else "semi",
                          condition=and_all(preds)), None
        case InSubquery():
            plan, arg = _rewrite_scalars(plan, inner.arg)
            subplan = decorrelate(inner.plan)
            sub, preds = pull_up(subplan, _outer_ids(inner.plan))
            eq = Call("eq", (arg, subplan.schema[0].ref()), T.BOOL)
            return L.Join(left=plan, right=sub, kind="anti" if negated else "semi",
                          condition=and_all([eq] + preds), null_aware=negated), None
    if _has_sub(c):
        return _rewrite_scalars_or_marks(plan, c)
    return plan, c


def _rewrite_scalars_or_marks(plan: L.LogicalPlan, e: Expr) -> tuple[L.LogicalPlan, Expr]:
    """Subqueries nested in OR/CASE: EXISTS/IN become a left join with a marker column."""
    holder = {"plan": plan}

    def fn(x: Expr) -> Expr | None:
        if isinstance(x, (Exists, InSubquery)) and not (isinstance(x, InSubquery) and _has_sub(x.arg)):
            sub_plan = decorrelate(x.plan)
            sub, preds = pull_up(sub_plan, _outer_ids(x.plan))
            if isinstance(x, InSubquery):
                preds = [Call("eq", (x.arg, sub_plan.schema[0].ref()), T.BOOL)] + preds
            # marker: distinct correlation keys of the subquery joined back
            mark = Column(_fresh_id(holder["plan"], sub), "_mark", T.BOOL)
            marked = L.Project(input=sub, exprs=tuple((c, c.ref()) for c in sub.schema) + ((mark, Literal(True, T.BOOL)),))
            holder["plan"] = L.Join(left=holder["plan"], right=_semi_marker(marked, preds, mark),
                                    kind="left", condition=and_all(preds))
            found = Call("is_not_null", (mark.ref(),), T.BOOL)
            if isinstance(x, InSubquery):
                holder["plan"], unknown = _in_unknown(holder["plan"], sub, preds[1:], x.arg, sub_plan.schema[0])
                return Case(whens=((found, Literal(True, T.BOOL)), (unknown, Literal(None, T.BOOL))),
                            default=Literal(False, T.BOOL), type=T.BOOL)
            return found
        return None
    e2 = transform(e, fn)
    return _rewrite_scalars(holder["plan"], e2)


def _in_unknown(plan: L.LogicalPlan, sub: L.LogicalPlan, correlation: list[Expr], arg: Expr,
                value: Column) -> tuple[L.LogicalPlan, Expr]:
    """When ``arg IN (sub)`` finds no equal value, SQL answers NULL rather than FALSE if
    the (correlated) subquery has rows and ``arg`` is NULL or one of the values is NULL.
    Joins ``plan`` with the subquery's row and non-null counts per correlation key and
    returns that condition."""
    ids: set[int] = set()
    for p in correlation:
        ids |= column_ids(p)
    inner = [c for c in sub.schema if c.id in ids]
    fresh = _fresh_ids(2 + len(inner), plan, sub)
    rows, non_null = Column(fresh[0], "_rows", T.INT64), Column(fresh[1], "_values", T.INT64)
    # the marker join already brought these inner columns in: the counts get their own ids
    keys = tuple((Column(i, c.name, c.type), c.ref()) for i, c in zip(fresh[2:], inner))
    renamed = {c.id: k.ref() for c, (k, _) in zip(inner, keys)}
    counts = L.Aggregate(input=sub, keys=keys, aggregates=(
        (rows, AggCall("count", (), False, T.INT64)),
        (non_null, AggCall("count", (value.ref(),), False, T.INT64))))
    condition = and_all([replace_columns(p, renamed) for p in correlation])
    joined = L.Join(left=plan, right=counts, kind="left", condition=condition)
    has_rows = Call("gt", (Call("coalesce", (rows.ref(), Literal(0, T.INT64)), T.INT64), Literal(0, T.INT64)), T.BOOL)
    some_null = Call("or", (Call("is_null", (arg,), T.BOOL),
                            Call("gt", (rows.ref(), non_null.ref()), T.BOOL)), T.BOOL)
    return joined, Call("and", (has_rows, Call("is_true", (some_null,), T.BOOL)), T.BOOL)


def _semi_marker(sub: L.LogicalPlan, preds: list[Expr], mark: Column) -> L.LogicalPlan:
    # Distinct on the columns the predicates read, so the left join does not duplicate rows.
    ids = set()
    for p in preds:
        ids |= column_ids(p)
    keys = tuple((c, c.ref()) for c in sub.schema if c.id in ids)
    aggs = ((mark, _MARK_AGG(mark)),)
    if not keys:
        return L.Limit(input=sub, limit=1)
    agg_col = Column(mark.id, mark.name, T.BOOL)
    return L.Aggregate(input=sub, keys=keys, aggregates=((agg_col, AggCall("max", (mark.ref(),), False, T.BOOL)),))


def _MARK_AGG(mark: Column) -> AggCall:
    return AggCall("max", (mark.ref(),), False, T.BOOL)


def _max_id(plan: L.LogicalPlan) -> int:
    """The largest column id anywhere in ``plan`` (schemas and nested subquery plans)."""
    from planner.expressions import SUBQUERIES, walk
    m = max((c.id for c in plan.schema), default=0)
    for e in L.expressions(plan):
        for x in walk(e):
            if isinstance(x, ColumnRef):
                m = max(m, x.column.id)
            elif isinstance(x, SUBQUERIES):
                m = max(m, _max_id(x.plan))
    for k in plan.children():
        m = max(m, _max_id(k))
    return m


def _fresh_ids(count: int, *plans: L.LogicalPlan) -> list[int]:
    """``count`` column ids unused by ``plans``. Rules create columns rarely (markers,
    copies of scans); the ids start above everything in the plans they are added to."""
    offset = _ISSUED.get()
    _ISSUED.set(offset + count)  # distinct across calls in one rewrite
    start = max(_max_id(p) for p in plans) + 1 + offset
    return list(range(start, start + count))


#: How many fresh ids this optimizer run has handed out. Context-local, and reset by
#: ``fresh_id_scope`` for each run, so that one plan optimized twice gets the same ids
#: (the plan cache compares two such plans) and concurrent runs never share a counter.
_ISSUED: ContextVar[int] = ContextVar("decorrelate_fresh_ids_issued", default=1_000_000)


@contextmanager
def fresh_id_scope() -> Iterator[None]:
    token = _ISSUED.set(1_000_000)
    try:
        yield
    finally:
        _ISSUED.reset(token)


def _fresh_id(*plans: L.LogicalPlan) -> int:
    return _fresh_ids(1, *plans)[0]


def _rewrite_scalars(plan: L.LogicalPlan, e: Expr) -> tuple[L.LogicalPlan, Expr]:
    holder = {"plan": plan}

    def fn(x: Expr) -> Expr | None:
        if isinstance(x, ScalarSubquery):
            sub_plan = decorrelate(x.plan)
            outer = _outer_ids(x.plan)
            value = sub_plan.schema[0]
            try:
                sub, preds = pull_up(sub_plan, outer)
            except DecorrelationError:
                joined = _join_aggregate_per_outer_row(holder["plan"], sub_plan, outer)
                if joined is None:
                    raise
                holder["plan"] = joined
                ref0: Expr = value.ref()
                if _is_count(sub_plan, value):
                    ref0 = Call("coalesce", (ref0, Literal(0, T.INT64)), T.INT64)
                return ref0
            sub = _reduce_by_outer_keys(holder["plan"], sub, preds, outer)
            holder["plan"] = L.Join(left=holder["plan"], right=sub, kind="left",
                                    condition=and_all(preds))
            ref: Expr = value.ref()
            if preds and _is_count(sub_plan, value):
                ref = Call("coalesce", (ref, Literal(0, T.INT64)), T.INT64)
            return ref
        if isinstance(x, (Exists, InSubquery)):
            p2, e2 = _rewrite_scalars_or_marks(holder["plan"], x)
            holder["plan"] = p2
            return e2
        return None
    out = transform(e, fn)
    return holder["plan"], out


def _is_count(plan: L.LogicalPlan, col: Column) -> bool:
    while isinstance(plan, L.Project):
        src = next((x for c, x in plan.exprs if c == col), None)
        if not isinstance(src, ColumnRef):
            return False
        col, plan = src.column, plan.input
    if isinstance(plan, L.Aggregate):
        a = next((a for c, a in plan.aggregates if c == col), None)
        return a is not None and a.name == "count"
    return False


def _outer_ids(plan: L.LogicalPlan) -> frozenset[int]:
    return L.free_column_ids(plan)


def pull_up(plan: L.LogicalPlan, outer: frozenset[int]) -> tuple[L.LogicalPlan, list[Expr]]:
    """Remove predicates that read ``outer`` columns from ``plan``; return them to the caller.

    The plan is widened so the inner columns those predicates read stay visible at its root.
    """
    if not outer or not (L.free_column_ids(plan) & outer):
        return plan, []
    match plan:
        case L.Filter():
            inp, preds = pull_up(plan.input, outer)
            local, corr = [], []
            for c in conjuncts(plan.condition):
                (corr if column_ids(c) & outer else local).append(c)
            cond = and_all(local)
            new = L.Filter(input=inp, condition=cond) if cond is not None else inp
            return new, preds + corr
        case L.Project():
            inp, preds = pull_up(plan.input, outer)
            for _, e in plan.exprs:
                if column_ids(e) & outer:
                    raise DecorrelationError("correlated column in a subquery's SELECT list")
            need = set()
            for p in preds:
                need |= column_ids(p) - outer
            have = {c.id for c, _ in plan.exprs}
            extra = tuple((c, c.ref()) for c in inp.schema if c.id in need and c.id not in have)
            return L.Project(input=inp, exprs=plan.exprs + extra), preds
        case L.Aggregate():
            inp, preds = pull_up(plan.input, outer)
            if plan.grouping_sets is not None:
                raise DecorrelationError("correlated subquery with GROUPING SETS")
            keys = list(plan.keys)
            have = {c.id for c, _ in keys}
            for p in preds:
                inner_ids = column_ids(p) - outer
                if not (isinstance(p, Call) and p.name == "eq"):
                    raise DecorrelationError(f"correlated predicate {p} under an aggregate must be an equality")
                for c in inp.schema:
                    if c.id in inner_ids and c.id not in have:
                        keys.append((c, c.ref()))
                        have.add(c.id)
                if inner_ids - have:
                    raise DecorrelationError(f"correlated predicate {p} reads computed columns")
            return replace(plan, input=inp, keys=tuple(keys)), preds
        case L.Join() if plan.kind in ("inner", "cross"):
            left, lp = pull_up(plan.left, outer)
            right, rp = pull_up(plan.right, outer)
            return replace(plan, left=left, right=right), lp + rp
        case L.Join() if plan.kind in ("left", "semi", "anti"):
            if L.free_column_ids(plan.right) & outer:
                raise DecorrelationError("correlation inside the right side of an outer/semi join")
            left, lp = pull_up(plan.left, outer)
            return replace(plan, left=left), lp
        case L.Sort():
            return pull_up(plan.input, outer)
        case L.Limit():
            inp, preds = pull_up(plan.input, outer)
            if preds and plan.limit is not None:
                raise DecorrelationError("LIMIT in a correlated subquery is not supported")
            return replace(plan, input=inp), preds
    raise DecorrelationError(f"cannot decorrelate subquery through {plan.explain_line()}")


def _join_aggregate_per_outer_row(plan: L.LogicalPlan, sub_plan: L.LogicalPlan,
                                  outer: frozenset[int]) -> L.LogicalPlan | None:
    """General decorrelation of ``(SELECT agg(…) FROM x WHERE <any predicate on outer cols>)``.

    The distinct outer values D are joined into the subquery below its aggregate, which
    then groups by them; the result joins back to the outer rows on D:

        outer ⟕ γ[d; agg](x ⋈_{pred(x, d)} δ(π_d outer)) ON outer.c = d
    """
    projs: list[L.Project] = []
    node = sub_plan
    while isinstance(node, L.Project):
        projs.append(node)
        node = node.input
    if not isinstance(node, L.Aggregate) or node.keys or node.grouping_sets is not None:
        return None
    outer_cols = [c for c in plan.schema if c.id in outer]
    if {c.id for c in outer_cols} != set(outer):
        return None  # references a query further out
    x, preds = pull_up_any(node.input, outer)
    if x is None:
        return None
    ids = _fresh_ids(len(outer_cols), plan, sub_plan)
    new_cols = [Column(ids[i], c.name, c.type) for i, c in enumerate(outer_cols)]
    mapping: dict[int, Expr] = {c.id: n.ref() for c, n in zip(outer_cols, new_cols)}
    distinct = L.Aggregate(input=L.Project(input=plan, exprs=tuple((n, c.ref()) for c, n in zip(outer_cols, new_cols))),
                           keys=tuple((n, n.ref()) for n in new_cols), aggregates=())
    cond = and_all([replace_columns(p, mapping) for p in preds])
    joined = L.Join(left=x, right=distinct, kind="inner" if cond is not None else "cross", condition=cond)
    aggs = tuple((c, replace_columns(a, mapping)) for c, a in node.aggregates)
    top: L.LogicalPlan = replace(node, input=joined, keys=tuple((n, n.ref()) for n in new_cols),
                                 aggregates=aggs)  # type: ignore[arg-type]
    for pr in reversed(projs):
        exprs = tuple((c, replace_columns(e, mapping)) for c, e in pr.exprs)
        top = L.Project(input=top, exprs=exprs + tuple((n, n.ref()) for n in new_cols))
    on = and_all([Call("eq", (c.ref(), n.ref()), T.BOOL) for c, n in zip(outer_cols, new_cols)])
    return L.Join(left=plan, right=top, kind="left", condition=on)


def pull_up_any(plan: L.LogicalPlan, outer: frozenset[int]) -> tuple[L.LogicalPlan | None, list[Expr]]:
    try:
        return pull_up(plan, outer)
    except DecorrelationError:
        return None, []


def _reduce_by_outer_keys(plan: L.LogicalPlan, sub: L.LogicalPlan, preds: list[Expr],
                          outer: frozenset[int]) -> L.LogicalPlan:
    """Magic-set reduction: aggregate only the groups the outer query can ask for.

    For ``outer.k = inner.k`` where ``outer.k`` comes from a filtered scan S of the outer
    query, the subquery's input is semi-joined with a fresh copy of σ(S) before its
    aggregate (TPC-H Q17: average quantity only for the ~0.1% of parts that qualify, not
    all 200 000). Values of ``outer.k`` in the outer rows are a subset of σ(S)'s, so no
    needed group is lost.
    """
    projs: list[L.Project] = []
    node = sub
    while isinstance(node, L.Project):
        projs.append(node)
        node = node.input
    if not isinstance(node, L.Aggregate) or node.grouping_sets is not None:
        return sub
    key_ids = {c.id for c, e in node.keys if isinstance(e, ColumnRef) and e.column.id == c.id}
    x = node.input
    changed = False
    for p in preds:
        if not (isinstance(p, Call) and p.name == "eq" and all(isinstance(a, ColumnRef) for a in p.args)):
            continue
        a, b = p.args[0].column, p.args[1].column  # type: ignore[union-attr]
        o, i = (a, b) if a.id in outer else (b, a)
        if o.id not in outer or i.id not in key_ids:
            continue
        scan = _filtered_scan_of(plan, o.id)
        if scan is None:
            continue
        clone, cmap = _fresh_scan(scan, plan, sub)
        x = L.Join(left=x, right=clone, kind="semi",
                   condition=Call("eq", (i.ref(), cmap[o.id].ref()), T.BOOL))
        changed = True
    if not changed:
        return sub
    top: L.LogicalPlan = replace(node, input=x)
    for pr in reversed(projs):
        top = replace(pr, input=top)
    return top


def _filtered_scan_of(plan: L.LogicalPlan, col_id: int) -> L.Scan | None:
    """The filtered scan producing ``col_id`` through filters, pass-through projections and
    the row-preserving sides of joins; None if there is none or it is unfiltered."""
    match plan:
        case L.Scan():
            ok = any(c.id == col_id for c in plan.columns) and bool(plan.filters)
            return plan if ok else None
        case L.Filter():
            return _filtered_scan_of(plan.input, col_id)
        case L.Project():
            for c, e in plan.exprs:
                if c.id == col_id and isinstance(e, ColumnRef) and e.column.id == col_id:
                    return _filtered_scan_of(plan.input, col_id)
            return None
        case L.Join(kind="inner" | "cross"):
            for side in (plan.left, plan.right):
                if col_id in {c.id for c in side.schema}:
                    return _filtered_scan_of(side, col_id)
            return None
        case L.Join(kind="semi" | "anti" | "left"):
            return _filtered_scan_of(plan.left, col_id)
    return None


def _fresh_scan(scan: L.Scan, *plans: L.LogicalPlan) -> tuple[L.Scan, dict[int, Column]]:
    ids = _fresh_ids(len(scan.columns), scan, *plans)
    cmap = {c.id: Column(ids[k], c.name, c.type) for k, c in enumerate(scan.columns)}
    refs: dict[int, Expr] = {i: c.ref() for i, c in cmap.items()}
    clone = replace(scan, columns=tuple(cmap[c.id] for c in scan.columns),
                    filters=tuple(replace_columns(f, refs) for f in scan.filters))
    return clone, cmap
