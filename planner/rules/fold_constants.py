"""Constant folding and boolean simplification of expressions.

>>> # WHERE d >= DATE '1998-12-01' - INTERVAL '90' DAY  →  d >= DATE '1998-09-02'
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from planner import logical as L
from planner import types as T
from planner.expressions import (FALSE, TRUE, AggCall, Call, Case, Cast, Expr, Literal, WindowCall,
                                 transform_up)
from planner.functions import SCALARS

_EMPTY = pa.record_batch([pa.array([None], pa.null())], names=["_"])


def _is_lit(e: Expr) -> bool:
    return isinstance(e, Literal)


def _eval_literal(e: Expr) -> Literal | None:
    from planner.evaluate import evaluate
    try:
        v = evaluate(e, _EMPTY)
    except Exception:  # a kernel that fails on constants is left for run time (e.g. 1/0 → NULL)
        return None
    if isinstance(v, (pa.Array, pa.ChunkedArray)):
        if len(v) != 1:
            return None
        v = v[0]
    if pa.types.is_nested(e.type) or pa.types.is_nested(v.type):
        return None  # literals hold scalars only; nested values stay computed
    if v.type != e.type and e.type != T.NULL:
        try:
            v = v.cast(e.type)
        except Exception:
            return None
    return Literal(v.as_py(), e.type)


def _simplify(e: Expr) -> Expr:
    match e:
        case Call(name="and", args=(a, b)):
            if a == TRUE:
                return b
            if b == TRUE:
                return a
            if a == FALSE or b == FALSE:
                return FALSE
            if a == b:
                return a
        case Call(name="or", args=(a, b)):
            if a == FALSE:
                return b
            if b == FALSE:
                return a
            if a == TRUE or b == TRUE:
                return TRUE
            if a == b:
                return a
        case Call(name="not", args=(Call(name="not", args=(x,)),)):
            return x
        case Case():
            whens = []
            for c, v in e.whens:
                if c == FALSE or (isinstance(c, Literal) and c.value is None):
                    continue
                if c == TRUE and not whens:
                    return v
                whens.append((c, v))
                if c == TRUE:
                    return Case(tuple(whens[:-1]), v, e.type) if whens[:-1] else v
            if not whens:
                return e.default
            if len(whens) != len(e.whens):
                return Case(tuple(whens), e.default, e.type)
    return e


def fold_expr(e: Expr) -> Expr:
    def fn(x: Expr) -> Expr:
        x = _simplify(x)
        match x:
            case Call() if x.udf is None and x.name in SCALARS and SCALARS[x.name].deterministic \
                    and all(_is_lit(a) for a in x.args):
                return _eval_literal(x) or x
            case Cast() if _is_lit(x.arg):
                return _eval_literal(x) or x
            case Case() if all(_is_lit(c) and _is_lit(v) for c, v in x.whens) and _is_lit(x.default):
                return _eval_literal(x) or x
            case AggCall() | WindowCall():
                return x
        return x
    return transform_up(e, fn)


def fold_constants(node: L.LogicalPlan) -> L.LogicalPlan:
    """Fold every expression of ``node``; drop filters that are always true."""
    match node:
        case L.Filter():
            c = fold_expr(node.condition)
            if c == TRUE:
                return node.input
            return node if c is node.condition else replace(node, condition=c)
        case L.Project():
            exprs = tuple((col, fold_expr(x)) for col, x in node.exprs)
            if all(a[1] is b[1] for a, b in zip(exprs, node.exprs)):
                return node
            return replace(node, exprs=exprs)
        case L.Join() if node.condition is not None:
            c = fold_expr(node.condition)
            if c is node.condition:
                return node
            if c == TRUE:
                c = None
            return replace(node, condition=c, kind="cross" if c is None and node.kind == "inner" else node.kind)
        case L.Sort():
            return node
    return node
