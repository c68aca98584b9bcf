"""Quantified comparisons, ``x > ALL (subquery)`` and ``x = ANY | SOME (subquery)``,
rewritten before binding into what the planner already runs.

``= ANY`` is ``IN`` and ``<> ALL`` is ``NOT IN``. The other forms compare ``x`` with the
subquery's minimum or maximum; SQL's three-valued answer then also needs to know whether
the subquery returned rows and whether any of them was NULL, so the rewrite is a CASE
over three scalar subqueries (each decorrelated into a join like any other):

    x > ANY (q)  →  CASE WHEN count(*) = 0 THEN FALSE  WHEN x IS NULL THEN NULL
                         WHEN x > min(v) THEN TRUE     WHEN count(v) < count(*) THEN NULL
                         ELSE FALSE END
    x > ALL (q)  →  CASE WHEN count(*) = 0 THEN TRUE   WHEN x IS NULL THEN NULL
                         WHEN x <= max(v) THEN FALSE   WHEN count(v) < count(*) THEN NULL
                         ELSE TRUE END
"""

from __future__ import annotations

from sqlglot import exp

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_GREATER = (exp.GT, exp.GTE)


def is_quantified(node: exp.Expression) -> bool:
    return isinstance(node, _COMPARISONS) and isinstance(node.expression, (exp.Any, exp.All))


def _query(quantifier: exp.Expression) -> exp.Expression:
    q = quantifier.this
    return q.this if isinstance(q, exp.Subquery) else q


def _aggregate_of(query: exp.Expression, fn: str, *, rows: bool = False) -> exp.Expression:
    """``(SELECT fn(v) …)`` over the subquery's single column ``v``, or ``fn(*)`` with
    ``rows``.

    A plain SELECT gets the aggregate in place of its expression, so that a correlated
    subquery stays correlated in the same way (DISTINCT and ORDER BY change neither
    emptiness, NULLs nor extremes); anything else is wrapped as a derived table."""
    plain = (isinstance(query, exp.Select) and len(query.expressions) == 1
             and not any(query.args.get(k) for k in ("group", "having", "limit", "offset", "qualify"))
             and not query.expressions[0].find(exp.AggFunc, exp.Window))
    if plain:
        inner = query.copy()
        value = inner.expressions[0].unalias()
        inner.set("expressions", [exp.func(fn, exp.Star() if rows else value)])
        inner.set("distinct", None)
        inner.set("order", None)
        return exp.Subquery(this=inner)
    derived = exp.Subquery(this=query.copy(), alias=exp.TableAlias(
        this=exp.to_identifier("__quantified"), columns=[exp.to_identifier("__value")]))
    arg = exp.Star() if rows else exp.column("__value")
    return exp.Subquery(this=exp.select(exp.func(fn, arg)).from_(derived))


def rewrite(node: exp.Expression) -> exp.Expression:
    """The rewritten form of a quantified comparison (see the module docstring)."""
    quantifier = node.expression
    every = isinstance(quantifier, exp.All)
    query = _query(quantifier)
    x = node.this
    if isinstance(node, exp.EQ) and not every:
        return exp.In(this=x.copy(), query=exp.Subquery(this=query.copy()))
    if isinstance(node, exp.NEQ) and every:
        return exp.Not(this=exp.In(this=x.copy(), query=exp.Subquery(this=query.copy())))
    rows = _aggregate_of(query, "count", rows=True)
    values = _aggregate_of(query, "count")
    low, high = _aggregate_of(query, "min"), _aggregate_of(query, "max")
    if isinstance(node, (exp.EQ, exp.NEQ)):
        # = ALL fails, <> ANY holds, as soon as one value differs from x
        differs = exp.or_(exp.NEQ(this=x.copy(), expression=low), exp.NEQ(this=x.copy(), expression=high))
        decisive = differs
    else:
        # > ANY holds if x beats the smallest; > ALL fails unless x beats the largest
        extreme = (high if every else low) if isinstance(node, _GREATER) else (low if every else high)
        beats = type(node)(this=x.copy(), expression=extreme)
        decisive = exp.Not(this=exp.Paren(this=beats)) if every else beats
    empty_answer, decisive_answer = (exp.true(), exp.false()) if every else (exp.false(), exp.true())
    return exp.Case(ifs=[
        exp.If(this=exp.EQ(this=rows, expression=exp.Literal.number(0)), true=empty_answer),
        exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=exp.Null()),
        exp.If(this=decisive, true=decisive_answer),
        exp.If(this=exp.LT(this=values, expression=rows.copy()), true=exp.Null()),
    ], default=exp.false() if not every else exp.true())
