"""Translate bound expressions to ``pyarrow.compute.Expression`` where Arrow can run them
(scan predicates handed to ``ScanSource``, residual join filters handed to Acero)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.expressions import Call, Cast, ColumnRef, Expr, Literal

_BIN = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater",
        "ge": "greater_equal", "and": "and_kleene", "or": "or_kleene", "add": "add",
        "subtract": "subtract", "multiply": "multiply"}


def to_pc(e: Expr, name_of: Callable[[ColumnRef], str | None] = lambda r: r.column.key) -> pc.Expression | None:
    """The Arrow expression for ``e``, or None when it uses something Arrow lacks."""
    match e:
        case ColumnRef():
            n = name_of(e)
            return None if n is None else pc.field(n)
        case Literal():
            if e.type == T.INTERVAL:
                return None
            return pc.scalar(pa.scalar(e.value, e.type if e.type != T.NULL else None))
        case Cast():
            inner = to_pc(e.arg, name_of)
            if inner is None or not (T.is_numeric(e.type) and T.is_numeric(e.arg.type)):
                return None
            if T.is_decimal(e.arg.type) and T.is_floating(e.type):
                return None  # Arrow's cast rounds 4.35 to 4.3500000000000005; the evaluator's does not
            return inner.cast(e.type)
        case Call(name=name) if e.udf is None and name in _BIN:
            if any(x.type == T.NULL for x in e.args):
                return None  # Arrow has no kernels over the untyped null: the evaluator answers NULL
            a, b = (to_pc(x, name_of) for x in e.args)
            if a is None or b is None:
                return None
            if name in ("add", "subtract", "multiply") and T.is_decimal(e.type):
                return None
            return pc.Expression._call(_BIN[name], [a, b])
        case Call(name="not"):
            a = to_pc(e.args[0], name_of)
            return None if a is None else pc.Expression._call("invert", [a])
        case Call(name="is_null"):
            a = to_pc(e.args[0], name_of)
            return None if a is None else a.is_null()
        case Call(name="is_not_null"):
            a = to_pc(e.args[0], name_of)
            return None if a is None else a.is_valid()
        case Call(name="in_list"):
            a = to_pc(e.args[0], name_of)
            vals = [x.value for x in e.args[1:] if isinstance(x, Literal)]
            if a is None or None in vals or len(vals) != len(e.args) - 1:
                return None
            return a.isin(pa.array(vals, e.args[0].type))
        case Call(name="like"):
            a = to_pc(e.args[0], name_of)
            p = e.args[1]
            if a is None or not isinstance(p, Literal) or p.value is None:
                return None
            return pc.Expression._call("match_like", [a], pc.MatchSubstringOptions(p.value))
    return None
