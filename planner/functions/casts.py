"""CAST with Hive's semantics: NULL when a value does not convert."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import Value


def _cast_kernel(a: Value, target: pa.DataType) -> Value:
    """Hive CAST: NULL when the value does not convert."""
    src = a.type
    if src == target:
        return a
    if src == T.NULL:
        return pa.nulls(len(a), target) if isinstance(a, pa.Array) else pa.scalar(None, target)
    if T.is_decimal(src) and T.is_floating(target):
        return pc.cast(decimal_to_double(a), target)
    if T.is_string(src) and (T.is_numeric(target) or T.is_temporal(target) or target == T.BOOL):
        s = pc.utf8_trim_whitespace(a)
        if T.is_integer(target):
            # Hive truncates '1.5' to 1 for integral casts
            f = _safe_cast_str(s, T.FLOAT64)
            return pc.cast(pc.trunc(f), target, safe=False)
        if T.is_decimal(target):
            # Hive rounds '123.456' to DECIMAL(5,2)'s 123.46: parse with every fractional
            # digit the target's integer digits leave room for, then round as decimals do
            wide = pa.decimal128(38, max(target.scale, 38 - (target.precision - target.scale)))
            return _cast_kernel(_safe_cast_str(s, wide), target)
        if target == T.DATE:
            s = pc.utf8_slice_codeunits(s, 0, 10)
        if target == T.BOOL:
            low = pc.utf8_lower(s)
            return pc.if_else(pc.is_in(low, pa.array(["true", "1"])), True,
                              pc.if_else(pc.is_in(low, pa.array(["false", "0"])), False, pa.scalar(None, T.BOOL)))
        return _safe_cast_str(s, target)
    if T.is_string(target):
        if src == T.BOOL:
            return pc.if_else(a, "true", "false")
        if T.is_floating(src):
            return _float_to_string(a)
        return pc.cast(a, target)
    if T.is_decimal(target) and (T.is_decimal(src) or T.is_floating(src) or T.is_integer(src)):
        if T.is_decimal(src) and src.scale > target.scale or T.is_floating(src):
            a = pc.round(a, ndigits=target.scale, round_mode="half_towards_infinity")
        elif T.is_integer(src):
            a = pc.cast(a, pa.decimal128(38, target.scale))
        try:
            return pc.cast(a, target)
        except pa.ArrowInvalid:
            return _overflow_to_null(a, target)
    if T.is_integer(target) and (T.is_floating(src) or T.is_decimal(src)):
        return pc.cast(pc.trunc(pc.cast(a, T.FLOAT64)) if T.is_decimal(src) else pc.trunc(a), target, safe=False)
    if T.is_integer(target) and src == T.BOOL:
        return pc.cast(a, target)
    if target == T.DATE and pa.types.is_timestamp(src):
        return pc.cast(a, target)
    try:
        return pc.cast(a, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pc.cast(a, target, safe=False)


def decimal_to_double(a: Value) -> Value:
    """DECIMAL to DOUBLE correctly rounded (4.35 is 4.35, where Arrow's cast gives
    4.3500000000000005): the unscaled integer divided by 10^scale, which IEEE division
    rounds correctly while the integer fits a double's 53 bits (any DECIMAL(15,s))."""
    t = a.type
    if isinstance(a, pa.Scalar):
        return pa.scalar(None if a.as_py() is None else float(a.as_py()), T.FLOAT64)
    if isinstance(a, pa.ChunkedArray):
        return pa.chunked_array([decimal_to_double(c) for c in a.chunks], T.FLOAT64)
    if t.precision > 18:
        return pc.cast(a, T.FLOAT64)
    narrow = pc.cast(a, pa.decimal64(t.precision, t.scale))
    unscaled = np.frombuffer(narrow.buffers()[1], dtype=np.int64)[narrow.offset:narrow.offset + len(narrow)]
    values = unscaled.astype(np.float64) / (10.0 ** t.scale)
    wide = np.abs(unscaled) > 2**53  # not exact as a double: Arrow's own conversion there
    if wide.any():
        values[wide] = np.asarray(pc.cast(a, T.FLOAT64).fill_null(0))[wide]
    return pa.array(values, T.FLOAT64, mask=np.asarray(pc.is_null(narrow)) if narrow.null_count else None)


def _overflow_to_null(a: Value, target: pa.DataType) -> Value:
    limit = 10.0 ** (target.precision - target.scale)
    f = pc.cast(a, T.FLOAT64)
    ok = pc.less(pc.abs(f), limit)
    return pc.cast(pc.if_else(ok, a, pa.scalar(None, a.type)), target, safe=False)


def _safe_cast_str(s: Value, target: pa.DataType) -> Value:
    try:
        return pc.cast(s, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    arr = s if isinstance(s, pa.Array) else pa.array([s.as_py()], s.type)
    # Element-wise only on failure: validate with a regex, null out the rest.
    if T.is_numeric(target):
        ok = pc.match_substring_regex(arr, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    elif target == T.DATE:
        ok = pc.match_substring_regex(arr, r"^\d{4}-\d{1,2}-\d{1,2}$")
    else:
        ok = pc.match_substring_regex(arr, r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
    cleaned = pc.if_else(ok, arr, pa.scalar(None, arr.type))
    try:
        out = pc.cast(cleaned, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = pa.array([_try(v, target) for v in cleaned.to_pylist()], target)
    return out if isinstance(s, pa.Array) else out[0]


def _try(v: Any, target: pa.DataType) -> Any:
    try:
        return pa.scalar(v).cast(target).as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, TypeError, OverflowError):
        return None


def _float_to_string(a: Value) -> Value:
    s = pc.cast(a, T.STRING)
    # Hive prints whole doubles with a trailing ".0"
    whole = pc.and_(pc.equal(pc.trunc(a), a), pc.less(pc.abs(a), 1e7))
    no_dot = pc.invert(pc.match_substring(s, "."))
    return pc.if_else(pc.and_(whole, no_dot), pc.binary_join_element_wise(s, ".0", ""), s)


cast_kernel = _cast_kernel
