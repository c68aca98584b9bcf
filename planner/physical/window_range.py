"""RANGE frame bounds with offsets: ``RANGE BETWEEN 2 PRECEDING AND 1.5 FOLLOWING``.

A row's frame holds the rows of its partition whose ORDER BY value lies within the
offsets of its own. With rows sorted by (partition, key), the bound of every row is
found at once by one sort of the rows' keys merged with the rows' *targets*
(``key ± offset``), then counting keys before each target:

    keys (one partition, ASC):   1   2   2   4   7
    2 PRECEDING → targets:      -1   0   0   2   5
    start = first key ≥ target:  0   0   0   1   3   (row positions)

A row whose key is NULL has its NULL peers as frame for any offset bound (as DuckDB and
Spark); NULL rows never fall inside the offset range of a non-NULL row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.expressions import offset_sign


def range_bounds(key: pa.Array, ascending: bool, start: Any, end: Any, group: np.ndarray,
                 gstart: np.ndarray, gend: np.ndarray, pstart: np.ndarray,
                 pend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row first and last frame row (inclusive; last < first means an empty frame).

    ``key`` is the sorted ORDER BY column, ``group`` each row's partition number
    (non-decreasing), ``gstart/gend`` its partition's first/last row and ``pstart/pend``
    its peers' (rows with an equal key)."""
    valid = np.asarray(pc.is_valid(key).to_numpy(zero_copy_only=False), dtype=bool)
    lo = gstart if start is None else pstart if offset_sign(start) == 0 else \
        _search(key, ascending, start, group, valid, gstart, gend, pstart, first=True)
    hi = gend if end is None else pend if offset_sign(end) == 0 else \
        _search(key, ascending, end, group, valid, gstart, gend, pend, first=False)
    return lo, hi


def _search(key: pa.Array, ascending: bool, offset: Any, group: np.ndarray, valid: np.ndarray,
            gstart: np.ndarray, gend: np.ndarray, peer: np.ndarray, first: bool) -> np.ndarray:
    """``first``: the first row whose key is at or after ``key + offset`` in the sort
    order; else the last row at or before it. Rows outside the partition mean "none"."""
    n = len(key)
    rows = np.flatnonzero(valid)  # non-NULL keys, in sorted order
    values, targets = _values_and_targets(key.filter(pa.array(valid)), offset if ascending else _negate(offset))
    m = len(rows)
    order_values = pa.concat_arrays([values, targets])
    g = group[rows]
    # targets sort before equal keys when looking for the first row at or after them,
    # after them when looking for the last row at or before them
    flag = np.concatenate([np.full(m, 1 if first else 0, np.int8), np.full(m, 0 if first else 1, np.int8)])
    merged = pa.table({"g": np.concatenate([g, g]), "v": order_values, "f": flag})
    order = np.asarray(pc.sort_indices(merged, sort_keys=[
        ("g", "ascending"), ("v", "ascending" if ascending else "descending"), ("f", "ascending")]))
    is_key = order < m
    keys_before = np.cumsum(is_key) - is_key  # keys strictly before each merged position
    target_pos = np.empty(m, dtype=np.int64)
    target_pos[order[~is_key] - m] = keys_before[~is_key]
    k = target_pos if first else target_pos - 1  # index into ``rows``
    inside = (k >= 0) & (k < m)
    found = np.where(inside, rows[np.clip(k, 0, max(m - 1, 0))] if m else 0, -1)
    own_group = inside & (group[found] == g) if m else inside
    out = peer.copy()  # NULL keys: their peers
    if first:
        out[rows] = np.where(own_group, found, gend[rows] + 1)  # nothing at or after: empty frame
    else:
        out[rows] = np.where(own_group, found, gstart[rows] - 1)
    assert len(out) == n
    return out


def _negate(offset: Any) -> Any:
    if isinstance(offset, pa.MonthDayNano):
        return pa.MonthDayNano([-offset.months, -offset.days, -offset.nanoseconds])
    return -offset


def _values_and_targets(values: pa.Array, offset: Any) -> tuple[pa.Array, pa.Array]:
    """The keys and ``key + offset``, in one comparable Arrow type."""
    t = values.type
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        if isinstance(offset, pa.MonthDayNano):
            from planner.functions import SCALARS, cast_kernel
            targets = SCALARS["date_add_interval"].impl(values, pa.scalar(offset, T.INTERVAL))
            return values, cast_kernel(targets, t)
        if pa.types.is_date(t):  # a number of days
            days = pc.cast(values, pa.int32())
            return days, pc.add(days, pa.scalar(int(offset), pa.int32()))
        micros = pc.cast(pc.cast(values, pa.timestamp("us")), pa.int64())  # a number of seconds
        return micros, pc.add(micros, pa.scalar(round(float(offset) * 1_000_000), pa.int64()))
    if isinstance(offset, float) or T.is_floating(t):
        as_float = pc.cast(values, pa.float64())
        return as_float, pc.add(as_float, pa.scalar(float(offset), pa.float64()))
    if isinstance(offset, Decimal) or T.is_decimal(t):
        exponent = offset.as_tuple().exponent if isinstance(offset, Decimal) else 0
        scale = max(t.scale if T.is_decimal(t) else 0, -exponent if isinstance(exponent, int) else 0)
        digits = (t.precision - t.scale if T.is_decimal(t) else 19) + scale + 1
        wide = pa.decimal128(min(38, digits), scale)
        as_dec = pc.cast(values, wide)
        return as_dec, pc.cast(pc.add(as_dec, pa.scalar(Decimal(offset), wide)), wide)
    as_int = pc.cast(values, pa.int64())
    return as_int, pc.add(as_int, pa.scalar(int(offset), pa.int64()))

