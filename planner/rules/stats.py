"""Cardinality and size estimates from catalog statistics (for join order and strategy).

Join cardinality follows the textbook formula ``|L|·|R| / max(ndv(a), ndv(b))`` for the
most selective equality ``a = b``, where a column's distinct count comes from the
statistics of the scan that produces it (its table's row count when unknown).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_never

from planner import logical as L
from planner import types as T
from planner.expressions import Call, ColumnRef, conjuncts
from planner.memo import memoized

FILTER_SELECTIVITY = 0.25
DEFAULT_ROWS = 1_000_000


def selectivity(e) -> float:
    """Fraction of rows a predicate keeps (classic System R style guesses)."""
    from planner.expressions import Literal
    match e:
        case Call(name="and"):
            return selectivity(e.args[0]) * selectivity(e.args[1])
        case Call(name="or"):
            a, b = selectivity(e.args[0]), selectivity(e.args[1])
            return min(1.0, a + b - a * b)
        case Call(name="not"):
            return max(0.05, 1.0 - selectivity(e.args[0]))
        case Call(name="eq" | "eq_null_safe"):
            return 0.1
        case Call(name="ne"):
            return 0.9
        case Call(name="lt" | "le" | "gt" | "ge"):
            return 0.33
        case Call(name="in_list"):
            return min(0.5, 0.1 * (len(e.args) - 1))
        case Call(name="like"):
            p = e.args[1]
            if isinstance(p, Literal) and isinstance(p.value, str) and not p.value.startswith("%"):
                return 0.1
            return 0.2
        case Call(name="is_null"):
            return 0.1
        case Call(name="is_not_null"):
            return 0.9
    return FILTER_SELECTIVITY


def _row_width(cols: tuple) -> int:
    w = 0
    for c in cols:
        t = c.type
        if T.is_string(t):
            w += 24
        elif T.is_decimal(t):
            w += 16
        else:
            w += 8
    return max(w, 1)


def _scan_rows(node: L.Scan) -> float:
    try:
        stats = node.source.statistics()
    except Exception:
        stats = None
    return float(stats.row_count) if stats is not None and stats.row_count is not None else DEFAULT_ROWS


def _default_ndv(node: L.Scan, field: str) -> float:
    """Without column statistics: a table's first column is taken to be its key (all rows
    distinct); any other column gets sqrt(rows) distinct values, so that joins between
    two non-key columns (TPC-H Q5's ``c_nationkey = s_nationkey``) look expensive."""
    rows = _scan_rows(node)
    names = node.source.schema.names
    if names and names[0] == field:
        return rows
    return max(rows ** 0.5, 1.0)


@memoized
def column_ndv(node: L.LogicalPlan, col_id: int) -> float:
    """Distinct values of column ``col_id`` as produced by ``node`` (an upper bound)."""
    rows = estimate_rows(node)
    match node:
        case L.Scan():
            for c, f in zip(node.columns, node.fields):
                if c.id == col_id:
                    try:
                        stats = node.source.statistics()
                    except Exception:
                        stats = None
                    if stats is not None:
                        cs = stats.columns.get(f) if stats.columns else None
                        if cs is not None and cs.distinct_count:
                            return min(float(cs.distinct_count), rows)
                    return _default_ndv(node, f)
            return rows
        case L.Project():
            for c, e in node.exprs:
                if c.id == col_id and isinstance(e, ColumnRef):
                    return min(column_ndv(node.input, e.column.id), rows)
            return rows
        case L.Aggregate():
            for c, e in node.keys:
                if c.id == col_id:
                    if isinstance(e, ColumnRef) and len(node.keys) == 1:
                        return rows
                    return rows
            return rows
        case _:
            for k in node.children():
                if col_id in {c.id for c in k.schema}:
                    return min(column_ndv(k, col_id), max(rows, 1.0))
            return rows


@memoized
def is_key_like(node: L.LogicalPlan, col_id: int) -> bool:
    """Whether ``col_id`` is (assumed) unique where it comes from: a table's first column
    without statistics saying otherwise, or a single grouping key."""
    match node:
        case L.Scan():
            names = node.source.schema.names
            return any(c.id == col_id and names and f == names[0] for c, f in zip(node.columns, node.fields))
        case L.Aggregate():
            return len(node.keys) == 1 and node.keys[0][0].id == col_id
        case L.Project():
            for c, e in node.exprs:
                if c.id == col_id and isinstance(e, ColumnRef):
                    return is_key_like(node.input, e.column.id)
            return False
        case _:
            for k in node.children():
                if col_id in {c.id for c in k.schema}:
                    return is_key_like(k, col_id)
            return False


def _equi_column_pairs(left: L.LogicalPlan, right: L.LogicalPlan, cond) -> Iterator[tuple[int, int]]:
    """(left column id, right column id) of each ``column = column`` conjunct joining
    the two sides, whichever way round it is written."""
    lids = {c.id for c in left.schema}
    rids = {c.id for c in right.schema}
    for c in conjuncts(cond):
        if isinstance(c, Call) and c.name == "eq" and all(isinstance(a, ColumnRef) for a in c.args):
            a, b = c.args[0].column.id, c.args[1].column.id
            if a in rids and b in lids:
                a, b = b, a
            if a in lids and b in rids:
                yield a, b


def semi_match_fraction(left: L.LogicalPlan, right: L.LogicalPlan, cond, right_rows: float) -> float | None:
    """Fraction of left rows with a match: distinct right keys over distinct left keys."""
    best = None
    for a, b in _equi_column_pairs(left, right, cond):
        nl = max(column_ndv(left, a), 1.0)
        nr = min(column_ndv(right, b), right_rows)
        f = min(1.0, nr / nl)
        best = f if best is None else min(best, f)
    return best


def equi_selectivity_denominator(left: L.LogicalPlan, right: L.LogicalPlan, cond) -> float | None:
    best = None
    for a, b in _equi_column_pairs(left, right, cond):
        na, nb = column_ndv(left, a), column_ndv(right, b)
        # two key-like columns: the smaller table's key bounds the distinct values
        d = min(na, nb) if is_key_like(left, a) and is_key_like(right, b) else max(na, nb)
        d = max(d, 1.0)
        best = d if best is None else max(best, d)
    return best


@memoized
def estimate_rows(node: L.LogicalPlan) -> float:
    match node:
        case L.Scan():
            rows = _scan_rows(node)
            for f in node.filters:
                rows *= selectivity(f)
            if node.limit is not None:
                rows = min(rows, node.limit)
            return max(rows, 1.0)
        case L.Values():
            return float(max(len(node.rows), 1))
        case L.Filter():
            return max(estimate_rows(node.input) * selectivity(node.condition), 1.0)
        case L.Project() | L.Sort() | L.Window() | L.Repartition():
            return estimate_rows(node.input)
        case L.Aggregate():
            if not node.keys:
                return 1.0
            return max(estimate_rows(node.input) * 0.1, 1.0)
        case L.Join():
            l, r = estimate_rows(node.left), estimate_rows(node.right)
            if node.kind == "cross":
                return l * r
            if node.kind in ("semi", "anti"):
                frac = semi_match_fraction(node.left, node.right, node.condition, r)
                if frac is None:
                    return l * 0.5
                return max(l * (frac if node.kind == "semi" else 1.0 - frac * 0.5), 1.0)
            den = equi_selectivity_denominator(node.left, node.right, node.condition)
            if den is None:
                return max(l, r)
            est = max(l * r / den, 1.0)
            if node.kind in ("left", "full"):
                est = max(est, l)
            if node.kind in ("right", "full"):
                est = max(est, r)
            return est
        case L.Limit():
            inner = estimate_rows(node.input)
            return min(inner, float(node.limit)) if node.limit is not None else inner
        case L.Union():
            return sum(estimate_rows(i) for i in node.inputs)
        case L.Generate():
            return estimate_rows(node.input) * 3
        case _:
            assert_never(node)


def estimate_bytes(node: L.LogicalPlan) -> float:
    return estimate_rows(node) * _row_width(node.schema)
