"""Subqueries in ``JOIN … ON``, rewritten into the shapes ``decorrelate`` already turns into joins.

For each ON conjunct that holds a subquery (correlated or not):

* an inner or cross join whose conjunct reads both sides: the conjunct moves to a filter
  above the join (for inner joins ON and WHERE mean the same);
* a conjunct that reads one side only, where dropping that side's rows cannot change
  the result (either side of an inner join, the null-supplying side of an outer join,
  the right side of a semi/anti join, the left side of a semi join): a filter on that
  side, decorrelated like any ``WHERE`` (EXISTS → semi join, NOT IN → null-aware anti
  join, …);
* otherwise each subquery expression is computed as a column of the one side whose
  columns it reads (a ``Project``, decorrelated into a left join with the subquery's
  aggregate or a marker, with SQL's three-valued IN), and the conjunct compares columns:

      a LEFT JOIN b ON a.k = b.k AND b.v > (SELECT avg(v) FROM c WHERE c.g = a.g)
      →  (a + [avg per a.g AS s]) LEFT JOIN b ON a.k = b.k AND b.v > s

A subquery that itself reads both sides of an outer or semi/anti join has no such
rewrite (it would need the join's matched pairs before deciding which rows to pad with
NULLs) and is reported as not supported.
"""

from __future__ import annotations

from planner import logical as L
from planner.expressions import (
    SUBQUERIES,
    Column,
    Expr,
    and_all,
    column_ids,
    conjuncts,
    has_subquery,
    transform,
)

#: sides whose rows a conjunct may filter before the join without changing its result
_FILTERABLE = {"inner": ("left", "right"), "cross": ("left", "right"), "left": ("right",),
               "right": ("left",), "full": (), "semi": ("left", "right"), "anti": ("right",)}


def rewrite_join_subqueries(node: L.Join) -> L.LogicalPlan:
    """``node`` without subqueries in its condition; same output columns."""
    from planner.rules import decorrelate as D

    sides: dict[str, L.LogicalPlan] = {"left": node.left, "right": node.right}
    ids = {side: {c.id for c in plan.schema} for side, plan in sides.items()}
    added: dict[str, list[tuple[Column, Expr]]] = {"left": [], "right": []}
    keep: list[Expr] = []
    above: list[Expr] = []
    for c in conjuncts(node.condition):
        if not has_subquery(c):
            keep.append(c)
            continue
        reads = column_ids(c)
        uses = [side for side in ("left", "right") if reads & ids[side]]
        if len(uses) == 2 and node.kind in ("inner", "cross"):
            above.append(c)
            continue
        side = uses[0] if len(uses) == 1 else _side_for_uncorrelated(node.kind)
        if len(uses) < 2 and side in _FILTERABLE[node.kind]:
            sides[side] = D._decorrelate_node(L.Filter(input=sides[side], condition=c))
            continue
        keep.append(_as_columns(c, sides, ids, added, node.kind))
    for side, columns in added.items():
        if columns:
            base = sides[side]
            project = L.Project(input=base, exprs=tuple((c, c.ref()) for c in base.schema) + tuple(columns))
            sides[side] = D._decorrelate_node(project)
    kind = "inner" if node.kind == "cross" and keep else node.kind
    out: L.LogicalPlan = L.Join(left=sides["left"], right=sides["right"], kind=kind, condition=and_all(keep),
                                null_aware=node.null_aware, hint=node.hint)
    if above:
        out = D._decorrelate_node(L.Filter(input=out, condition=and_all(above)))
    if out.schema != node.schema:
        out = L.Project(input=out, exprs=tuple((c, c.ref()) for c in node.schema))
    return out


def _side_for_uncorrelated(kind: str) -> str:
    """Where a subquery reading neither side goes: a side it may filter, else the left."""
    filterable = _FILTERABLE[kind]
    return filterable[-1] if filterable else "left"


def _as_columns(c: Expr, sides: dict[str, L.LogicalPlan], ids: dict[str, set[int]],
                added: dict[str, list[tuple[Column, Expr]]], kind: str) -> Expr:
    """``c`` with each subquery replaced by a column to be computed on the side it reads."""
    from planner.rules import decorrelate as D

    def fn(x: Expr) -> Expr | None:
        if not isinstance(x, SUBQUERIES):
            return None
        reads = column_ids(x)
        uses = [side for side in ("left", "right") if reads & ids[side]]
        if len(uses) == 2:
            raise D.DecorrelationError(
                f"a subquery in the ON condition of a {kind.upper()} JOIN that reads columns of both sides "
                "is not supported (it is for inner joins; or compute it in a subquery of one side)")
        side = uses[0] if uses else "left"
        column = Column(D._fresh_id(sides["left"], sides["right"]), "_sub", x.type)
        added[side].append((column, x))
        ids[side].add(column.id)
        return column.ref()

    return transform(c, fn)
