"""Window functions over one hash partition: sort once, then numpy over group offsets.

Ranking functions come from group and peer boundaries, offsets (lag/lead) from shifted
indices, framed aggregates from prefix sums between per-row frame bounds. RANGE frames
with offsets find their bounds by a merged sort (``window_range``); DISTINCT aggregates
count first occurrences inside each frame (``window_distinct``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.expressions import WindowCall
from planner.physical import kernels as K
from planner.physical.window_distinct import distinct_aggregate
from planner.physical.window_range import range_bounds


def _changes(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """True where row i differs from row i-1 (NULLs equal to each other); row 0 is True."""
    a = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(a)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    out[0] = True
    if n == 1:
        return out
    cur, prev = a.slice(1), a.slice(0, n - 1)
    ne = pc.fill_null(pc.not_equal(cur, prev), False).to_numpy(zero_copy_only=False)
    cn = pc.is_null(cur).to_numpy(zero_copy_only=False)
    pn = pc.is_null(prev).to_numpy(zero_copy_only=False)
    out[1:] = np.asarray(ne, dtype=bool) | (cn != pn)
    return out


def _starts(flags: np.ndarray) -> np.ndarray:
    idx = np.arange(len(flags))
    return np.maximum.accumulate(np.where(flags, idx, 0))


def _ends(flags: np.ndarray) -> np.ndarray:
    """Index of the last row of each row's run (runs begin where ``flags`` is True)."""
    n = len(flags)
    nxt = np.append(flags[1:], True)
    idx = np.arange(n)
    rev = np.where(nxt, idx, n)[::-1]
    return np.minimum.accumulate(rev)[::-1]


def compute_window(partition_keys: tuple[str, ...], order_keys: tuple[tuple[str, bool, bool], ...],
                   functions: tuple[tuple[str, WindowCall, tuple[str, ...]], ...], out_schema: pa.Schema,
                   table: pa.Table) -> pa.Table:
    keys = tuple((k, True, True) for k in partition_keys) + order_keys
    if keys:
        table = K.sort_table(keys, table)
    n = table.num_rows
    new_group = np.zeros(n, dtype=bool)
    if n:
        new_group[0] = True
    for k in partition_keys:
        new_group |= _changes(table.column(k))
    new_peer = new_group.copy()
    for k, _, _ in order_keys:
        new_peer |= _changes(table.column(k))
    gstart = _starts(new_group)
    gend = _ends(new_group)
    pstart = _starts(new_peer)
    pend = _ends(new_peer)
    idx = np.arange(n)
    size = gend - gstart + 1
    rows = _Rows(idx, gstart, gend, pstart, pend, np.cumsum(new_group) - 1, order_keys, table)
    cols = list(table.columns)
    for key, w, args in functions:
        v = _one(w, args, table, idx, gstart, gend, pstart, pend, size, new_peer, rows)
        if not isinstance(v, (pa.Array, pa.ChunkedArray)):
            v = pa.array(v)
        if v.type != w.type:
            from planner.functions import cast_kernel
            v = cast_kernel(v, w.type)
        cols.append(v)
    return pa.Table.from_arrays(cols, schema=out_schema)


@dataclass(frozen=True, slots=True)
class _Rows:
    """The sorted partition's row bounds that frames are computed from."""

    idx: np.ndarray
    gstart: np.ndarray
    gend: np.ndarray
    pstart: np.ndarray
    pend: np.ndarray
    group: np.ndarray  # partition number of each row, non-decreasing
    order_keys: tuple[tuple[str, bool, bool], ...]
    table: pa.Table


def _one(w: WindowCall, args: tuple[str, ...], table: pa.Table, idx: np.ndarray, gstart: np.ndarray,
         gend: np.ndarray, pstart: np.ndarray, pend: np.ndarray, size: np.ndarray, new_peer: np.ndarray,
         rows: _Rows) -> Any:
    name = w.name
    if name == "row_number":
        return pa.array((idx - gstart + 1).astype(np.int32))
    if name == "rank":
        return pa.array((pstart - gstart + 1).astype(np.int32))
    if name == "dense_rank":
        c = np.cumsum(new_peer)
        return pa.array((c - c[gstart] + 1).astype(np.int32))
    if name == "percent_rank":
        rank = pstart - gstart
        den = np.maximum(size - 1, 1)
        return pa.array(np.where(size > 1, rank / den, 0.0))
    if name == "cume_dist":
        return pa.array((pend - gstart + 1) / size)
    if name == "ntile":
        k = int(_const(w.args[0]))
        rn = idx - gstart
        q, r = size // k, size % k
        big = r * (q + 1)
        b = np.where(rn < big, rn // np.maximum(q + 1, 1), r + (rn - big) // np.maximum(q, 1))
        return pa.array((b + 1).astype(np.int32))
    if name in ("lag", "lead"):
        col = table.column(args[0]).combine_chunks()
        k = int(_const(w.args[1])) if len(w.args) > 1 else 1
        src = idx - k if name == "lag" else idx + k
        ok = (src >= gstart) & (src <= gend)
        taken = pc.take(col, pa.array(np.where(ok, src, 0), mask=~ok))
        if len(w.args) > 2:
            default = table.column(args[2]).combine_chunks()
            taken = pc.if_else(pa.array(ok), taken, default)
        return taken
    start, end = _frame(w, rows)
    if name in ("first_value", "last_value", "first", "last"):
        col = table.column(args[0]).combine_chunks()
        pos = start if name in ("first_value", "first") else end
        ok = pos >= start
        ok &= end >= start
        return pc.take(col, pa.array(np.where(ok, pos, 0), mask=~ok))
    if w.distinct and name in ("count", "sum", "avg") and args:
        return distinct_aggregate(name, table.column(args[0]).combine_chunks(), rows.group, gstart, start, end)
    return _framed_aggregate(w, args, table, start, end)


def _const(e: Any) -> Any:
    from planner.expressions import Literal
    assert isinstance(e, Literal), "window function parameter must be a constant"
    return e.value


def _frame(w: WindowCall, r: _Rows) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first and last frame row (inclusive; last < first: an empty frame)."""
    f = w.frame
    if f is None:
        if r.order_keys:
            return r.gstart, r.pend
        return r.gstart, r.gend
    if f.kind == "range":
        if not r.order_keys:  # no ORDER BY: every row is a peer of every other
            return r.gstart, r.gend
        name, ascending, _ = r.order_keys[0]
        key = r.table.column(name).combine_chunks()
        return range_bounds(key, ascending, f.start, f.end, r.group, r.gstart, r.gend, r.pstart, r.pend)
    s = r.gstart if f.start is None else np.maximum(r.idx + f.start, r.gstart)
    e = r.gend if f.end is None else np.minimum(r.idx + f.end, r.gend)
    return s, e


def _framed_aggregate(w: WindowCall, args: tuple[str, ...], table: pa.Table, start: np.ndarray,
                      end: np.ndarray) -> Any:
    name = w.name
    n = len(start)
    empty = end < start
    if name == "count" and not args:
        cnt = np.where(empty, 0, end - start + 1)
        return pa.array(cnt.astype(np.int64))
    col = table.column(args[0]).combine_chunks()
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool)
    cv = np.concatenate([[0], np.cumsum(valid)])
    s_ = np.minimum(start, n)
    e_ = np.clip(end + 1, 0, n)
    cnt = np.where(empty, 0, cv[e_] - cv[s_])
    if name == "count":
        return pa.array(cnt.astype(np.int64))
    if name in ("sum", "avg"):
        x = pc.fill_null(pc.cast(col, T.FLOAT64), 0.0).to_numpy(zero_copy_only=False)
        cs = np.concatenate([[0.0], np.cumsum(x)])
        total = np.where(empty, 0.0, cs[e_] - cs[s_])
        if name == "avg":
            with np.errstate(invalid="ignore", divide="ignore"):
                return pa.array(np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan), mask=cnt == 0)
        if T.is_integer(col.type):
            ci = np.concatenate([[0], np.cumsum(pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))])
            return pa.array(np.where(empty, 0, ci[e_] - ci[s_]), mask=cnt == 0)
        return pa.array(total, mask=cnt == 0)
    if name in ("min", "max"):
        return _framed_min_max(name, col, start, end, empty)
    if name in ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"):
        x = pc.fill_null(pc.cast(col, T.FLOAT64), 0.0).to_numpy(zero_copy_only=False)
        cs = np.concatenate([[0.0], np.cumsum(x)])
        cq = np.concatenate([[0.0], np.cumsum(x * x)])
        s = cs[e_] - cs[s_]
        q = cq[e_] - cq[s_]
        with np.errstate(invalid="ignore", divide="ignore"):
            m2 = np.maximum(q - s * s / np.maximum(cnt, 1), 0.0)
            pop = name in ("stddev_pop", "var_pop")
            den = cnt if pop else cnt - 1
            var = m2 / np.where(den > 0, den, 1)
        out_v = np.sqrt(var) if name.startswith("stddev") else var
        return pa.array(out_v, mask=den <= 0)
    raise NotImplementedError(f"window function {name} is not supported")


def _framed_min_max(name: str, col: pa.Array, start: np.ndarray, end: np.ndarray, empty: np.ndarray) -> pa.Array:
    """min/max over any frames, for any sortable type: values become dense ranks, and a
    sparse table of range minima (level k: the min of 2^k rows from each row) answers
    every frame with two lookups at the level of its length — O(n log n) in numpy."""
    n = len(col)
    if n == 0:
        return pa.array([], col.type)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool)
    ranks = np.asarray(pc.rank(col, sort_keys="ascending", tiebreaker="dense").to_numpy(zero_copy_only=False),
                       dtype=np.int64)
    lowest = name == "min"
    none = n + 1 if lowest else 0  # a NULL never wins; a frame of NULLs only yields it
    ranks = np.where(valid, ranks, none)
    ufunc = np.minimum if lowest else np.maximum
    s = np.clip(start, 0, n - 1)
    e = np.clip(end, 0, n - 1)
    ok = ~empty & (end >= start)
    length = np.where(ok, e - s + 1, 1)
    level_of = np.frexp(length)[1].astype(np.int64) - 1  # floor(log2(length)), exactly
    best = np.full(n, none, dtype=np.int64)
    table, level = ranks, 0
    longest = int(length[ok].max()) if ok.any() else 1
    while True:
        use = ok & (level_of == level)
        if use.any():
            best[use] = ufunc(table[s[use]], table[e[use] - (1 << level) + 1])
        if (2 << level) > longest:
            break
        half = 1 << level
        table = np.concatenate([ufunc(table[:n - half], table[half:]), table[n - half:]])
        level += 1
    missing = best == none
    row_of_rank = np.zeros(n + 2, dtype=np.int64)
    row_of_rank[ranks[valid]] = np.flatnonzero(valid)
    return col.take(pa.array(row_of_rank[np.where(missing, 0, best)], mask=missing))
