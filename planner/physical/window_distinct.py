"""DISTINCT window aggregates — ``count(DISTINCT x) OVER (…)``, ``sum``/``avg`` — over any frame.

A value counts once in a frame [s, e]: at its first row there, i.e. at the rows j of
[s, e] whose previous row with an equal value in the partition, ``prev[j]``, lies before
s. Every j < s has prev[j] < j < s, so

    count(DISTINCT x) over [s, e]  =  #{ j ≤ e : prev[j] < s }  −  #{ non-NULL j < s }

and the same with x[j] summed instead of counted. The first term is a two-dimensional
dominance count, answered for all rows at once by a merge-sort tree: level L sorts the
rows' ``prev`` within blocks of 2^L rows; the prefix [0, e] is the union of at most one
block per level (the set bits of e + 1), and one ``searchsorted`` per level counts (and,
with prefix sums, adds up) the block's rows with ``prev < s`` for every row together:
O(n log² n) in numpy, no Python loop over rows. Frames that start at their partition's
first row (whole partitions, running totals) take a prefix-sum shortcut: there,
``prev < s`` means "first occurrence in the partition".
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T


def distinct_aggregate(name: str, col: pa.Array, group: np.ndarray, gstart: np.ndarray,
                       start: np.ndarray, end: np.ndarray) -> pa.Array:
    """``name`` (count, sum or avg) of the distinct non-NULL values of ``col`` in each
    row's frame [start, end] (rows sorted by partition; ``group`` numbers partitions)."""
    n = len(col)
    if pa.types.is_dictionary(col.type):  # the columnar cache keeps some strings so
        col = col.cast(col.type.value_type)
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool)
    prev = previous_equal(col, group, valid)
    integral = T.is_integer(col.type)
    if name == "count":
        x = valid.astype(np.int64)
    elif integral:
        x = np.where(valid, pc.fill_null(pc.cast(col, pa.int64()), 0).to_numpy(zero_copy_only=False), 0)
    else:
        x = np.where(valid, pc.fill_null(pc.cast(col, pa.float64()), 0.0).to_numpy(zero_copy_only=False), 0.0)
    empty = end < start
    s = np.clip(start, 0, n)
    m = np.clip(end + 1, 0, n)  # prefix length
    if np.array_equal(start, gstart):
        first = valid & (prev < 0)
        count_prefix = np.concatenate([[0], np.cumsum(first)])
        sum_prefix = np.concatenate([[0], np.cumsum(np.where(first, x, 0))])
        cnt = count_prefix[m] - count_prefix[s]
        total = sum_prefix[m] - sum_prefix[s]
    else:
        key = np.where(valid, prev + 1, n + 1)  # NULLs never count
        dom_cnt, dom_sum = _dominance(key, x, m, s)
        valid_prefix = np.concatenate([[0], np.cumsum(valid)])
        x_prefix = np.concatenate([[0], np.cumsum(x)])
        cnt = dom_cnt - valid_prefix[s]
        total = dom_sum - x_prefix[s]
    cnt = np.where(empty, 0, np.maximum(cnt, 0))
    if name == "count":
        return pa.array(cnt.astype(np.int64))
    none = cnt == 0
    if name == "avg":
        with np.errstate(invalid="ignore", divide="ignore"):
            return pa.array(np.where(none, 0.0, total / np.maximum(cnt, 1)), mask=none)
    return pa.array(np.where(none, 0, total), mask=none)


def previous_equal(col: pa.Array, group: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """For each row, the previous row of its partition with an equal non-NULL value, or -1."""
    n = len(col)
    prev = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return prev
    t = pa.table({"g": group, "v": col, "i": np.arange(n)})
    order = np.asarray(pc.sort_indices(t, sort_keys=[("g", "ascending"), ("v", "ascending"), ("i", "ascending")]))
    g = group[order]
    v = col.take(pa.array(order))
    equal = np.asarray(pc.fill_null(pc.equal(v.slice(1), v.slice(0, n - 1)), False)
                       .to_numpy(zero_copy_only=False), dtype=bool)
    same = (g[1:] == g[:-1]) & equal & valid[order[1:]]
    prev[order[1:][same]] = order[:-1][same]
    return prev


def _dominance(key: np.ndarray, weight: np.ndarray, m: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query i: how many j < m[i] have key[j] ≤ s[i], and the sum of their weights."""
    n = len(key)
    count = np.zeros(len(m), dtype=np.int64)
    total = np.zeros(len(m), dtype=weight.dtype)
    stride = n + 2  # keys are in [0, n + 1]
    blocks = np.arange(n, dtype=np.int64)
    level = 0
    while (1 << level) <= n:
        size = 1 << level
        sort_key = (blocks >> level) * stride + key
        order = np.argsort(sort_key, kind="stable")
        sorted_key = sort_key[order]
        sums = np.concatenate([np.zeros(1, dtype=weight.dtype), np.cumsum(weight[order])])
        use = ((m >> level) & 1).astype(bool)  # bit ``level`` of the prefix length is set
        block = (m[use] >> (level + 1)) << 1  # that prefix's block at this level
        base = block * size
        pos = np.searchsorted(sorted_key, block * stride + s[use] + 1, side="left")
        count[use] += pos - base
        total[use] += sums[pos] - sums[base]
        level += 1
    return count, total
