"""Cardinality and size estimates from catalog statistics (for join order and strategy)."""

from __future__ import annotations

from typing import assert_never

from planner import logical as L
from planner import types as T

FILTER_SELECTIVITY = 0.25
DEFAULT_ROWS = 1_000_000


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


def estimate_rows(node: L.LogicalPlan) -> float:
    match node:
        case L.Scan():
            stats = node.source.statistics()
            rows = float(stats.row_count) if stats is not None and stats.row_count is not None else DEFAULT_ROWS
            for _ in node.filters:
                rows *= FILTER_SELECTIVITY
            if node.limit is not None:
                rows = min(rows, node.limit)
            return max(rows, 1.0)
        case L.Values():
            return float(len(node.rows))
        case L.Filter():
            return max(estimate_rows(node.input) * FILTER_SELECTIVITY, 1.0)
        case L.Project() | L.Sort() | L.Window() | L.Repartition():
            return estimate_rows(node.input)
        case L.Aggregate():
            if not node.keys:
                return 1.0
            return max(estimate_rows(node.input) * 0.1, 1.0)
        case L.Join():
            l, r = estimate_rows(node.left), estimate_rows(node.right)
            if node.kind in ("semi", "anti"):
                return l
            if node.kind == "cross":
                return l * r
            return max(l, r)
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
