"""Evaluate bound expressions over a whole Arrow batch with pyarrow.compute."""

from __future__ import annotations

from typing import assert_never

import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.expressions import (AggCall, Call, Case, Cast, ColumnRef, Exists, Expr, InSubquery,
                                 Literal, ScalarSubquery, WindowCall)
from planner.functions import SCALARS, Value, cast_kernel

class EvaluationError(Exception):
    pass


def literal_scalar(e: Literal) -> pa.Scalar:
    if e.type == T.NULL:
        return pa.scalar(None, T.NULL)
    return pa.scalar(e.value, e.type)


def evaluate(e: Expr, batch: pa.RecordBatch | pa.Table, memo: dict | None = None) -> Value:
    """``memo`` (one per batch) shares common subexpressions between the expressions of
    one projection: ``price * (1 - disc)`` is computed once for both Q1 sums."""
    if memo is not None and isinstance(e, (Call, Case, Cast)):
        hit = memo.get(e)
        if hit is not None:
            return hit
        out = _evaluate(e, batch, memo)
        memo[e] = out
        return out
    return _evaluate(e, batch, memo)


def _evaluate(e: Expr, batch: pa.RecordBatch | pa.Table, memo: dict | None) -> Value:
    match e:
        case ColumnRef():
            return batch.column(e.column.key)
        case Literal():
            return literal_scalar(e)
        case Call():
            if e.udf is not None:
                args = [to_array(evaluate(a, batch), batch.num_rows) for a in e.args]
                out = e.udf(*args)
                out = out if isinstance(out, (pa.Array, pa.ChunkedArray)) else pa.array(out, e.type)
                return out.cast(e.type) if out.type != e.type else out
            if e.name == "and" or e.name == "or":
                return _logic(e, batch)
            f = SCALARS[e.name]
            args = [evaluate(a, batch, memo) for a in e.args]
            extra = {"result": e.type} if f.takes_result else {}
            if f.takes_rows:
                extra["rows"] = batch.num_rows
            out = f.impl(*args, **extra)
            if out.type != e.type and e.type != T.NULL:
                out = cast_kernel(out, e.type)
            return out
        case Case():
            return _case(e, batch)
        case Cast():
            return cast_kernel(evaluate(e.arg, batch, memo), e.type)
        case AggCall() | WindowCall() | ScalarSubquery() | Exists() | InSubquery():
            raise EvaluationError(f"{type(e).__name__} must be planned before execution: {e}")
        case _:
            assert_never(e)


def _logic(e: Call, batch: pa.RecordBatch | pa.Table) -> Value:
    a = evaluate(e.args[0], batch)
    # Short-circuit on constant left operands (common after constant folding).
    if isinstance(a, pa.Scalar) and a.is_valid:
        if e.name == "and" and not a.as_py():
            return pa.scalar(False)
        if e.name == "or" and a.as_py():
            return pa.scalar(True)
    b = evaluate(e.args[1], batch)
    return pc.and_kleene(a, b) if e.name == "and" else pc.or_kleene(a, b)


def _case(e: Case, batch: pa.RecordBatch | pa.Table) -> Value:
    n = batch.num_rows
    conds = [to_array(pc.fill_null(evaluate(c, batch), False), n, T.BOOL) for c, _ in e.whens]
    vals = [to_array(_cast_to(evaluate(v, batch), e.type), n, e.type) for _, v in e.whens]
    default = to_array(_cast_to(evaluate(e.default, batch), e.type), n, e.type)
    if n == 0:
        return pa.array([], e.type)
    if len(conds) == 1:
        return pc.if_else(conds[0], vals[0], default)
    names = [f"w{i}" for i in range(len(conds))]
    return pc.case_when(pc.make_struct(*conds, field_names=names), *vals, default)


def _cast_to(v: Value, t: pa.DataType) -> Value:
    return v if v.type == t else cast_kernel(v, t)


def to_array(v: Value, n: int, type_: pa.DataType | None = None) -> pa.Array:
    if isinstance(v, pa.Scalar):
        t = type_ or v.type
        if not v.is_valid:
            return pa.nulls(n, t)
        if v.type != t:
            v = v.cast(t)
        return pa.repeat(v, n) if hasattr(pa, "repeat") else pa.array([v.as_py()] * n, t)
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    if type_ is not None and v.type != type_:
        v = cast_kernel(v, type_)
    return v


def evaluate_array(e: Expr, batch: pa.RecordBatch | pa.Table, memo: dict | None = None) -> pa.Array:
    return to_array(evaluate(e, batch, memo), batch.num_rows, e.type if e.type != T.NULL else None)


def evaluate_predicate(e: Expr, batch: pa.RecordBatch) -> pa.RecordBatch:
    mask = evaluate(e, batch)
    if isinstance(mask, pa.Scalar):
        return batch if (mask.is_valid and mask.as_py()) else batch.slice(0, 0)
    return batch.filter(mask, null_selection_behavior="drop")
