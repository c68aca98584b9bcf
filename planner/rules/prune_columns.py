"""Projection pruning: every node produces only the columns someone above reads,
down to the scans, which then read only those columns from storage."""

from __future__ import annotations

from dataclasses import replace

from planner import logical as L
from planner.expressions import column_ids


def prune_columns(plan: L.LogicalPlan) -> L.LogicalPlan:
    return _prune(plan, {c.id for c in plan.schema}, root=True)


def _need(exprs: list, ids: set[int]) -> set[int]:
    out = set(ids)
    for e in exprs:
        out |= column_ids(e)
    return out


def _prune(node: L.LogicalPlan, required: set[int], root: bool = False) -> L.LogicalPlan:
    match node:
        case L.Scan():
            need = _need(list(node.filters), required)
            keep = [(c, f) for c, f in zip(node.columns, node.fields) if c.id in need]
            if not keep:  # count(*) still needs row counts: keep the narrowest column
                keep = [min(zip(node.columns, node.fields), key=lambda cf: _width(cf[0]))]
            if len(keep) == len(node.columns):
                return node
            return replace(node, columns=tuple(c for c, _ in keep), fields=tuple(f for _, f in keep))
        case L.Values():
            return node
        case L.Filter():
            return replace(node, input=_prune(node.input, _need([node.condition], required)))
        case L.Project():
            exprs = node.exprs if root else tuple((c, e) for c, e in node.exprs if c.id in required)
            if not exprs and node.exprs:
                exprs = node.exprs[:1]
            inp = _prune(node.input, _need([e for _, e in exprs], set()))
            # a projection that only passes its input through unchanged disappears
            if [c for c, _ in exprs] == list(inp.schema) and all(
                    getattr(e, "column", None) == c for c, e in exprs):
                return inp
            return replace(node, exprs=exprs, input=inp)
        case L.Aggregate():
            aggs = tuple((c, a) for c, a in node.aggregates if c.id in required)
            need = _need([e for _, e in node.keys] + [a for _, a in aggs], set())
            return replace(node, aggregates=aggs, input=_prune(node.input, need))
        case L.Join():
            need = _need([node.condition] if node.condition is not None else [], required)
            lids = {c.id for c in node.left.schema}
            rids = {c.id for c in node.right.schema}
            left = _prune(node.left, need & lids)
            right = _prune(node.right, need & rids)
            return replace(node, left=left, right=right)
        case L.Sort():
            return replace(node, input=_prune(node.input, _need([k.expr for k in node.keys], required)))
        case L.Repartition():
            return replace(node, input=_prune(node.input, _need(list(node.keys), required)))
        case L.Limit():
            return replace(node, input=_prune(node.input, required))
        case L.Union():
            keep = [i for i, c in enumerate(node.columns) if c.id in required] or [0]
            inputs = []
            for inp in node.inputs:
                cols = [inp.schema[i] for i in keep]
                sub = _prune(inp, {c.id for c in cols})
                if list(sub.schema) != cols:
                    sub = L.Project(input=sub, exprs=tuple((c, c.ref()) for c in cols))
                inputs.append(sub)
            return replace(node, inputs=tuple(inputs), columns=tuple(node.columns[i] for i in keep))
        case L.Window():
            fns = tuple((c, w) for c, w in node.functions if c.id in required)
            if not fns:
                return _prune(node.input, required)
            need = _need([w for _, w in fns], required)
            return replace(node, functions=fns, input=_prune(node.input, need))
        case L.Generate():
            need = _need([node.arg], required)
            return replace(node, input=_prune(node.input, need))
    raise AssertionError(node)


def _width(c) -> int:
    from planner import types as T
    return 100 if T.is_string(c.type) else 8
