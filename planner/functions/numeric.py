"""Mathematical functions (abs, sqrt, logarithms, rounding, floor/ceil, rand)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    Value,
    fixed,
    register,
    same_as_first,
    sig,
)
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
