"""Arithmetic operators (+ - * / % DIV, pmod, unary minus) with Hive's decimal rules."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.casts import decimal_to_double
from planner.functions.registry import (
    FunctionError,
    Value,
    register,
    same_as_first,
)


def _zero_to_null(b: Value) -> Value:
    if isinstance(b, pa.Scalar):
        return b if (not b.is_valid or b.as_py() != 0) else pa.scalar(None, b.type)
    # a zero of b's own type: casting an int64 zero to a narrow decimal fails Arrow's
    # precision check (decimal(2,1) cannot hold every int64)
    zero = pa.scalar(Decimal(0) if T.is_decimal(b.type) else 0, b.type)
    return pc.if_else(pc.equal(b, zero), pa.scalar(None, b.type), b)


def _decimal_fix(v: Value, t: pa.DataType) -> Value:
    if v.type == t:
        return v
    if T.is_decimal(v.type) and T.is_decimal(t) and v.type.scale > t.scale:
        v = pc.round(v, ndigits=t.scale, round_mode="half_towards_infinity")
    return pc.cast(v, t, safe=False) if T.is_decimal(t) and T.is_decimal(v.type) else pc.cast(v, t)


def _narrow_for_multiply(a: Value, b: Value) -> tuple[Value, Value]:
    """Arrow's decimal product needs p1 + p2 + 1 <= 38 digits; narrow the wider operand
    (a checked cast: it fails, and we fall back, only if a value does not fit)."""
    ta, tb = a.type, b.type
    if not (T.is_decimal(ta) and T.is_decimal(tb)) or ta.precision + tb.precision + 1 <= 38:
        return a, b
    if ta.precision >= tb.precision:
        p = max(38 - tb.precision - 1, ta.scale + 1)
        return pc.cast(a, pa.decimal128(p, ta.scale)), b
    p = max(38 - ta.precision - 1, tb.scale + 1)
    return a, pc.cast(b, pa.decimal128(p, tb.scale))


def arith_kernel(op: str) -> Any:
    fn = {"add": pc.add, "subtract": pc.subtract, "multiply": pc.multiply}[op]

    def k(a: Value, b: Value, *, result: pa.DataType) -> Value:
        if T.is_decimal(result):
            try:
                if op == "multiply":
                    a, b = _narrow_for_multiply(a, b)
                return _decimal_fix(fn(a, b), result)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return _decimal_fix(fn(pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64)), result)
        if T.is_floating(result):  # DECIMAL beside DOUBLE: the decimal correctly rounded first
            a, b = _as_double(a), _as_double(b)
        out = fn(a, b)
        return out if out.type == result else pc.cast(out, result)
    return k


def _as_double(v: Value) -> Value:
    return decimal_to_double(v) if T.is_decimal(v.type) else v


def _widen_dividend(a: Value, b: Value, scale: int) -> Value:
    """``a`` with enough extra scale that Arrow's decimal quotient (whose scale is
    max(4, s1 + p2 - s2 + 1), and whose digits beyond it are truncated) carries one digit
    more than ``scale``: rounding to the SQL result type then rounds, and never pads digits
    Arrow did not compute (1 / 7.5 is 0.133333, not 0.133300)."""
    ta, tb = a.type, b.type
    if T.is_integer(ta):
        a = pc.cast(a, pa.decimal128(19 if ta.bit_width == 64 else 10, 0))
        ta = a.type
    if not (T.is_decimal(ta) and T.is_decimal(tb)):
        return a
    missing = (scale + 1) - (ta.scale + tb.precision - tb.scale + 1)
    if missing <= 0 or ta.precision + missing > 38:
        return a
    return pc.cast(a, pa.decimal128(ta.precision + missing, ta.scale + missing))


def divide_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    b = _zero_to_null(b)
    if T.is_decimal(result):
        try:
            return _decimal_fix(pc.divide(_widen_dividend(a, b, result.scale), b), result)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _decimal_fix(pc.divide(pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64)), result)
    return pc.divide(pc.cast(_as_double(a), T.FLOAT64), pc.cast(_as_double(b), T.FLOAT64))


def _decimal_remainder(a: Value, b: Value, t: pa.DataType) -> Value:
    """Exact ``a - trunc(a / b) * b`` for decimals of type ``t`` (sign of the dividend,
    as Java's). Arrow's decimal division widens past 38 digits for wide types, so the
    quotient comes from floats: the first pass leaves a remainder exact but possibly off
    by a few multiples of ``b`` (the float quotient's rounding), the second pass is exact
    on that small remainder, and a last step moves it to the dividend's sign."""
    quotient_type = pa.decimal128(max(1, 37 - t.precision), 0)
    fb = pc.cast(b, T.FLOAT64)
    r = a
    for _ in range(2):
        q = pc.cast(pc.trunc(pc.divide(pc.cast(r, T.FLOAT64), fb)), quotient_type)
        r = pc.cast(pc.subtract(r, pc.cast(pc.multiply(q, b), t)), t)
    zero = pa.scalar(Decimal(0), t)
    abs_b = pc.cast(pc.abs(b), t)
    r = pc.if_else(pc.and_(pc.greater(a, zero), pc.less(r, zero)), pc.cast(pc.add(r, abs_b), t), r)
    r = pc.if_else(pc.and_(pc.less(a, zero), pc.greater(r, zero)), pc.cast(pc.subtract(r, abs_b), t), r)
    return r


def _wide_decimal_remainder(a: Value, b: Value, t: pa.DataType) -> Value:
    """The remainder of decimals too wide for Arrow's 38-digit intermediate products:
    computed exactly with Python's decimal module, value by value. Only quotients of over
    ~18 digits get here (a rare, never a TPC-H, case); exact beats vectorized."""
    if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
        x, y = a.as_py(), b.as_py()
        with localcontext() as ctx:
            ctx.prec = 80
            return pa.scalar(None if x is None or y is None or y == 0 else x % y, t)
    n = len(a) if not isinstance(a, pa.Scalar) else len(b)
    xs = [a.as_py()] * n if isinstance(a, pa.Scalar) else a.to_pylist()
    ys = [b.as_py()] * n if isinstance(b, pa.Scalar) else b.to_pylist()
    with localcontext() as ctx:
        ctx.prec = 80
        out = [None if x is None or y is None or y == 0 else x % y for x, y in zip(xs, ys)]
    return pc.cast(pa.array(out), t)


def mod_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    b = _zero_to_null(b)
    if T.is_floating(result):
        a, b = pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64)
        q = pc.trunc(pc.divide(a, b))
        return pc.subtract(a, pc.multiply(q, b))
    if T.is_decimal(result):
        try:
            return _decimal_remainder(pc.cast(a, result), pc.cast(b, result), result)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _wide_decimal_remainder(a, b, result)
    # integers: sign follows the dividend (Java semantics)
    q = pc.divide(a, b)  # integer division truncates toward zero in Arrow
    return pc.cast(pc.subtract(a, pc.multiply(q, b)), result)


def int_div_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    b = _zero_to_null(b)
    if T.is_integer(a.type) and T.is_integer(b.type):
        return pc.cast(pc.divide(a, b), result)
    return pc.cast(pc.trunc(pc.divide(pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64))), result)


def arith_resolve(op: str) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        a, b = args
        if op in ("+", "-") and (T.is_temporal(a) or T.is_temporal(b)):
            raise FunctionError("use date_add/date_sub or intervals for date arithmetic")
        res = T.arithmetic_type(op, a, b)
        if T.is_decimal(res) and op != "/" or (op == "/" and T.is_decimal(res)):
            want = [T.as_decimal(x) if not T.is_string(x) and x != T.NULL else res for x in (a, b)]
        elif T.is_floating(res) or op == "/":
            want = [T.FLOAT64, T.FLOAT64]
        else:
            want = [res, res]
        return want, res
    return r


def _bind_result(kernel: Any) -> Any:
    return kernel  # kernels taking result= receive it from the evaluator


register("add", arith_resolve("+"), arith_kernel("add"), takes_result=True)
register("subtract", arith_resolve("-"), arith_kernel("subtract"), takes_result=True)
register("multiply", arith_resolve("*"), arith_kernel("multiply"), takes_result=True)
register("divide", arith_resolve("/"), divide_kernel, takes_result=True)
register("mod", arith_resolve("%"), mod_kernel, takes_result=True)


def pmod_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    """Hive's pmod: the remainder taken positive, ((a % b) + b) % b."""
    shifted = arith_kernel("add")(mod_kernel(a, b, result=result), b, result=result)
    return mod_kernel(shifted, b, result=result)


register("pmod", arith_resolve("%"), pmod_kernel, takes_result=True)


def _int_div_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    a, b = args
    if T.is_integer(a) and T.is_integer(b):
        t = T.common_type(a, b)
        return [t, t], T.INT64
    return [a, b], T.INT64


register("int_div", _int_div_resolve, int_div_kernel, takes_result=True)
register("negate", same_as_first(1, numeric=True), lambda a: pc.negate(a))
register("positive", same_as_first(1, numeric=True), lambda a: a)
