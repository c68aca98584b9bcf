"""Limit pushdown: through projections, into UNION ALL branches and into scans.

A Sort under a Limit is left in place; physical planning turns the pair into a top-N.
"""

from __future__ import annotations

from dataclasses import replace

from planner import logical as L


def push_down_limit(node: L.LogicalPlan) -> L.LogicalPlan:
    if not isinstance(node, L.Limit) or node.limit is None:
        return node
    n = node.limit + node.offset
    child = node.input
    match child:
        case L.Limit() if child.limit is not None and child.offset == 0 and node.offset == 0:
            return replace(child, limit=min(child.limit, node.limit))
        case L.Project():
            return replace(child, input=push_down_limit(L.Limit(input=child.input, limit=n))) \
                if node.offset == 0 else node
        case L.Union():
            if any(isinstance(i, L.Limit) and i.limit is not None and i.limit <= n for i in child.inputs):
                return node
            inputs = tuple(push_down_limit(L.Limit(input=i, limit=n)) for i in child.inputs)
            return replace(node, input=replace(child, inputs=inputs))
        case L.Scan() if not child.filters and (child.limit is None or child.limit > n):
            return replace(node, input=replace(child, limit=n))
    return node
