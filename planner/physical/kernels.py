"""Operators as functions over whole Arrow batches/tables (run inside RDD tasks).

Everything here is module-level and takes plain picklable data, so task closures carry
only these functions and their arguments. Columns are named ``c<id>`` (``Column.key``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.acero as ac
import pyarrow.compute as pc

from planner import types as T
from planner.evaluate import evaluate_array, evaluate_predicate
from planner.expressions import ColumnRef, Expr, has_subquery, walk
from planner.physical import aggregate_functions as AF
from planner.physical import memory
from rdd import TaskContext

# ---------------------------------------------------------------- helpers


def empty_table(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def to_table(batches: Iterable[pa.RecordBatch], schema: pa.Schema,
             what: str = "rows collected for an operator") -> pa.Table:
    """The batches as one table. Inside a task, between batches: stop if the query was
    cancelled, and count the bytes against the query's memory cap (``memory``)."""
    tc = TaskContext.get()
    if tc is None:
        bs = [b for b in batches if b.num_rows]
    else:
        bs = []
        reservation = memory.for_task(tc, what)
        for b in batches:
            tc.check_interrupted()
            if b.num_rows:
                bs.append(b)
                if reservation is not None:
                    reservation.add(b.nbytes)
    if not bs:
        return schema.empty_table()
    if len(bs) == 1:
        return pa.Table.from_batches(bs)
    return pa.Table.from_batches(bs, schema=bs[0].schema)


def table_batches(t: pa.Table) -> Iterator[pa.RecordBatch]:
    if t.num_rows == 0:
        return
    yield from t.combine_chunks().to_batches() if t.num_columns else []


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Reorder/cast ``batch`` to exactly ``schema`` (names are unique column keys)."""
    if batch.schema.equals(schema):
        return batch
    cols = []
    for f in schema:
        a = batch.column(f.name)
        if a.type != f.type:
            from planner.functions import cast_kernel
            a = cast_kernel(a, f.type)
        cols.append(a)
    return pa.RecordBatch.from_arrays(cols, schema=schema)


# ---------------------------------------------------------------- scan


@dataclass(frozen=True, slots=True)
class ScanSpec:
    source: Any
    fields: tuple[str, ...]
    schema: pa.Schema  # output: keys and engine types
    arrow_filter: Any  # pc.Expression | None, handed to the source
    filters: tuple[Expr, ...]  # re-applied exactly by us
    limit: int | None


SCAN_BATCH_ROWS = 262_144


def _coalesced(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Merge small batches from a reader into ~``rows``-row batches: every operator
    call costs Python overhead per batch, so fewer, larger batches run faster."""
    pending: list[pa.RecordBatch] = []
    n = 0
    for b in batches:
        if b.num_rows >= rows and not pending:
            yield b
            continue
        pending.append(b)
        n += b.num_rows
        if n >= rows:
            yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
            pending, n = [], 0
    if pending:
        t = pa.Table.from_batches(pending).combine_chunks()
        if t.num_rows:
            yield t.to_batches()[0]


def scan_split(spec: ScanSpec, splits: Iterable[Any]) -> Iterator[pa.RecordBatch]:
    from rdd import TaskContext
    left = spec.limit
    filtered_keys = _filtered_keys(spec)
    for split in splits:
        reader = spec.source.read_split(split, list(spec.fields), spec.arrow_filter)
        for b in (reader if spec.limit is not None else _coalesced(reader, SCAN_BATCH_ROWS)):
            tc = TaskContext.get()
            if tc is not None:
                tc.check_interrupted()
                tc.taskMetrics().inc_records_read(b.num_rows)  # rows read from storage
            if b.num_rows == 0:
                continue
            out = _typed_and_filtered(b, spec, filtered_keys)
            if out.num_rows == 0:
                continue
            if left is not None:
                out = out.slice(0, left)
                left -= out.num_rows
            yield out
            if left is not None and left <= 0:
                return


def _filtered_keys(spec: ScanSpec) -> frozenset[str]:
    """The output columns the scan's filters read (empty when a filter reads none, or
    reads through a subquery: then every column is cast before filtering)."""
    keys: set[str] = set()
    for cond in spec.filters:
        refs = [x for x in walk(cond) if isinstance(x, ColumnRef)]
        if not refs or has_subquery(cond):
            return frozenset()
        keys.update(r.column.key for r in refs)
    return frozenset(keys)


def _typed_and_filtered(raw: pa.RecordBatch, spec: ScanSpec, filtered_keys: frozenset[str]) -> pa.RecordBatch:
    """``raw`` (storage types: a cached block's narrow integers and dictionaries) as
    ``spec.schema``, with the scan's filters applied.

    The filters run on engine types, so the columns they read are cast first; the
    others are cast after, on the rows left: a point query over a cached block decodes
    one row of its dictionary columns, not the block's."""
    pairs = list(zip(spec.fields, spec.schema))
    out = pa.RecordBatch.from_arrays(
        [raw.column(name) if filtered_keys and f.name not in filtered_keys else _as_type(raw.column(name), f)
         for name, f in pairs], names=[f.name for _, f in pairs])
    for cond in spec.filters:
        out = evaluate_predicate(cond, out)
    return pa.RecordBatch.from_arrays([_as_type(out.column(i), f) for i, (_, f) in enumerate(pairs)],
                                      schema=spec.schema)


def _as_type(a: pa.Array, f: pa.Field) -> pa.Array:
    return a if a.type == f.type else a.cast(f.type)


# ---------------------------------------------------------------- filter / project


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # "filter" | "project"
    condition: Expr | None = None
    exprs: tuple[tuple[str, Expr], ...] = ()
    schema: pa.Schema | None = None


def run_steps(steps: tuple[Step, ...], batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for b in batches:
        for s in steps:
            if s.kind == "filter":
                assert s.condition is not None
                b = evaluate_predicate(s.condition, b)
            else:
                assert s.schema is not None
                memo: dict = {}
                cols = [evaluate_array(e, b, memo) for _, e in s.exprs]
                cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(cols, s.schema)]
                b = pa.RecordBatch.from_arrays(cols, schema=s.schema) if cols else \
                    _zero_column_batch(b.num_rows, s.schema)
            if b.num_rows == 0:
                break
        if b.num_rows:
            yield b


def _zero_column_batch(n: int, schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_struct_array(pa.array([{}] * n, pa.struct([]))) if n else \
        pa.RecordBatch.from_arrays([], schema=schema)


# ---------------------------------------------------------------- joins


@dataclass(frozen=True, slots=True)
class JoinSpec:
    kind: str  # inner, left, right, full, semi, anti, cross
    left_keys: tuple[str, ...]
    right_keys: tuple[str, ...]
    residual: Expr | None
    residual_pc: Any  # pc.Expression | None
    null_aware: bool
    left_schema: pa.Schema
    right_schema: pa.Schema
    out_schema: pa.Schema


_ACERO_KIND = {"inner": "inner", "left": "left outer", "right": "right outer", "full": "full outer",
               "semi": "left semi", "anti": "left anti"}


def join_tables(spec: JoinSpec, left: pa.Table, right: pa.Table) -> pa.Table:
    if spec.null_aware and spec.kind == "anti":
        return _null_aware_anti(spec, left, right)
    if not spec.left_keys:
        return _nested_loop(spec, left, right)
    if spec.residual is not None and spec.residual_pc is None:
        return _join_with_python_residual(spec, left, right)
    if spec.kind in ("semi", "anti") and right.num_rows == 0:
        return left if spec.kind == "anti" else left.slice(0, 0)
    if left.num_rows == 0 and spec.kind in ("inner", "left", "semi", "anti"):
        return spec.out_schema.empty_table()
    lt = _acero_safe(left)
    rt = _acero_safe(right)
    opts = ac.HashJoinNodeOptions(_ACERO_KIND[spec.kind], list(spec.left_keys), list(spec.right_keys),
                                  filter_expression=spec.residual_pc)
    decl = ac.Declaration("hashjoin", opts, inputs=[
        ac.Declaration("table_source", ac.TableSourceNodeOptions(lt)),
        ac.Declaration("table_source", ac.TableSourceNodeOptions(rt))])
    # Acero's own thread pool parallelizes the build and probe of one big join
    out = decl.to_table(use_threads=True)
    memory.hold(out, "hash join output")
    return _restore(out, spec.out_schema)


ROW_ID = "__rid"


def semi_probe(spec: JoinSpec, left: pa.Table, right: pa.Table) -> pa.RecordBatch:
    """Row ids (``ROW_ID``) of ``left`` rows with a match in this part of ``right``."""
    opts = ac.HashJoinNodeOptions("right semi", list(spec.right_keys), list(spec.left_keys),
                                  filter_expression=spec.residual_pc)
    decl = ac.Declaration("hashjoin", opts, inputs=[
        ac.Declaration("table_source", ac.TableSourceNodeOptions(right)),
        ac.Declaration("table_source", ac.TableSourceNodeOptions(left))])
    out = decl.to_table(use_threads=False)
    return pa.record_batch([out.column(ROW_ID).combine_chunks()], names=[ROW_ID])


def _acero_safe(t: pa.Table) -> pa.Table:
    return t


def _restore(t: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        a = t.column(f.name)
        if a.type != f.type:
            a = a.cast(f.type)
        cols.append(a)
    return pa.Table.from_arrays(cols, schema=schema)


def _null_aware_anti(spec: JoinSpec, left: pa.Table, right: pa.Table) -> pa.Table:
    """``x NOT IN (SELECT y … [WHERE correlation])``: the first key pair is (x, y), any
    further pairs are the correlation's equalities. Per correlation group S of ``right``,
    a row is kept when S is empty, or when x is not NULL, not in S, and S holds no NULL.
    """
    if right.num_rows == 0:
        return left
    x, y = spec.left_keys[0], spec.right_keys[0]
    left_groups, right_groups = list(spec.left_keys[1:]), list(spec.right_keys[1:])
    plain = JoinSpec("anti", spec.left_keys, spec.right_keys, spec.residual, spec.residual_pc, False,
                     spec.left_schema, spec.right_schema, spec.out_schema)
    if spec.residual is not None:
        # a non-equality correlation: NULLs in S are not attributed to groups here
        if right.column(y).null_count > 0 and not left_groups:
            return left.slice(0, 0)
        left = left.filter(pc.is_valid(left.column(x)))
        return join_tables(plain, left, right.filter(pc.is_valid(right.column(y))))
    if not left_groups:  # one group: the whole subquery
        if right.column(y).null_count > 0:
            return left.slice(0, 0)
        return join_tables(plain, left.filter(pc.is_valid(left.column(x))), right)
    kept = join_tables(plain, left, right)  # x in S: gone; x NULL never matches, so stays
    by_group = JoinSpec("anti", tuple(left_groups), tuple(right_groups), None, None, False,
                        spec.left_schema, spec.right_schema, spec.out_schema)
    with_null = right.filter(pc.is_null(right.column(y)))
    if with_null.num_rows:
        kept = join_tables(by_group, kept, with_null)  # S holds a NULL: unknown, not kept
    x_null = pc.is_null(kept.column(x))
    if not pc.any(x_null).as_py():
        return kept
    # NULL NOT IN S is unknown unless S is empty
    unknown = join_tables(by_group, kept.filter(x_null), right)
    return pa.concat_tables([kept.filter(pc.invert(x_null)), unknown])


def _cross_indices(nl: int, nr: int) -> tuple[np.ndarray, np.ndarray]:
    li = np.repeat(np.arange(nl, dtype=np.int64), nr)
    ri = np.tile(np.arange(nr, dtype=np.int64), nl)
    return li, ri


def _nested_loop(spec: JoinSpec, left: pa.Table, right: pa.Table) -> pa.Table:
    """Joins without equality keys: cartesian product (chunked) filtered by the condition."""
    nl, nr = left.num_rows, right.num_rows
    kind = spec.kind
    out_parts: list[pa.Table] = []
    matched_l = np.zeros(nl, dtype=bool)
    matched_r = np.zeros(nr, dtype=bool)
    chunk = max(1, 2_000_000 // max(nr, 1))
    tc = TaskContext.get()
    reservation = memory.for_task(tc, "nested-loop join output")
    for start in range(0, nl, chunk):
        if tc is not None:
            tc.check_interrupted()  # a chunk is ~2M pairs: the task stops within one
        sl = left.slice(start, chunk)
        li, ri = _cross_indices(sl.num_rows, nr)
        if spec.residual is not None and len(li):
            pair = _pair_table(sl, right, li, ri)
            mask = pc.fill_null(pc.cast(_eval_table(spec.residual, pair), T.BOOL), False)
            mask_np = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool) if not isinstance(mask, pa.Scalar) \
                else np.full(len(li), bool(mask.as_py()))
            li, ri = li[mask_np], ri[mask_np]
        matched_l[start + np.unique(li)] = True if len(li) else matched_l[start:start]
        if len(ri):
            matched_r[np.unique(ri)] = True
        if kind in ("inner", "cross", "left", "right", "full"):
            out_parts.append(_pair_table(sl, right, li, ri))
            if reservation is not None:
                reservation.add(out_parts[-1].nbytes)
    if kind == "semi":
        return left.filter(pa.array(matched_l))
    if kind == "anti":
        return left.filter(pa.array(~matched_l))
    out = pa.concat_tables(out_parts) if out_parts else spec.out_schema.empty_table()
    out = _restore(out, spec.out_schema) if out.num_rows else spec.out_schema.empty_table()
    extra = []
    if kind in ("left", "full") and (~matched_l).any():
        extra.append(_pad(left.filter(pa.array(~matched_l)), spec.right_schema, spec.out_schema))
    if kind in ("right", "full") and (~matched_r).any():
        extra.append(_pad(right.filter(pa.array(~matched_r)), spec.left_schema, spec.out_schema))
    if extra:
        out = pa.concat_tables([out] + extra)
    return out


def _pad(t: pa.Table, missing: pa.Schema, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in t.column_names:
            cols.append(t.column(f.name))
        else:
            cols.append(pa.nulls(t.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _pair_table(left: pa.Table, right: pa.Table, li: np.ndarray, ri: np.ndarray) -> pa.Table:
    lt = left.take(pa.array(li)) if len(li) else left.slice(0, 0)
    rt = right.take(pa.array(ri)) if len(ri) else right.slice(0, 0)
    cols = list(lt.columns) + list(rt.columns)
    names = lt.column_names + rt.column_names
    return pa.Table.from_arrays(cols, names=names)


def _eval_table(e: Expr, t: pa.Table) -> Any:
    if t.num_rows == 0:
        return pa.array([], T.BOOL)
    b = t.combine_chunks().to_batches()
    if len(b) != 1:
        return pa.concat_arrays([evaluate_array(e, x) for x in b])
    return evaluate_array(e, b[0])


def _join_with_python_residual(spec: JoinSpec, left: pa.Table, right: pa.Table) -> pa.Table:
    """Equi-join, then a residual our evaluator handles (Arrow cannot): via row indices."""
    lidx = "__lidx"
    ridx = "__ridx"
    lt = left.append_column(lidx, pa.array(np.arange(left.num_rows, dtype=np.int64)))
    rt = right.append_column(ridx, pa.array(np.arange(right.num_rows, dtype=np.int64)))
    decl = ac.Declaration("hashjoin", ac.HashJoinNodeOptions("inner", list(spec.left_keys), list(spec.right_keys)),
                          inputs=[ac.Declaration("table_source", ac.TableSourceNodeOptions(lt)),
                                  ac.Declaration("table_source", ac.TableSourceNodeOptions(rt))])
    pairs = decl.to_table(use_threads=False)
    memory.hold(pairs, "hash join output")
    if pairs.num_rows:
        assert spec.residual is not None
        mask = pc.fill_null(_eval_table(spec.residual, pairs), False)
        pairs = pairs.filter(mask)
    li = np.asarray(pairs.column(lidx).to_numpy(), dtype=np.int64)
    ri = np.asarray(pairs.column(ridx).to_numpy(), dtype=np.int64)
    matched_l = np.zeros(left.num_rows, dtype=bool)
    matched_l[li] = True
    kind = spec.kind
    if kind == "semi":
        return left.filter(pa.array(matched_l))
    if kind == "anti":
        return left.filter(pa.array(~matched_l))
    out = _restore(pairs.drop_columns([lidx, ridx]), spec.out_schema)
    parts = [out]
    if kind in ("left", "full"):
        parts.append(_pad(left.filter(pa.array(~matched_l)), spec.right_schema, spec.out_schema))
    if kind in ("right", "full"):
        matched_r = np.zeros(right.num_rows, dtype=bool)
        matched_r[ri] = True
        parts.append(_pad(right.filter(pa.array(~matched_r)), spec.left_schema, spec.out_schema))
    return pa.concat_tables(parts) if len(parts) > 1 else out


# ---------------------------------------------------------------- aggregation


@dataclass(frozen=True, slots=True)
class AggSpec:
    name: str
    arg: str | None  # input column key (pre-projected), None for count(*)
    out: str
    type: pa.DataType
    distinct: bool = False
    params: tuple[Any, ...] = ()
    arg2: str | None = None  # the second argument's column (corr, covar_*, max_by, min_by)


_PARTIAL_OK = {"count", "sum", "avg", "min", "max", "stddev", "stddev_samp", "stddev_pop",
               "variance", "var_samp", "var_pop", "first", "last", "any_value", "bool_and",
               "bool_or", "every", "some"} | AF.MOMENTS


def can_partial(aggs: tuple[AggSpec, ...]) -> bool:
    return all(a.name in _PARTIAL_OK and not a.distinct for a in aggs)


def _float(col: str) -> str:
    return col


def partial_aggregate(keys: tuple[str, ...], aggs: tuple[AggSpec, ...], table: pa.Table) -> pa.Table:
    """Map-side aggregation: one row per key with mergeable partial states."""
    work = table
    req: list[tuple[Any, str, Any]] = []
    names: list[str] = []
    for a in aggs:
        o = a.out
        if a.name == "count":
            if a.arg is None:
                req.append(([], "count_all", None))
            else:
                req.append((a.arg, "count", pc.CountOptions(mode="only_valid")))
            names.append(o + "$n")
        elif a.name in ("sum",):
            req.append((a.arg, "sum", pc.ScalarAggregateOptions(min_count=1)))
            names.append(o + "$s")
        elif a.name == "avg":
            src = a.arg
            if not T.is_decimal(table.schema.field(src).type):
                f = src + "$f"
                if f not in work.column_names:
                    work = work.append_column(f, pc.cast(table.column(src), T.FLOAT64))
                src = f
            req.append((src, "sum", pc.ScalarAggregateOptions(min_count=1)))
            names.append(o + "$s")
            req.append((a.arg, "count", pc.CountOptions(mode="only_valid")))
            names.append(o + "$n")
        elif a.name in ("min", "max", "first", "last", "any_value"):
            fn = {"any_value": "first"}.get(a.name, a.name)
            req.append((a.arg, fn, None))
            names.append(o + "$v")
        elif a.name in ("bool_and", "every"):
            req.append((a.arg, "all", None))
            names.append(o + "$v")
        elif a.name in ("bool_or", "some"):
            req.append((a.arg, "any", None))
            names.append(o + "$v")
        elif a.name in AF.MOMENTS:
            continue  # its state comes from each group's rows (_group_with_states)
        else:  # variance family: count, sum, sum of squares
            f = a.arg + "$f"
            sq = a.arg + "$sq"
            if f not in work.column_names:
                x = pc.cast(table.column(a.arg), T.FLOAT64)
                work = work.append_column(f, x).append_column(sq, pc.multiply(x, x))
            req += [(f, "count", pc.CountOptions(mode="only_valid")), (f, "sum", None), (sq, "sum", None)]
            names += [o + "$n", o + "$s", o + "$q"]
    return _group_with_states(work, keys, req, names, aggs, merge=False)


def _group_with_rows(table: pa.Table, keys: tuple[str, ...], req: list[tuple[Any, str, Any]],
                     names: list[str]) -> tuple[pa.Table, pa.Table]:
    """``_group`` plus each group's list of row numbers (``AF.ROWS``), from which the
    aggregates of aggregate_functions compute; returns the table numbered and the groups."""
    numbered = table.append_column("__row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    return numbered, _group(numbered, keys, req + [("__row", "list", None)], names + [AF.ROWS])


def _group_with_states(table: pa.Table, keys: tuple[str, ...], req: list[tuple[Any, str, Any]],
                       names: list[str], aggs: tuple[AggSpec, ...], merge: bool) -> pa.Table:
    """``_group``, with a state column ``<out>$m`` for each moment aggregate: from raw
    rows (partial) or merged from the partial states (``merge``, final)."""
    moments = [a for a in aggs if a.name in AF.MOMENTS]
    if not moments:
        return _group(table, keys, req, names)
    numbered, grouped = _group_with_rows(table, keys, req, names)
    for a in moments:
        assert a.arg is not None
        state = (AF.merge_moment_states(a.name, numbered, a.out + "$m", grouped) if merge
                 else AF.moment_states(a.name, numbered, a.arg, a.arg2, grouped))
        grouped = grouped.append_column(a.out + "$m", state)
    return grouped.drop_columns([AF.ROWS])


def _group(table: pa.Table, keys: tuple[str, ...], req: list[tuple[Any, str, Any]], names: list[str]) -> pa.Table:
    if not keys and any(fn in ("list", "distinct", "tdigest") for _, fn, _ in req):
        # these exist only as hash (grouped) kernels: group by a constant
        t = table.append_column("__g", pa.repeat(pa.scalar(0, pa.int8()), table.num_rows))
        out = _group(t, ("__g",), req, names)
        if table.num_rows == 0:
            out = pa.Table.from_arrays([pa.nulls(1, c.type) for c in out.columns], names=out.column_names)
            if any(fn in ("list", "distinct") for _, fn, _ in req):
                pass
        return out.drop_columns(["__g"])
    if not req and keys:
        out = table.group_by(list(keys), use_threads=False).aggregate([])
        return out.select(list(keys))
    ordered = any(fn in ("first", "last") for _, fn, _ in req)
    gb = table.group_by(list(keys), use_threads=not ordered)
    out = gb.aggregate([(arg, fn, opt) if opt is not None else (arg, fn) for arg, fn, opt in req])
    # Acero names results "<arg>_<fn>"; keys come first or last depending on the version.
    n = len(req)
    if list(out.column_names[:len(keys)]) == list(keys):
        key_cols, agg_cols = out.columns[:len(keys)], out.columns[len(keys):]
    else:
        agg_cols, key_cols = out.columns[:n], out.columns[n:]
    return pa.Table.from_arrays(list(key_cols) + list(agg_cols), names=list(keys) + names)


def final_aggregate(keys: tuple[str, ...], aggs: tuple[AggSpec, ...], table: pa.Table,
                    out_schema: pa.Schema) -> pa.Table:
    """Merge partial states (after the shuffle) and finish each aggregate."""
    req: list[tuple[Any, str, Any]] = []
    names: list[str] = []
    for a in aggs:
        o = a.out
        if a.name == "count":
            req.append((o + "$n", "sum", None)); names.append(o + "$n")
        elif a.name == "sum":
            req.append((o + "$s", "sum", pc.ScalarAggregateOptions(min_count=1))); names.append(o + "$s")
        elif a.name == "avg":
            req.append((o + "$s", "sum", pc.ScalarAggregateOptions(min_count=1))); names.append(o + "$s")
            req.append((o + "$n", "sum", None)); names.append(o + "$n")
        elif a.name in ("min", "max", "first", "last", "any_value"):
            fn = {"any_value": "first"}.get(a.name, a.name)
            req.append((o + "$v", fn, None)); names.append(o + "$v")
        elif a.name in ("bool_and", "every"):
            req.append((o + "$v", "all", None)); names.append(o + "$v")
        elif a.name in ("bool_or", "some"):
            req.append((o + "$v", "any", None)); names.append(o + "$v")
        elif a.name in AF.MOMENTS:
            continue  # merged by _group_with_states
        else:
            req += [(o + "$n", "sum", None), (o + "$s", "sum", None), (o + "$q", "sum", None)]
            names += [o + "$n", o + "$s", o + "$q"]
    merged = _group_with_states(table, keys, req, names, aggs, merge=True)
    return _finish(keys, aggs, merged, out_schema)


def _finish(keys: tuple[str, ...], aggs: tuple[AggSpec, ...], merged: pa.Table, out_schema: pa.Schema) -> pa.Table:
    cols = [merged.column(k) for k in keys]
    for a in aggs:
        o = a.out
        if a.name == "count":
            v = pc.fill_null(merged.column(o + "$n"), 0)
        elif a.name == "sum":
            v = merged.column(o + "$s")
        elif a.name == "avg":
            s, n = merged.column(o + "$s"), merged.column(o + "$n")
            n = pc.if_else(pc.equal(n, 0), pa.scalar(None, n.type), n)
            v = pc.divide(pc.cast(s, T.FLOAT64), pc.cast(n, T.FLOAT64))
            if T.is_decimal(a.type):
                v = pc.round(v, ndigits=a.type.scale)
        elif a.name in ("min", "max", "first", "last", "any_value", "bool_and", "every", "bool_or", "some"):
            v = merged.column(o + "$v")
        elif a.name in AF.MOMENTS:
            v = AF.moment_result(a.name, merged.column(o + "$m"))
        else:
            n = pc.cast(merged.column(o + "$n"), T.FLOAT64)
            s, q = merged.column(o + "$s"), merged.column(o + "$q")
            mean = pc.divide(s, n)
            m2 = pc.subtract(q, pc.multiply(s, mean))
            m2 = pc.max_element_wise(m2, 0.0)
            pop = a.name in ("stddev_pop", "var_pop")
            denom = n if pop else pc.subtract(n, 1.0)
            denom = pc.if_else(pc.less_equal(denom, 0), pa.scalar(None, T.FLOAT64), denom)
            var = pc.divide(m2, denom)
            v = pc.sqrt(var) if a.name.startswith("stddev") else var
        cols.append(_cast_result(v, a.type))
    return pa.Table.from_arrays(cols, schema=out_schema)


def _from_rows(a: AggSpec, table: pa.Table, grouped: pa.Table) -> pa.Array:
    """A moment or holistic aggregate from each group's rows (aggregate_functions)."""
    assert a.arg is not None
    if a.name in AF.MOMENTS:  # (the binder allows no DISTINCT here)
        return AF.moment_result(a.name, AF.moment_states(a.name, table, a.arg, a.arg2, grouped))
    if a.name == "percentile":
        return AF.percentiles(table, a.arg, grouped, a.params[0] if a.params else 0.5, a.distinct)
    if a.name == "mode":
        return AF.mode(table, a.arg, grouped, a.distinct)
    if a.name == "histogram_numeric":
        return AF.histogram(table, a.arg, grouped, a.params[0], a.distinct)
    assert a.arg2 is not None  # max_by, min_by
    return AF.extreme_by(table, a.arg, a.arg2, grouped, largest=a.name == "max_by")


def _cast_result(v: Any, t: pa.DataType) -> Any:
    if v.type == t:
        return v
    from planner.functions import cast_kernel
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks() if v.num_chunks != 1 else v.chunk(0)
    return cast_kernel(v, t)


def full_aggregate(keys: tuple[str, ...], aggs: tuple[AggSpec, ...], table: pa.Table,
                   out_schema: pa.Schema) -> pa.Table:
    """One-phase aggregation of raw rows (DISTINCT aggregates, collect_*, percentiles)."""
    if can_partial(aggs):
        return final_aggregate(keys, aggs, partial_aggregate(keys, aggs, table), out_schema)
    req: list[tuple[Any, str, Any]] = []
    names: list[str] = []
    work = table
    post: list[tuple[AggSpec, str]] = []
    for a in aggs:
        o = a.out + "$r"
        if a.distinct and a.name == "count":
            req.append((a.arg, "count_distinct", pc.CountOptions(mode="only_valid")))
        elif a.distinct and a.name in ("sum", "avg"):
            req.append((a.arg, "distinct", pc.CountOptions(mode="only_valid")))
        elif a.name == "count":
            req.append(([], "count_all", None) if a.arg is None else (a.arg, "count", pc.CountOptions(mode="only_valid")))
        elif a.name in ("min", "max"):
            req.append((a.arg, a.name, None))
        elif a.name == "sum":
            req.append((a.arg, "sum", pc.ScalarAggregateOptions(min_count=1)))
        elif a.name == "avg":
            f = a.arg + "$f"
            if f not in work.column_names:
                work = work.append_column(f, pc.cast(table.column(a.arg), T.FLOAT64))
            req.append((f, "mean", None))
        elif a.name in ("collect_list", "udaf"):
            req.append((a.arg, "list", None))
        elif a.name == "collect_set":
            req.append((a.arg, "distinct", pc.CountOptions(mode="only_valid")))
        elif a.name == "percentile_approx":
            f = a.arg + "$f"
            if f not in work.column_names:
                work = work.append_column(f, pc.cast(table.column(a.arg), T.FLOAT64))
            fractions = a.params[0] if a.params else 0.5
            req.append((f, "tdigest", pc.TDigestOptions(q=list(fractions) if isinstance(fractions, tuple)
                                                        else fractions)))
        elif a.name in AF.MOMENTS or a.name in AF.HOLISTIC:
            post.append((a, None))  # computed from each group's rows after grouping
            continue
        elif a.name in ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"):
            f = a.arg + "$f"
            if f not in work.column_names:
                work = work.append_column(f, pc.cast(table.column(a.arg), T.FLOAT64))
            ddof = 0 if a.name in ("stddev_pop", "var_pop") else 1
            fn = "stddev" if a.name.startswith("stddev") else "variance"
            req.append((f, fn, pc.VarianceOptions(ddof=ddof)))
        else:
            req.append((a.arg, {"any_value": "first"}.get(a.name, a.name), None))
        names.append(o)
        post.append((a, o))
    if any(o is None for _, o in post):
        numbered, merged = _group_with_rows(work, keys, req, names)
    else:
        numbered, merged = work, _group(work, keys, req, names)
    cols = [merged.column(k) for k in keys]
    for a, o in post:
        if o is None:
            cols.append(_cast_result(_from_rows(a, numbered, merged), a.type))
            continue
        v = merged.column(o)
        if a.distinct and a.name in ("sum", "avg"):
            lst = v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v
            flat = pc.list_flatten(lst)
            parents = pc.list_parent_indices(lst)
            t = pa.table({"p": parents, "v": flat})
            fn = "sum" if a.name == "sum" else "mean"
            if a.name == "avg":
                t = t.set_column(1, "v", pc.cast(flat, T.FLOAT64))
            g = t.group_by("p").aggregate([("v", fn)])
            res = pa.nulls(len(lst), g.column(1).type)
            idx = np.asarray(g.column(0).to_numpy())
            arr = np.full(len(lst), -1, dtype=np.int64)
            arr[idx] = np.arange(len(idx))
            v = pc.take(g.column(1), pa.array(arr, mask=arr < 0)) if len(lst) else res
        if a.name == "percentile_approx" and not isinstance(a.params[0] if a.params else 0.5, tuple):
            if pa.types.is_list(v.type) or pa.types.is_large_list(v.type) or pa.types.is_fixed_size_list(v.type):
                v = pc.list_element(v, 0)
        if a.name == "udaf":
            lst = v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v
            fn = a.params[1]
            # one call per group, each over that group's values as an Arrow array
            offs = np.asarray(lst.offsets)
            vals = lst.values
            out = [fn(vals.slice(int(offs[i]), int(offs[i + 1] - offs[i]))) for i in range(len(lst))]
            v = pa.array([x.as_py() if isinstance(x, pa.Scalar) else x for x in out], a.type)
        if a.name == "count":
            v = pc.fill_null(v, 0)
        if a.name == "collect_set" and pa.types.is_list(v.type):
            v = v  # distinct already drops nulls with only_valid
        cols.append(_cast_result(v, a.type))
    return pa.Table.from_arrays(cols, schema=out_schema)


# ---------------------------------------------------------------- sort / limit


def sort_indices(table: pa.Table, keys: tuple[tuple[str, bool, bool], ...]) -> pa.Array:
    """Indices ordering ``table`` by (key, ascending, nulls_first) with per-key null order."""
    sort_keys = []
    work = table
    for i, (k, asc, nulls_first) in enumerate(keys):
        col = table.column(k)
        if col.null_count:
            flag = f"__null{i}"
            # nulls first ⇔ is_valid ascending (False < True)
            work = work.append_column(flag, pc.is_valid(col) if nulls_first else pc.is_null(col))
            sort_keys.append((flag, "ascending"))
        sort_keys.append((k, "ascending" if asc else "descending"))
    return pc.sort_indices(work, sort_keys=sort_keys)


def sort_table(keys: tuple[tuple[str, bool, bool], ...], table: pa.Table) -> pa.Table:
    if table.num_rows <= 1:
        return table
    return table.take(sort_indices(table, keys))


def top_n(keys: tuple[tuple[str, bool, bool], ...], n: int, table: pa.Table) -> pa.Table:
    if table.num_rows <= n:
        return sort_table(keys, table)
    idx = sort_indices(table, keys)
    return table.take(idx.slice(0, n))


# ---------------------------------------------------------------- generate (LATERAL VIEW)


def generate(function: str, arg: Expr, outer: bool, keys: tuple[str, ...], out_schema: pa.Schema,
             batch: pa.RecordBatch) -> pa.RecordBatch:
    v = evaluate_array(arg, batch)
    n = batch.num_rows
    if pa.types.is_map(v.type):
        lengths = np.asarray(pc.fill_null(pc.list_value_length(pa.ListArray.from_arrays(v.offsets, v.keys)), 0))
        values_cols = [v.keys, v.items]
        parents = np.repeat(np.arange(n), lengths)
        flat_cols = [pc.take(c, pa.array(np.arange(int(np.asarray(v.offsets)[0]), int(np.asarray(v.offsets)[0]) + lengths.sum())))
                     for c in values_cols]
    else:
        lengths = np.asarray(pc.fill_null(pc.list_value_length(v), 0))
        parents = np.asarray(pc.list_parent_indices(v))
        flat = pc.list_flatten(v)
        flat_cols = [flat] if function != "inline" else [pc.struct_field(flat, i) for i in range(flat.type.num_fields)]
    positions = None
    if function == "posexplode":
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        positions = pa.array((np.arange(int(lengths.sum())) - starts).astype(np.int32))
        flat_cols = [positions] + flat_cols
    take_idx = parents
    if outer:
        empty = np.nonzero(lengths == 0)[0]
        if len(empty):
            take_idx = np.concatenate([parents, empty])
            flat_cols = [pa.concat_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c,
                                           pa.nulls(len(empty), c.type)]) for c in flat_cols]
            order = np.argsort(take_idx, kind="stable")
            take_idx = take_idx[order]
            flat_cols = [pc.take(c, pa.array(order)) for c in flat_cols]
    base = batch.take(pa.array(take_idx, pa.int64()))
    cols = list(base.columns) + [c.cast(f.type) if c.type != f.type else c
                                 for c, f in zip(flat_cols, list(out_schema)[-len(keys):])]
    return pa.RecordBatch.from_arrays(cols, schema=out_schema)


# ---------------------------------------------------------------- union


def rename_columns(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for b in batches:
        cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(b.columns, schema)]
        yield pa.RecordBatch.from_arrays(cols, schema=schema)
