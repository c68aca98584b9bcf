"""Mathematical functions (abs, sqrt, logarithms, rounding, floor/ceil, rand)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    fixed,
    register,
    same_as_first,
    sig,
)
from planner.functions.vectors import broadcast, restore
from rdd import TaskContext

register("abs", same_as_first(1, numeric=True), lambda a: pc.abs(a))
register("sign signum", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.cast(pc.sign(a), T.FLOAT64))
register("sqrt", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.sqrt(a))
register("exp", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.exp(a))
register("ln", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.ln(a))
register("log10", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.log10(a))
register("log2", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.log2(a))
register("pow power", fixed([T.FLOAT64, T.FLOAT64], T.FLOAT64), lambda a, b: pc.power(a, b))


#: The random stream of each running task and seed: rand(seed) continues one stream
#: over all the batches of a task's partition (dropped when the task ends).
_STREAMS: dict[tuple[int, int], np.random.Generator] = {}


def _stream(seed: int) -> np.random.Generator:
    """The generator rand(seed) draws from: seeded by (seed, partition), so a query over
    the same partitions gives the same numbers every time (as Spark's rand(seed); Hive's
    is java.util.Random(seed) per task). Outside a task (a constant query) a fresh one."""
    tc = TaskContext.get()
    if tc is None:
        return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, 0])
    key = (tc.task_attempt_id, seed)
    generator = _STREAMS.get(key)
    if generator is None:
        generator = _STREAMS[key] = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, tc.partition_id])
        tc.addTaskCompletionListener(lambda _tc: _STREAMS.pop(key, None))
    return generator


def _rand(seed: Value | None = None, *, rows: int) -> Value:
    """Uniform doubles in [0, 1), one per row; with a seed, repeatable (a NULL seed is 0,
    as Hive's; a column seed uses its first value, as Hive's UDFRand)."""
    if seed is None:
        return pa.array(np.random.default_rng().random(rows))
    first = seed if isinstance(seed, pa.Scalar) else (seed[0] if len(seed) else pa.scalar(None, T.INT64))
    return pa.array(_stream(first.as_py() or 0).random(rows))


register("rand random", sig("int", optional=1, result=T.FLOAT64), _rand, deterministic=False, takes_rows=True)


def _log(b: Value, x: Value | None = None) -> Value:
    if x is None:
        return pc.ln(b)
    return pc.divide(pc.ln(x), pc.ln(b))


register("log", lambda a: ([T.FLOAT64] * len(a), T.FLOAT64), _log)


def _round_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if T.is_string(t) or t == T.NULL:
        t = T.FLOAT64
    return [t] + [T.INT32] * (len(args) - 1), t


def _round(a: Value, d: Value | None = None) -> Value:
    nd = 0 if d is None else d.as_py()
    if T.is_integer(a.type):
        if nd >= 0:
            return a
        return pc.cast(pc.round(pc.cast(a, T.FLOAT64), ndigits=nd, round_mode="half_towards_infinity"), a.type)
    r = pc.round(a, ndigits=nd, round_mode="half_towards_infinity")
    return r


def _round_result_type(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    return _round_resolve(args)


register("round", _round_resolve, _round)
register("bround", _round_resolve, lambda a, d=None: pc.round(a, ndigits=0 if d is None else d.as_py(),
                                                           round_mode="half_to_even"))


def _floor_ceil(fn: Any) -> Any:
    def k(a: Value) -> Value:
        if T.is_integer(a.type):
            return pc.cast(a, T.INT64)
        return pc.cast(fn(pc.cast(a, T.FLOAT64) if T.is_decimal(a.type) else a), T.INT64)
    return k


register("floor", fixed([None], T.INT64), _floor_ceil(pc.floor))
register("ceil ceiling", fixed([None], T.INT64), _floor_ceil(pc.ceil))


# ---------------------------------------------------------------- constants and more functions

register("e", sig(result=T.FLOAT64), lambda: pa.scalar(math.e))
register("pi", sig(result=T.FLOAT64), lambda: pa.scalar(math.pi))


def _numpy_unary(fn: Any) -> Any:
    """A numpy ufunc as a kernel over float64 arrays or scalars (NULL stays NULL)."""
    def k(x: Value) -> Value:
        (arr,), scalar = broadcast(x)
        values = np.asarray(pc.fill_null(arr, 0.0), dtype=np.float64)
        return restore(pa.array(fn(values), mask=np.asarray(pc.is_null(arr), dtype=bool)), scalar)
    return k


register("cbrt", sig("double", result=T.FLOAT64), _numpy_unary(np.cbrt))
register("degrees", sig("double", result=T.FLOAT64), lambda x: pc.multiply(x, pa.scalar(180.0 / math.pi)))
register("radians", sig("double", result=T.FLOAT64), lambda x: pc.multiply(x, pa.scalar(math.pi / 180.0)))

#: n! for n in 0..20 (Hive: NULL outside, where a bigint overflows)
_FACTORIALS = pa.array([math.factorial(n) for n in range(21)], T.INT64)


def _factorial(n: Value) -> Value:
    in_range = pc.and_(pc.greater_equal(n, 0), pc.less_equal(n, 20))
    index = pc.if_else(in_range, n, pa.scalar(None, T.INT32))
    if isinstance(index, pa.Scalar):
        return _FACTORIALS[index.as_py()] if index.is_valid else pa.scalar(None, T.INT64)
    return pc.take(_FACTORIALS, index)


register("factorial", sig("int32", result=T.INT64), _factorial)


def _trunc_number(x: Value, digits: Value) -> Value:
    """Hive 3's trunc(number, d): toward zero, to d decimals (d < 0: tens, hundreds...)."""
    d = digits.as_py() if isinstance(digits, pa.Scalar) else None
    if d is None:
        raise FunctionError("trunc: the number of decimals must be a constant")
    if T.is_integer(x.type):
        if d >= 0:
            return x
        step = 10 ** -d
        return pc.multiply(pc.divide(x, pa.scalar(step, x.type)), pa.scalar(step, x.type))
    return pc.round(x, ndigits=d, round_mode="towards_zero")


def _trunc_number_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if not (T.is_numeric(t) or T.is_string(t) or t == T.NULL):
        raise FunctionError(f"argument 1 must be a number or a date, got {T.type_name(t)}")
    t = T.FLOAT64 if not T.is_numeric(t) else t
    return [t, T.INT32], t


register("trunc_number", _trunc_number_resolve, _trunc_number)
