"""Aggregates beyond Acero's hash kernels, computed with numpy over each group's rows.

The group-by asks Acero for one extra aggregate, the list of each group's row numbers
(``group_rows``); from it every row gets its group index and these functions work on
whole columns with ``np.bincount``, sorts and segment arithmetic. No Python loop runs
per group or per row.

- Moments (``MOMENTS``: kurtosis, skewness, covar_pop, covar_samp, corr) keep mergeable
  states of central moments per group (count, means, sums of powers of deviations), so
  they aggregate partially before the shuffle like sum and avg. Partial states combine
  exactly (Chan et al.'s pairwise formulas); a raw row is a state of count one.
- Holistic aggregates (``HOLISTIC``: exact percentile, one fraction or an array, mode,
  histogram_numeric, max_by, min_by) need all of a group's rows in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T

MOMENTS = frozenset({"kurtosis", "skewness", "covar_pop", "covar_samp", "corr"})
HOLISTIC = frozenset({"percentile", "mode", "histogram_numeric", "max_by", "min_by"})
_PAIRED = frozenset({"covar_pop", "covar_samp", "corr"})
ROWS = "__rows"  # the name of the row-number lists in the grouped table


def group_rows(lists: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, int]:
    """(row numbers, the group of each, number of groups) from the grouped lists."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks() if lists.num_chunks else pa.array([], lists.type)
    rows = np.asarray(pc.list_flatten(lists), dtype=np.int64)
    groups = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
    return rows, groups, len(lists)


def _floats(column: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A column's values at ``rows`` as float64 (0 where NULL) and their validity."""
    values = pc.take(column, pa.array(rows))
    valid = np.asarray(pc.is_valid(values), dtype=bool)
    return np.asarray(pc.fill_null(pc.cast(values, T.FLOAT64), 0.0), dtype=np.float64), valid


# ---------------------------------------------------------------- moments

_SINGLE_STATE = ("n", "mean", "m2", "m3", "m4")
_PAIR_STATE = ("n", "mx", "my", "m2x", "m2y", "cxy")


def _combine_single(g: np.ndarray, k: int, n: np.ndarray, mean: np.ndarray, m2: np.ndarray, m3: np.ndarray,
                    m4: np.ndarray) -> dict[str, np.ndarray]:
    """Central moments of each group from those of its parts (parts of count 0 add
    nothing): with d the distance of a part's mean from the group's,
    M2 = sum(m2 + n d^2), M3 = sum(m3 + 3 d m2 + n d^3),
    M4 = sum(m4 + 4 d m3 + 6 d^2 m2 + n d^4)."""
    total = np.bincount(g, weights=n, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        center = np.where(total > 0, np.bincount(g, weights=n * mean, minlength=k) / np.maximum(total, 1), 0.0)
    d = np.where(n > 0, mean - center[g], 0.0)
    return {
        "n": total, "mean": center,
        "m2": np.bincount(g, weights=m2 + n * d ** 2, minlength=k),
        "m3": np.bincount(g, weights=m3 + 3 * d * m2 + n * d ** 3, minlength=k),
        "m4": np.bincount(g, weights=m4 + 4 * d * m3 + 6 * d ** 2 * m2 + n * d ** 4, minlength=k),
    }


def _combine_pair(g: np.ndarray, k: int, n: np.ndarray, mx: np.ndarray, my: np.ndarray, m2x: np.ndarray,
                  m2y: np.ndarray, cxy: np.ndarray) -> dict[str, np.ndarray]:
    """Co-moments of each group from its parts: C = sum(c + n dx dy), M2 as above."""
    total = np.bincount(g, weights=n, minlength=k)
    safe = np.maximum(total, 1)
    cx = np.where(total > 0, np.bincount(g, weights=n * mx, minlength=k) / safe, 0.0)
    cy = np.where(total > 0, np.bincount(g, weights=n * my, minlength=k) / safe, 0.0)
    dx, dy = np.where(n > 0, mx - cx[g], 0.0), np.where(n > 0, my - cy[g], 0.0)
    return {
        "n": total, "mx": cx, "my": cy,
        "m2x": np.bincount(g, weights=m2x + n * dx ** 2, minlength=k),
        "m2y": np.bincount(g, weights=m2y + n * dy ** 2, minlength=k),
        "cxy": np.bincount(g, weights=cxy + n * dx * dy, minlength=k),
    }


def _state_array(state: dict[str, np.ndarray]) -> pa.StructArray:
    return pa.StructArray.from_arrays([pa.array(v, T.FLOAT64) for v in state.values()], names=list(state))


def moment_states(name: str, table: pa.Table, arg: str, arg2: str | None, grouped: pa.Table) -> pa.StructArray:
    """Each group's moment state from raw rows (rows with a NULL argument count 0)."""
    rows, g, k = group_rows(grouped.column(ROWS))
    x, valid = _floats(table.column(arg), rows)
    zero = np.zeros(len(rows))
    if name in _PAIRED:
        assert arg2 is not None
        y, valid_y = _floats(table.column(arg2), rows)
        n = (valid & valid_y).astype(np.float64)
        return _state_array(_combine_pair(g, k, n, x, y, zero, zero, zero))
    return _state_array(_combine_single(g, k, valid.astype(np.float64), x, zero, zero, zero))


def merge_moment_states(name: str, table: pa.Table, column: str, grouped: pa.Table) -> pa.StructArray:
    """Each group's moment state from the partial states of its parts."""
    rows, g, k = group_rows(grouped.column(ROWS))
    parts = pc.take(table.column(column), pa.array(rows)).combine_chunks()
    fields = _PAIR_STATE if name in _PAIRED else _SINGLE_STATE
    values = [np.asarray(pc.fill_null(pc.struct_field(parts, f), 0.0), dtype=np.float64) for f in fields]
    return _state_array((_combine_pair if name in _PAIRED else _combine_single)(g, k, *values))


def moment_result(name: str, states: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The aggregate from final states; NULL where it is undefined (no rows; one row for
    covar_samp and corr; no spread for corr, kurtosis and skewness), as Spark's."""
    if isinstance(states, pa.ChunkedArray):
        states = states.combine_chunks()

    def f(field: str) -> np.ndarray:
        return np.asarray(pc.fill_null(pc.struct_field(states, field), 0.0), dtype=np.float64)
    n = f("n")
    with np.errstate(invalid="ignore", divide="ignore"):
        if name == "covar_pop":
            out, ok = f("cxy") / n, n > 0
        elif name == "covar_samp":
            out, ok = f("cxy") / (n - 1), n > 1
        elif name == "corr":
            spread = f("m2x") * f("m2y")
            out, ok = f("cxy") / np.sqrt(spread), (n > 1) & (spread > 0)
        elif name == "skewness":
            m2 = f("m2")
            out, ok = np.sqrt(n) * f("m3") / m2 ** 1.5, (n > 0) & (m2 > 0)
        else:  # kurtosis, excess
            m2 = f("m2")
            out, ok = n * f("m4") / m2 ** 2 - 3.0, (n > 0) & (m2 > 0)
    return pa.array(np.where(ok, out, 0.0), T.FLOAT64, mask=~ok)


# ---------------------------------------------------------------- holistic


def _valid_values(table: pa.Table, arg: str, grouped: pa.Table, distinct: bool
                  ) -> tuple[pa.Array, np.ndarray, np.ndarray, int]:
    """The non-NULL values of ``arg`` with their groups (each (group, value) once when
    ``distinct``), their row numbers, and the number of groups."""
    rows, g, k = group_rows(grouped.column(ROWS))
    values = pc.take(table.column(arg), pa.array(rows)).combine_chunks()
    keep = np.asarray(pc.is_valid(values), dtype=bool)
    if distinct and len(values):
        codes = np.asarray(pc.dictionary_encode(values, null_encoding="encode").indices, dtype=np.int64)
        _, first = np.unique(g * (int(codes.max(initial=0)) + 1) + codes, return_index=True)
        once = np.zeros(len(values), bool)
        once[first] = True
        keep &= once
    return values.filter(pa.array(keep)), g[keep], rows[keep], k


def percentiles(table: pa.Table, arg: str, grouped: pa.Table, fractions: float | tuple[float, ...],
                distinct: bool) -> pa.Array:
    """Exact percentiles with linear interpolation between the two nearest ranks (Hive's
    percentile, numpy's default): one sort of all groups' values at once."""
    values, g, _, k = _valid_values(table, arg, grouped, distinct)
    x = np.asarray(pc.cast(values, T.FLOAT64), dtype=np.float64)
    order = np.lexsort((x, g))
    x, g = x[order], g[order]
    counts = np.bincount(g, minlength=k)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    qs = np.atleast_1d(np.asarray(fractions, dtype=np.float64))
    position = (counts[:, None] - 1) * qs[None, :]
    low = np.floor(position).astype(np.int64)
    high = np.ceil(position).astype(np.int64)
    empty = counts == 0
    at = np.where(empty[:, None], 0, starts[:, None])
    lo = x[np.clip(at + low, 0, max(len(x) - 1, 0))] if len(x) else np.zeros_like(position)
    hi = x[np.clip(at + high, 0, max(len(x) - 1, 0))] if len(x) else np.zeros_like(position)
    result = lo + (position - low) * (hi - lo)
    if isinstance(fractions, tuple):
        flat = pa.array(result.ravel(), T.FLOAT64)
        offsets = pa.array(np.arange(k + 1, dtype=np.int32) * len(qs))
        return pa.ListArray.from_arrays(offsets, flat, mask=pa.array(empty))
    return pa.array(result[:, 0], T.FLOAT64, mask=empty)


def mode(table: pa.Table, arg: str, grouped: pa.Table, distinct: bool) -> pa.Array:
    """The most frequent non-NULL value of each group; of equally frequent ones the
    smallest (deterministic where Hive and Spark pick any)."""
    values, g, _, k = _valid_values(table, arg, grouped, distinct)
    counted = pa.table({"g": g, "v": values}).group_by(["g", "v"]).aggregate([([], "count_all")])
    order = pc.sort_indices(counted, sort_keys=[("g", "ascending"), ("count_all", "descending"),
                                                 ("v", "ascending")])
    ranked = counted.take(order)
    groups = np.asarray(ranked.column("g"), dtype=np.int64)
    first = np.concatenate([[True], groups[1:] != groups[:-1]]) if len(groups) else np.zeros(0, bool)
    at = np.full(k, -1, np.int64)
    at[groups[first]] = np.nonzero(first)[0]
    return pc.take(ranked.column("v"), pa.array(at, mask=at < 0)).combine_chunks()


def extreme_by(table: pa.Table, arg: str, by: str, grouped: pa.Table, largest: bool) -> pa.Array:
    """max_by / min_by: the value of ``arg`` in the row where ``by`` is largest
    (smallest), over rows where ``by`` is not NULL; of tied rows the first."""
    rows, g, k = group_rows(grouped.column(ROWS))
    keys = pc.take(table.column(by), pa.array(rows)).combine_chunks()
    keep = np.asarray(pc.is_valid(keys), dtype=bool)
    ranked = pa.table({"g": g[keep], "y": keys.filter(pa.array(keep)), "r": rows[keep]})
    order = pc.sort_indices(ranked, sort_keys=[("g", "ascending"), ("y", "descending" if largest else "ascending"),
                                               ("r", "ascending")])
    groups = np.asarray(ranked.column("g").take(order), dtype=np.int64)
    best_rows = np.asarray(ranked.column("r").take(order), dtype=np.int64)
    first = np.concatenate([[True], groups[1:] != groups[:-1]]) if len(groups) else np.zeros(0, bool)
    at = np.full(k, -1, np.int64)
    at[groups[first]] = best_rows[first]
    return pc.take(table.column(arg), pa.array(at, mask=at < 0)).combine_chunks()


HISTOGRAM_ENTRY = pa.struct([pa.field("x", T.FLOAT64), pa.field("y", T.FLOAT64)])


def histogram(table: pa.Table, arg: str, grouped: pa.Table, bins: int, distinct: bool) -> pa.Array:
    """histogram_numeric: at most ``bins`` (center, count) pairs per group, in order.

    Each distinct value is a bin of its count; with more distinct values than ``bins``,
    the closest neighbours are joined: the (distinct - bins) smallest gaps between
    consecutive values of a group are closed at once (ties to the left), leaving exactly
    ``bins`` bins whose centers are the count-weighted means. With at most ``bins``
    distinct values this is exactly Hive's answer; beyond, Hive's streaming merges
    (whose result depends on the order of the rows) give similar, not equal, bins.
    """
    values, g, _, k = _valid_values(table, arg, grouped, distinct)
    x = np.asarray(pc.cast(values, T.FLOAT64), dtype=np.float64)
    counted = pa.table({"g": g, "x": x}).group_by(["g", "x"]).aggregate([([], "count_all")])
    counted = counted.take(pc.sort_indices(counted, sort_keys=[("g", "ascending"), ("x", "ascending")]))
    bg = np.asarray(counted.column("g"), dtype=np.int64)
    bx = np.asarray(counted.column("x"), dtype=np.float64)
    bw = np.asarray(counted.column("count_all"), dtype=np.float64)
    per_group = np.bincount(bg, minlength=k)
    excess = np.maximum(per_group - bins, 0)
    same = np.concatenate([bg[1:] == bg[:-1], [False]]) if len(bg) else np.zeros(0, bool)
    gaps = np.where(same, np.concatenate([np.diff(bx), [0.0]]) if len(bx) else bx, np.inf)
    order = np.lexsort((np.arange(len(gaps)), gaps, bg))  # within a group: smallest gaps first
    starts = np.concatenate([[0], np.cumsum(per_group)[:-1]])
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - starts[bg[order]]
    close = same & (rank < excess[bg])  # close the gap after this bin
    cluster = np.concatenate([[0], np.cumsum(~close[:-1])]) if len(bg) else np.zeros(0, np.int64)
    weight = np.bincount(cluster, weights=bw)
    center = np.bincount(cluster, weights=bw * bx) / np.where(weight > 0, weight, 1)
    cluster_group = np.zeros(len(weight), np.int64)
    cluster_group[cluster] = bg
    counts = np.bincount(cluster_group, minlength=k) if len(weight) else np.zeros(k, np.int64)
    entries = pa.StructArray.from_arrays([pa.array(center, T.FLOAT64), pa.array(weight, T.FLOAT64)],
                                         fields=list(HISTOGRAM_ENTRY))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, entries, mask=pa.array(per_group == 0))
