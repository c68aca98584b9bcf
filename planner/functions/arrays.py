"""Spark's array functions Hive users reach for: array_distinct, array_union,
array_intersect, array_except, array_max, array_min, array_position, array_remove,
array_join, flatten, sequence, slice, cardinality.

Every kernel works on the flattened values of a whole batch of arrays: each value's
row and position come from the list offsets, set operations compare (row, value) keys
built from one dictionary encoding of the values, and the answers are rebuilt as new
offsets over the kept values. No Python loop runs per row or per element.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.collections import _size
from planner.functions.dates import _add_months
from planner.functions.registry import (
    FunctionError,
    Value,
    check_argument,
    register,
    sig,
)
from planner.functions.vectors import as_array, broadcast, restore


def _flat(lists: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """(offsets from 0, each value's row, each value's 0-based position, the values)."""
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    start = int(offsets[0])
    offsets = offsets - start
    rows = np.repeat(np.arange(len(lists)), np.diff(offsets))
    values = lists.values.slice(start, int(offsets[-1]))
    return offsets, rows, np.arange(int(offsets[-1])) - offsets[:-1][rows], values


def _rebuild(values: pa.Array, rows: np.ndarray, keep: np.ndarray, n: int, nulls: np.ndarray) -> pa.Array:
    """A list array of the ``keep`` values (in their order) of each of ``n`` rows."""
    kept_rows = rows[keep]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(kept_rows, minlength=n))]).astype(np.int32)
    kept = pc.take(values, pa.array(np.nonzero(keep)[0] if keep.dtype == bool else keep))
    return pa.ListArray.from_arrays(pa.array(offsets), kept, mask=pa.array(nulls))


def _codes(*values: pa.Array) -> list[np.ndarray]:
    """Equal values get equal codes across all of ``values`` (NULL is a value too, as
    Spark's set functions treat it)."""
    joined = pa.concat_arrays([v.cast(values[0].type) for v in values])
    codes = np.asarray(pc.dictionary_encode(joined, null_encoding="encode").indices, dtype=np.int64)
    out, at = [], 0
    for v in values:
        out.append(codes[at:at + len(v)])
        at += len(v)
    return out


def _first_of_each(key: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Mask of the candidate values that are the first of their key."""
    keep = np.zeros(len(key), bool)
    idx = np.nonzero(candidates)[0]
    _, first = np.unique(key[idx], return_index=True)
    keep[idx[first]] = True
    return keep


def _nulls(*arrays: pa.Array) -> np.ndarray:
    out = np.zeros(len(arrays[0]), bool)
    for a in arrays:
        out |= np.asarray(pc.is_null(a), dtype=bool)
    return out


def _array_distinct(a: Value) -> Value:
    """The distinct values of each array, in order of first appearance."""
    (arr,), scalar = broadcast(a)
    _, rows, _, values = _flat(arr)
    (codes,) = _codes(values)
    key = rows * (int(codes.max(initial=0)) + 1) + codes
    keep = _first_of_each(key, np.ones(len(key), bool))
    return restore(_rebuild(values, rows, keep, len(arr), _nulls(arr)), scalar)


def _set_operation(a: Value, b: Value, kind: str) -> Value:
    """union: distinct values of a then b; intersect: distinct values of a also in b;
    except: distinct values of a not in b. NULL when either array is NULL (Spark)."""
    (x, y), scalar = broadcast(a, b)
    n = len(x)
    _, rows_x, pos_x, values_x = _flat(x)
    _, rows_y, pos_y, values_y = _flat(y)
    codes_x, codes_y = _codes(values_x, values_y)
    width = int(max(codes_x.max(initial=0), codes_y.max(initial=0))) + 1
    key_x, key_y = rows_x * width + codes_x, rows_y * width + codes_y
    nulls = _nulls(x, y)
    if kind == "union":
        rows = np.concatenate([rows_x, rows_y])
        order = np.lexsort((np.concatenate([pos_x, pos_y]), np.r_[np.zeros(len(rows_x)), np.ones(len(rows_y))],
                            rows))
        values = pc.take(pa.concat_arrays([values_x, values_y.cast(values_x.type)]), pa.array(order))
        key = np.concatenate([key_x, key_y])[order]
        keep = _first_of_each(key, np.ones(len(key), bool))
        return restore(_rebuild(values, rows[order], keep, n, nulls), scalar)
    present = np.isin(key_x, key_y)
    keep = _first_of_each(key_x, present if kind == "intersect" else ~present)
    return restore(_rebuild(values_x, rows_x, keep, n, nulls), scalar)


def _two_arrays(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 2:
        raise FunctionError(f"expects 2 arguments, got {len(args)}")
    for i, t in enumerate(args):
        check_argument(i, "array", t)
    element = [t.value_type for t in args if pa.types.is_list(t)]
    try:
        common = T.common_type(*element) if len(element) == 2 else (element[0] if element else T.STRING)
    except T.TypeError_ as e:
        raise FunctionError(f"arrays of different types: {e}") from None
    t = pa.list_(T.STRING if common == T.NULL else common)
    return [t, t], t


register("array_distinct", sig("array", result=lambda t: t[0]), _array_distinct)
register("array_union", _two_arrays, lambda a, b: _set_operation(a, b, "union"))
register("array_intersect", _two_arrays, lambda a, b: _set_operation(a, b, "intersect"))
register("array_except", _two_arrays, lambda a, b: _set_operation(a, b, "except"))


def _extreme(a: Value, largest: bool) -> Value:
    """The largest (smallest) non-NULL value of each array; NULL for empty ones."""
    (arr,), scalar = broadcast(a)
    _, rows, _, values = _flat(arr)
    grouped = pa.table({"r": rows, "v": values}).group_by("r").aggregate([("v", "max" if largest else "min")])
    at = np.full(len(arr), -1, np.int64)
    at[np.asarray(grouped.column(0), dtype=np.int64)] = np.arange(grouped.num_rows)
    return restore(pc.take(grouped.column(1), pa.array(at, mask=at < 0)).combine_chunks()
                   if grouped.num_rows else pa.nulls(len(arr), values.type), scalar)


def _element_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 1:
        raise FunctionError(f"expects 1 argument, got {len(args)}")
    check_argument(0, "array", args[0])
    if args[0] == T.NULL:
        return [pa.list_(T.STRING)], T.STRING
    return [args[0]], args[0].value_type


register("array_max", _element_resolve, lambda a: _extreme(a, largest=True))
register("array_min", _element_resolve, lambda a: _extreme(a, largest=False))


def _matches(arr: pa.Array, value: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array]:
    """For each element: its row, position, and whether it equals its row's ``value``."""
    _, rows, positions, values = _flat(arr)
    wanted = pc.take(value, pa.array(rows))
    hit = np.asarray(pc.fill_null(pc.equal(values, wanted), False), dtype=bool)
    return rows, positions, hit, values


def _array_position(a: Value, v: Value) -> Value:
    """1-based position of the first element equal to ``v``, 0 if none (Spark)."""
    (arr, value), scalar = broadcast(a, v)
    rows, positions, hit, _ = _matches(arr, value)
    first = np.full(len(arr), np.iinfo(np.int64).max)
    np.minimum.at(first, rows[hit], positions[hit])
    found = np.where(first == np.iinfo(np.int64).max, 0, first + 1)
    return restore(pa.array(found, T.INT64, mask=_nulls(arr, value)), scalar)


def _array_remove(a: Value, v: Value) -> Value:
    """The array without the elements equal to ``v`` (NULL elements stay)."""
    (arr, value), scalar = broadcast(a, v)
    rows, _, hit, values = _matches(arr, value)
    return restore(_rebuild(values, rows, ~hit, len(arr), _nulls(arr, value)), scalar)


def _array_and_element(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 2:
        raise FunctionError(f"expects 2 arguments, got {len(args)}")
    check_argument(0, "array", args[0])
    element = args[0].value_type if pa.types.is_list(args[0]) else args[1]
    try:
        common = T.common_type(element, args[1])
    except T.TypeError_ as e:
        raise FunctionError(f"argument 2: {e}") from None
    common = T.STRING if common == T.NULL else common
    return [pa.list_(common), common], pa.list_(common)


register("array_position", lambda t: (_array_and_element(t)[0], T.INT64), _array_position)
register("array_remove", _array_and_element, _array_remove)


def _array_join(a: Value, delimiter: Value, null_text: Value | None = None) -> Value:
    """The elements joined by ``delimiter``; NULL elements are skipped, or replaced by
    ``null_text`` when it is given (Spark)."""
    (arr, sep), scalar = broadcast(a, delimiter)
    _, rows, _, values = _flat(arr)
    values = values.cast(T.STRING)
    if null_text is not None:
        values = pc.fill_null(values, pc.take(as_array(null_text, len(arr)), pa.array(rows)))
    keep = np.asarray(pc.is_valid(values), dtype=bool)
    lists = _rebuild(values, rows, keep, len(arr), _nulls(arr))
    return restore(pc.binary_join(lists, sep), scalar)


register("array_join", sig("array", "string", "string", optional=1, result=T.STRING), _array_join)


def _flatten(a: Value) -> Value:
    """The arrays of an array of arrays, concatenated; NULL when one of them is NULL."""
    (arr,), scalar = broadcast(a)
    outer, rows, _, inner = _flat(arr)
    inner_offsets = np.asarray(inner.offsets, dtype=np.int64)
    start = int(inner_offsets[0]) if len(inner_offsets) else 0
    bad = np.asarray(pc.is_null(inner), dtype=bool)
    nulls = _nulls(arr)
    nulls[rows[bad]] = True
    offsets = (inner_offsets - start)[outer].astype(np.int32)
    values = inner.values.slice(start, int(inner_offsets[-1]) - start if len(inner_offsets) else 0)
    return restore(pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(nulls)), scalar)


def _flatten_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 1:
        raise FunctionError(f"expects 1 argument, got {len(args)}")
    t = args[0]
    if not (pa.types.is_list(t) and pa.types.is_list(t.value_type)):
        raise FunctionError(f"argument 1 must be an array of arrays, got {T.type_name(t)}")
    return [t], t.value_type


register("flatten", _flatten_resolve, _flatten)


def _slice(a: Value, start: Value, length: Value) -> Value:
    """``length`` elements from the 1-based ``start`` (negative: counted from the end)."""
    (arr, first, count), scalar = broadcast(a, start, length)
    s = np.asarray(pc.fill_null(first, 1), dtype=np.int64)
    k = np.asarray(pc.fill_null(count, 0), dtype=np.int64)
    if (s == 0).any():
        raise FunctionError("slice: the start must not be 0 (arrays are 1-based)")
    if (k < 0).any():
        raise FunctionError("slice: the length must not be negative")
    offsets, rows, positions, values = _flat(arr)
    lengths = np.diff(offsets)
    begin = np.where(s > 0, s - 1, lengths + s)
    keep = (positions >= begin[rows]) & (positions < (begin + k)[rows]) & (begin[rows] >= 0)
    return restore(_rebuild(values, rows, keep, len(arr), _nulls(arr, first, count)), scalar)


register("slice", sig("array", "int", "int", result=lambda t: t[0]), _slice)
register("cardinality", sig("any", result=T.INT32), _size)


def _sequence(start: Value, stop: Value, step: Value | None = None) -> Value:
    """start, start + step, ... up to stop inclusive (Spark): integers by a number,
    dates by days or months (an interval), timestamps by a day-time interval."""
    (lo, hi), scalar = broadcast(start, stop)
    n = len(lo)
    nulls = _nulls(lo, hi)
    if T.is_integer(lo.type):
        a = np.asarray(pc.fill_null(lo, 0), dtype=np.int64)
        b = np.asarray(pc.fill_null(hi, 0), dtype=np.int64)
        if step is None:
            by = np.where(b >= a, 1, -1)
        else:
            steps = as_array(step, n)
            by = np.asarray(pc.fill_null(steps, 1), dtype=np.int64)
            nulls = nulls | _nulls(steps)
        counts = _counts(a, b, by, nulls)
        rows = np.repeat(np.arange(n), counts)
        k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        values = pa.array(a[rows] + k * by[rows]).cast(lo.type)
        return restore(_rebuild(values, rows, np.ones(len(rows), bool), n, nulls), scalar)
    return restore(_temporal_sequence(lo, hi, step, nulls), scalar)


def _counts(a: np.ndarray, b: np.ndarray, by: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    ok = nulls | ((by > 0) & (a <= b)) | ((by < 0) & (a >= b)) | ((by == 0) & (a == b))
    if not ok.all():
        raise FunctionError("sequence: illegal boundaries (the step must move from start toward stop)")
    with np.errstate(divide="ignore", invalid="ignore"):
        counts = np.where(by == 0, 1, (b - a) // np.where(by == 0, 1, by) + 1)
    return np.where(nulls, 0, counts)


def _temporal_sequence(lo: pa.Array, hi: pa.Array, step: Value | None, nulls: np.ndarray) -> pa.Array:
    n = len(lo)
    interval = pa.MonthDayNano([0, 1, 0]) if step is None else step.as_py() if isinstance(step, pa.Scalar) else None
    if interval is None or not isinstance(step, (pa.Scalar, type(None))):
        raise FunctionError("sequence: the step of dates and timestamps must be a constant interval")
    months, days, nanos = interval.months, interval.days, interval.nanoseconds
    if months and (days or nanos):
        raise FunctionError("sequence: an interval mixing months with days or time is not supported")
    if lo.type == T.DATE and not nanos:
        a = np.asarray(pc.fill_null(lo.cast(T.INT32), 0), dtype=np.int64)
        b = np.asarray(pc.fill_null(hi.cast(T.INT32), 0), dtype=np.int64)
        if months:  # whole months: compare months apart, then add months to the start
            ya = np.asarray(pc.fill_null(pc.year(lo), 0), dtype=np.int64) * 12 + np.asarray(
                pc.fill_null(pc.month(lo), 0), dtype=np.int64)
            yb = np.asarray(pc.fill_null(pc.year(hi), 0), dtype=np.int64) * 12 + np.asarray(
                pc.fill_null(pc.month(hi), 0), dtype=np.int64)
            counts = _counts(ya, yb, np.full(n, months), nulls)
            rows = np.repeat(np.arange(n), counts)
            k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            values = _add_months(pc.take(lo, pa.array(rows)), pa.array(k * months, T.INT32))
            last = np.asarray(values.cast(T.INT32), dtype=np.int64) if len(values) else np.zeros(0, np.int64)
            keep = np.where(months > 0, last <= b[rows], last >= b[rows])
            return _rebuild(values, rows, keep, n, nulls)
        by = np.full(n, days)
        counts = _counts(a, b, by, nulls)
        rows = np.repeat(np.arange(n), counts)
        k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        values = pa.array((a[rows] + k * days).astype(np.int32)).cast(T.DATE)
        return _rebuild(values, rows, np.ones(len(rows), bool), n, nulls)
    if months:
        raise FunctionError("sequence: timestamps step by days or time, not months")
    lo_us = np.asarray(pc.fill_null(lo.cast(T.TIMESTAMP).cast(T.INT64), 0), dtype=np.int64)
    hi_us = np.asarray(pc.fill_null(hi.cast(T.TIMESTAMP).cast(T.INT64), 0), dtype=np.int64)
    by = np.full(n, days * 86_400_000_000 + nanos // 1000)
    counts = _counts(lo_us, hi_us, by, nulls)
    rows = np.repeat(np.arange(n), counts)
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    values = pa.array(lo_us[rows] + k * by[rows]).cast(T.TIMESTAMP)
    return _rebuild(values, rows, np.ones(len(rows), bool), n, nulls)


def _sequence_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) not in (2, 3):
        raise FunctionError(f"expects 2 or 3 arguments, got {len(args)}")
    a, b = args[:2]
    if all(T.is_integer(t) or t == T.NULL for t in (a, b)):
        t = T.common_type(a, b) if T.NULL not in (a, b) else (a if a != T.NULL else b)
        t = T.INT64 if t == T.NULL else t
        if len(args) == 3 and not (T.is_integer(args[2]) or args[2] == T.NULL):
            raise FunctionError(f"argument 3 must be an integer, got {T.type_name(args[2])}")
        return [t, t] + ([T.INT64] if len(args) == 3 else []), pa.list_(t)
    if all(T.is_temporal(t) or T.is_string(t) for t in (a, b)):
        t = T.DATE if a == b == T.DATE or (T.DATE in (a, b) and not any(pa.types.is_timestamp(x) for x in (a, b))) \
            else T.TIMESTAMP
        if len(args) == 3 and args[2] != T.INTERVAL:
            raise FunctionError(f"argument 3 must be an interval, got {T.type_name(args[2])}")
        return [t, t] + ([T.INTERVAL] if len(args) == 3 else []), pa.list_(t)
    raise FunctionError(f"expects integers, dates or timestamps, got {T.type_name(a)} and {T.type_name(b)}")


register("sequence", _sequence_resolve, _sequence)
