"""Compile a physical plan into an RDD lineage whose elements are ``pyarrow.RecordBatch``.

Closures are ``functools.partial`` over module-level functions with plain-data
arguments (specs, schemas, broadcast handles), never the planner or the context.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any, assert_never

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner.physical import kernels as K
from planner.physical import memory
from planner.physical import window as W
from planner.physical.plan import (AggregateExec, ExchangeExec, GenerateExec, HashJoinExec, LimitExec,
                                   MapExec, PhysicalPlan, ScanExec, SortExec, UnionExec, ValuesExec,
                                   WindowExec)


class SinglePartitioner:
    """Everything to one reduce partition (global aggregates, final sorts)."""

    num_partitions = 1
    numPartitions = 1

    def partition_ids(self, batch: pa.RecordBatch) -> np.ndarray:
        return np.zeros(batch.num_rows, dtype=np.int64)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SinglePartitioner)

    def __hash__(self) -> int:
        return 1


class RangeBatchPartitioner:
    """Range-partitions batches on sort keys by boundaries sampled from the data."""

    def __init__(self, keys: tuple[tuple[str, bool, bool], ...], bounds: pa.Table) -> None:
        self.keys = keys
        self.bounds = bounds
        self.num_partitions = bounds.num_rows + 1
        self.numPartitions = self.num_partitions

    def partition_ids(self, batch: pa.RecordBatch) -> np.ndarray:
        # rank each row among the boundaries: sort rows+bounds together, count bounds before
        n = batch.num_rows
        t = pa.Table.from_batches([batch.select([k for k, _, _ in self.keys])])
        b = self.bounds
        both = pa.concat_tables([b.append_column("__b", pa.array(np.ones(b.num_rows, dtype=np.int8))),
                                 t.append_column("__b", pa.array(np.zeros(n, dtype=np.int8)))])
        order = np.asarray(K.sort_indices(both, self.keys + (("__b", False, False),)))
        is_bound = np.asarray(both.column("__b").to_numpy())[order] == 1
        bounds_before = np.cumsum(is_bound) - is_bound
        row_pos = order[~is_bound] - b.num_rows
        out = np.empty(n, dtype=np.int64)
        out[row_pos] = bounds_before[~is_bound]
        return out


def _schema_batches(schema: pa.Schema, it: Iterable[pa.RecordBatch]) -> pa.Table:
    return K.to_table(it, schema)


# ---------------------------------------------------------------- task functions


def balance_splits(splits: list[Any], n: int) -> list[list[Any]]:
    """Splits into ``n`` groups of similar size (largest first, onto the lightest group)."""
    n = max(1, min(n, len(splits)))
    groups: list[list[Any]] = [[] for _ in range(n)]
    load = [0] * n
    for sp in sorted(splits, key=lambda x: -(getattr(x, "size_bytes", 0) or getattr(x, "length", 0) or 1)):
        i = load.index(min(load))
        groups[i].append(sp)
        load[i] += getattr(sp, "size_bytes", 0) or getattr(sp, "length", 0) or 1
    return [g for g in groups if g]


def _scan_task(spec: K.ScanSpec, groups: Iterator[Any]) -> Iterator[pa.RecordBatch]:
    return K.scan_split(spec, (sp for g in groups for sp in g))


def _values_task(table: pa.Table, _: Iterator[Any]) -> Iterator[pa.RecordBatch]:
    if table.num_columns == 0:
        yield from table.to_batches()
        return
    yield from K.table_batches(table)


def _map_task(steps: tuple[K.Step, ...], it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    return K.run_steps(steps, it)


def _broadcast_join_task(spec: K.JoinSpec, bc: Any, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    left = K.to_table(it, spec.left_schema, "broadcast join probe side")
    if left.num_rows == 0 and spec.kind in ("inner", "left", "semi", "anti"):
        return iter(())
    right = bc.value
    out = K.join_tables(spec, left, right)
    return K.table_batches(out)


def _semi_probe_task(spec: K.JoinSpec, bc: Any, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    right = K.to_table(it, spec.right_schema, "semi-join probe side")
    if right.num_rows == 0:
        return iter(())
    return iter([K.semi_probe(spec, bc.value, right)])


def _zip_join_task(spec: K.JoinSpec, lit: Iterator[pa.RecordBatch], rit: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    left = K.to_table(lit, spec.left_schema, "hash join left side")
    right = K.to_table(rit, spec.right_schema, "hash join build side")
    return K.table_batches(K.join_tables(spec, left, right))


def _partial_agg_task(keys: tuple[str, ...], aggs: tuple[K.AggSpec, ...], schema: pa.Schema,
                      it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    t = K.to_table(it, schema, "aggregation input")
    if t.num_rows == 0 and keys:
        return iter(())
    return K.table_batches(K.partial_aggregate(keys, aggs, t))


def _final_agg_task(keys: tuple[str, ...], aggs: tuple[K.AggSpec, ...], in_schema: pa.Schema,
                    out_schema: pa.Schema, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    t = K.to_table(it, in_schema, "aggregation state")
    if t.num_rows == 0:
        if keys:
            return iter(())
        t = K.partial_aggregate(keys, aggs, in_schema.empty_table())
    return K.table_batches(K.final_aggregate(keys, aggs, t, out_schema))


def _full_agg_task(keys: tuple[str, ...], aggs: tuple[K.AggSpec, ...], in_schema: pa.Schema,
                   out_schema: pa.Schema, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    t = K.to_table(it, in_schema, "aggregation input")
    if t.num_rows == 0 and keys:
        return iter(())
    return K.table_batches(K.full_aggregate(keys, aggs, t, out_schema))


def _sort_task(keys: tuple[tuple[str, bool, bool], ...], schema: pa.Schema, limit: int | None,
               it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    t = K.to_table(it, schema, "sort buffer")
    if t.num_rows == 0:
        return iter(())
    out = K.sort_table(keys, t) if limit is None else K.top_n(keys, limit, t)
    memory.hold(out, "sort output")
    return K.table_batches(out)


def _limit_task(n: int, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    left = n
    for b in it:
        if left <= 0:
            return
        b = b.slice(0, left)
        left -= b.num_rows
        yield b


def _offset_limit_task(offset: int, n: int | None, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    skip = offset
    left = n
    for b in it:
        if skip:
            if b.num_rows <= skip:
                skip -= b.num_rows
                continue
            b = b.slice(skip)
            skip = 0
        if left is not None:
            if left <= 0:
                return
            b = b.slice(0, left)
            left -= b.num_rows
        yield b


def _generate_task(function: str, arg: Any, outer: bool, keys: tuple[str, ...], schema: pa.Schema,
                   it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for b in it:
        out = K.generate(function, arg, outer, keys, schema, b)
        if out.num_rows:
            yield out


def _window_task(node_args: tuple, in_schema: pa.Schema, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    t = K.to_table(it, in_schema, "window partition")
    if t.num_rows == 0:
        return iter(())
    return K.table_batches(W.compute_window(*node_args, t))


def _sample_task(keys: tuple[str, ...], k: int, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for b in it:
        if b.num_rows == 0:
            continue
        step = max(1, b.num_rows // k)
        yield b.select(list(keys)).take(pa.array(np.arange(0, b.num_rows, step)))


# ---------------------------------------------------------------- compiler


class Compiler:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.shared: dict[int, Any] = {}
        # what the driver materializes for this query (broadcast sides), under its cap
        self.held = memory.for_driver(ctx)

    def _hold(self, table: pa.Table, what: str) -> pa.Table:
        if self.held is not None:
            self.held.add(table.nbytes, what)
        return table

    def release(self) -> None:
        """Drop the cached shared scans and the driver's reservations (call when the
        query's results are consumed, or when compiling failed)."""
        if self.held is not None:
            self.held.release()
        for rdd in self.shared.values():
            try:
                rdd.unpersist()
            except Exception:
                pass
        self.shared.clear()

    def compile(self, node: PhysicalPlan) -> Any:
        try:
            return self._compile(node)
        except BaseException:
            self.release()  # nobody will consume a result: free what compiling held
            raise

    def _compile(self, node: PhysicalPlan) -> Any:
        ctx = self.ctx
        match node:
            case ScanExec() if node.shared is not None and node.shared in self.shared:
                return self.shared[node.shared]
            case ScanExec():
                splits = list(node.splits)
                if not splits:
                    return ctx.parallelize([], 1)
                groups = balance_splits(splits, node.partitions)
                rdd = ctx.parallelize(groups, len(groups))
                rdd = rdd.mapPartitions(functools.partial(_scan_task, node.spec))
                if node.shared is not None:
                    rdd = rdd.persist()
                    self.shared[node.shared] = rdd
                return rdd
            case ValuesExec():
                return ctx.parallelize([0], 1).mapPartitions(functools.partial(_values_task, node.table))
            case MapExec():
                child = self.compile(node.input)
                return child.mapPartitions(functools.partial(_map_task, node.steps),
                                           preservesPartitioning=_keeps_keys(node, child.partitioner))
            case HashJoinExec():
                return self._join(node)
            case AggregateExec():
                return self._aggregate(node)
            case SortExec():
                return self._sort(node)
            case LimitExec():
                rdd = self.compile(node.input)
                if node.limit is not None:
                    rdd = rdd.mapPartitions(functools.partial(_limit_task, node.limit + node.offset))
                if rdd.getNumPartitions() > 1:
                    rdd = rdd.shuffleBatches(SinglePartitioner())
                return rdd.mapPartitions(functools.partial(_offset_limit_task, node.offset, node.limit))
            case UnionExec():
                rdds = [self.compile(i) for i in node.inputs]
                return ctx.union(rdds) if len(rdds) > 1 else rdds[0]
            case ExchangeExec():
                from rdd.columnar import BatchHashPartitioner
                return self.compile(node.input).shuffleBatches(BatchHashPartitioner(node.keys, node.num_partitions))
            case WindowExec():
                rdd = self.compile(node.input)
                rdd = self._exchange(rdd, node.partition_keys, node.num_partitions)
                args = (node.partition_keys, node.order_keys, node.functions, node.out_schema)
                return rdd.mapPartitions(functools.partial(_window_task, args, node.input.schema))
            case GenerateExec():
                return self.compile(node.input).mapPartitions(functools.partial(
                    _generate_task, node.function, node.arg, node.outer, node.keys, node.out_schema))
            case _:
                assert_never(node)

    def _exchange(self, rdd: Any, keys: tuple[str, ...], n: int) -> Any:
        from rdd.columnar import BatchHashPartitioner
        if not keys:
            if rdd.getNumPartitions() == 1:
                return rdd
            return rdd.shuffleBatches(SinglePartitioner())
        part = BatchHashPartitioner(tuple(keys), n)
        if rdd.partitioner == part:
            return rdd
        return rdd.shuffleBatches(part)

    def _join(self, node: HashJoinExec) -> Any:
        spec = node.spec
        left = self.compile(node.left)
        if node.strategy == "broadcast_left":
            lt = self._hold(K.to_table(left.collect(), spec.left_schema), "broadcast join table")
            lt = lt.append_column(K.ROW_ID, pa.array(np.arange(lt.num_rows, dtype=np.int64)))
            bc = self.ctx.broadcast(lt)
            right_rdd = self.compile(node.right)
            ids = right_rdd.mapPartitions(functools.partial(_semi_probe_task, spec, bc)).collect()
            hit = np.zeros(lt.num_rows, dtype=bool)
            for b in ids:
                hit[np.asarray(b.column(0).to_numpy())] = True
            keep = hit if spec.kind == "semi" else ~hit
            out = lt.filter(pa.array(keep)).drop_columns([K.ROW_ID])
            return self.ctx.parallelize([0], 1).mapPartitions(functools.partial(_values_task, out))
        if node.strategy == "broadcast":
            right_rdd = self.compile(node.right)
            right = self._hold(K.to_table(right_rdd.collect(), spec.right_schema), "broadcast join table")
            bc = self.ctx.broadcast(right)
            return left.mapPartitions(functools.partial(_broadcast_join_task, spec, bc))
        right = self.compile(node.right)
        from rdd.columnar import BatchHashPartitioner
        n = node.num_partitions
        if not spec.left_keys:
            left = self._exchange(left, (), 1)
            right = self._exchange(right, (), 1)
        else:
            lp, rp = left.partitioner, right.partitioner
            # Reuse an existing hash partitioning of either side (no exchange for it).
            if isinstance(lp, BatchHashPartitioner) and lp.keys == spec.left_keys:
                n = lp.num_partitions
            elif isinstance(rp, BatchHashPartitioner) and rp.keys == spec.right_keys:
                n = rp.num_partitions
            left = self._exchange(left, spec.left_keys, n)
            right = self._exchange(right, spec.right_keys, n)
        return left.zipPartitions(right, functools.partial(_zip_join_task, spec))

    def _aggregate(self, node: AggregateExec) -> Any:
        rdd = self.compile(node.input)
        in_schema = node.input.schema
        keys = node.keys
        from rdd.columnar import BatchHashPartitioner
        part = rdd.partitioner
        placed = rdd.getNumPartitions() == 1 or (
            bool(keys) and isinstance(part, BatchHashPartitioner) and set(part.keys) <= set(keys))
        # Correctness does not rest on plan-time partition counts: exchange unless the rows
        # of each group already share a partition.
        exchange = not placed
        if node.partial and exchange:
            rdd = rdd.mapPartitions(functools.partial(_partial_agg_task, keys, node.aggs, in_schema))
            rdd = self._exchange(rdd, keys, node.num_partitions)
            pschema = K.partial_aggregate(keys, node.aggs, in_schema.empty_table()).schema
            return rdd.mapPartitions(functools.partial(_final_agg_task, keys, node.aggs, pschema, node.out_schema),
                                     preservesPartitioning=True)
        if exchange:
            rdd = self._exchange(rdd, keys, node.num_partitions)
        return rdd.mapPartitions(functools.partial(_full_agg_task, keys, node.aggs, in_schema, node.out_schema),
                                 preservesPartitioning=True)

    def _sort(self, node: SortExec) -> Any:
        rdd = self.compile(node.input)
        schema = node.input.schema
        if not node.global_:
            return rdd.mapPartitions(functools.partial(_sort_task, node.keys, schema, None), preservesPartitioning=True)
        if node.limit is not None:
            n = node.limit + node.offset
            rdd = rdd.mapPartitions(functools.partial(_sort_task, node.keys, schema, n))
            if rdd.getNumPartitions() > 1:
                rdd = rdd.shuffleBatches(SinglePartitioner())
            rdd = rdd.mapPartitions(functools.partial(_sort_task, node.keys, schema, n))
            if node.offset:
                rdd = rdd.mapPartitions(functools.partial(_offset_limit_task, node.offset, node.limit))
            return rdd
        nparts = rdd.getNumPartitions()
        if nparts > 1:
            # Range-partition on a sample of the sort keys, then sort each range.
            key_names = tuple(k for k, _, _ in node.keys)
            sample = K.to_table(rdd.mapPartitions(functools.partial(_sample_task, key_names, 200)).collect(),
                                schema=pa.schema([schema.field(k) for k in key_names]))
            if sample.num_rows > 1000 * 0 + nparts * 4:
                sample = K.sort_table(node.keys, sample)
                step = sample.num_rows / nparts
                idx = [int(step * i) for i in range(1, nparts)]
                bounds = sample.take(pa.array(idx))
                rdd = rdd.shuffleBatches(RangeBatchPartitioner(node.keys, bounds))
            else:
                rdd = rdd.shuffleBatches(SinglePartitioner())
        return rdd.mapPartitions(functools.partial(_sort_task, node.keys, schema, None))


def _keeps_keys(node: MapExec, partitioner: Any) -> bool:
    """Rows never move between partitions in a MapExec; the partitioning still holds if
    every key column it was built on passes through unchanged."""
    from planner.expressions import ColumnRef
    keys = getattr(partitioner, "keys", None)
    if partitioner is None or not isinstance(keys, tuple):
        return False
    live = set(keys)
    for s in node.steps:
        if s.kind == "project":
            live = {k for k, e in s.exprs if isinstance(e, ColumnRef) and e.column.key == k and k in live}
    return live == set(keys) and all(isinstance(k, str) for k in keys)
