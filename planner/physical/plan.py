"""Physical plan nodes and the strategies that choose them from an optimized logical plan.

Each node knows its output ``schema`` (Arrow fields named by column key) and prints one
EXPLAIN line. Join selection is partition-aware: co-partitioned inputs join without an
exchange, a small build side is broadcast (``lamna.broadcast.threshold`` bytes), anything
else is shuffled on the join keys. Aggregates run partially map-side, then finally after
a shuffle on the grouping keys (``hive.map.aggr``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeAlias, assert_never

import pyarrow as pa

from planner import logical as L
from planner import types as T
from planner.expressions import (
    Call,
    Column,
    ColumnRef,
    Expr,
    Literal,
    WindowCall,
    and_all,
    column_ids,
    conjuncts,
)
from planner.memo import planning
from planner.physical import kernels as K
from planner.physical.pcexpr import to_pc
from planner.rules.stats import estimate_bytes, estimate_rows


def schema_of(cols: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.key, c.type if c.type != T.NULL else T.NULL) for c in cols])


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanExec:
    """``shared``: several scans of this table in one query read it once (a cached RDD
    with the union of their columns, named by field); each consumer renames and filters."""

    table: str
    spec: K.ScanSpec = field(compare=False)
    est_bytes: float = 0.0
    splits: tuple = field(default=(), compare=False)
    partitions: int = 1
    shared: int | None = None

    @property
    def schema(self) -> pa.Schema:
        return self.spec.schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return ()

    def explain_line(self) -> str:
        s = f"ScanExec {self.table} [{', '.join(self.spec.fields)}]"
        if self.spec.arrow_filter is not None:
            s += f" pushed={self.spec.arrow_filter}"
        if self.spec.filters:
            s += " filters=[" + ", ".join(map(str, self.spec.filters)) + "]"
        if self.spec.limit is not None:
            s += f" limit={self.spec.limit}"
        if self.shared is not None:
            s += " shared"
        describe = getattr(self.spec.source, "describe_splits", None)  # optional ScanSource hook
        if describe is not None:
            s += f" ({describe(self.splits)})"
        return s


@dataclass(frozen=True, slots=True, kw_only=True)
class ValuesExec:
    table: pa.Table = field(compare=False)

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return ()

    def explain_line(self) -> str:
        return f"ValuesExec rows={self.table.num_rows}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MapExec:
    """Fused filters and projections, pipelined within a partition."""

    input: PhysicalPlan
    steps: tuple[K.Step, ...]
    out_schema: pa.Schema

    @property
    def schema(self) -> pa.Schema:
        return self.out_schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        parts = []
        for s in self.steps:
            if s.kind == "filter":
                parts.append(f"Filter {s.condition}")
            else:
                parts.append("Project [" + ", ".join(str(e) for _, e in s.exprs) + "]")
        return "MapExec " + " → ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class HashJoinExec:
    left: PhysicalPlan
    right: PhysicalPlan
    spec: K.JoinSpec = field(compare=False)
    strategy: str  # "broadcast" | "shuffle" | "copartitioned"
    num_partitions: int = 1

    @property
    def schema(self) -> pa.Schema:
        return self.spec.out_schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.left, self.right)

    def explain_line(self) -> str:
        s = self.spec
        keys = ", ".join(f"{a} = {b}" for a, b in zip(s.left_keys, s.right_keys)) or "(no keys)"
        name = {"broadcast": "BroadcastHashJoinExec", "shuffle": "ShuffleHashJoinExec",
                "copartitioned": "CoPartitionedHashJoinExec",
                "broadcast_left": "BroadcastLeftSemiJoinExec"}[self.strategy]
        if not s.left_keys:
            name = "BroadcastNestedLoopJoinExec"
        out = f"{name} {s.kind}{' null-aware' if s.null_aware else ''} on [{keys}]"
        if s.residual is not None:
            out += f" residual={s.residual}"
        if self.strategy in ("shuffle", "copartitioned"):
            out += f" partitions={self.num_partitions}"
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregateExec:
    input: PhysicalPlan
    keys: tuple[str, ...]
    aggs: tuple[K.AggSpec, ...]
    out_schema: pa.Schema
    partial: bool
    num_partitions: int
    exchange: bool = True
    text: str = ""

    @property
    def schema(self) -> pa.Schema:
        return self.out_schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        mode = "partial+final" if self.partial and self.exchange else "complete"
        ex = f" exchange=hash({', '.join(self.keys) or 'single'}, {self.num_partitions})" if self.exchange else " no-exchange"
        return f"HashAggregateExec {mode}{ex} {self.text}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SortExec:
    input: PhysicalPlan
    keys: tuple[tuple[str, bool, bool], ...]
    global_: bool
    limit: int | None = None
    offset: int = 0

    @property
    def schema(self) -> pa.Schema:
        return self.input.schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        ks = ", ".join(f"{k} {'ASC' if a else 'DESC'} NULLS {'FIRST' if nf else 'LAST'}" for k, a, nf in self.keys)
        if self.limit is not None:
            return f"TopNExec n={self.limit}{f' offset={self.offset}' if self.offset else ''} [{ks}]"
        return f"{'SortExec' if self.global_ else 'SortWithinPartitionsExec'} [{ks}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitExec:
    input: PhysicalPlan
    limit: int | None
    offset: int = 0

    @property
    def schema(self) -> pa.Schema:
        return self.input.schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return f"LimitExec {self.limit}" + (f" offset {self.offset}" if self.offset else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class UnionExec:
    inputs: tuple[PhysicalPlan, ...]
    out_schema: pa.Schema

    @property
    def schema(self) -> pa.Schema:
        return self.out_schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return self.inputs

    def explain_line(self) -> str:
        return "UnionExec"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeExec:
    input: PhysicalPlan
    keys: tuple[str, ...]
    num_partitions: int

    @property
    def schema(self) -> pa.Schema:
        return self.input.schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return f"ExchangeExec hash({', '.join(self.keys)}, {self.num_partitions})"


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowExec:
    input: PhysicalPlan
    partition_keys: tuple[str, ...]
    order_keys: tuple[tuple[str, bool, bool], ...]
    functions: tuple[tuple[str, WindowCall, tuple[str, ...]], ...] = field(compare=False)
    out_schema: pa.Schema
    num_partitions: int

    @property
    def schema(self) -> pa.Schema:
        return self.out_schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return "WindowExec [" + ", ".join(f"{w} AS {k}" for k, w, _ in self.functions) + "]"


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerateExec:
    input: PhysicalPlan
    function: str
    arg: Expr
    outer: bool
    keys: tuple[str, ...]
    out_schema: pa.Schema

    @property
    def schema(self) -> pa.Schema:
        return self.out_schema

    def children(self) -> tuple[PhysicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return f"GenerateExec {'outer ' if self.outer else ''}{self.function}({self.arg})"


PhysicalPlan: TypeAlias = (ScanExec | ValuesExec | MapExec | HashJoinExec | AggregateExec | SortExec
                           | LimitExec | UnionExec | ExchangeExec | WindowExec | GenerateExec)


def explain(node: PhysicalPlan, indent: int = 0) -> str:
    lines = ["  " * indent + node.explain_line()]
    for k in node.children():
        lines.append(explain(k, indent + 1))
    return "\n".join(lines)


# ---------------------------------------------------------------------- planning


@dataclass(frozen=True)
class PlannerConfig:
    broadcast_threshold: float = 64 * 1024 * 1024
    shuffle_partitions: int | None = None
    parallelism: int = 2
    map_aggr: bool = True
    bytes_per_partition: float = 32 * 1024 * 1024

    @staticmethod
    def from_settings(settings: dict[str, str], parallelism: int) -> PlannerConfig:
        def get(*names: str) -> str | None:
            for n in names:
                if n in settings:
                    return settings[n]
            return None
        bt = get("lamna.broadcast.threshold", "spark.sql.autoBroadcastJoinThreshold",
                 "hive.auto.convert.join.noconditionaltask.size")
        sp = get("spark.sql.shuffle.partitions", "mapred.reduce.tasks", "mapreduce.job.reduces")
        ma = get("hive.map.aggr")
        sp_i = int(sp) if sp is not None and int(sp) > 0 else None
        return PlannerConfig(broadcast_threshold=float(bt) if bt is not None else 64 * 1024 * 1024,
                             shuffle_partitions=sp_i, parallelism=max(1, parallelism),
                             map_aggr=(ma or "true").lower() != "false")

    def partitions_for(self, est_bytes: float) -> int:
        if self.shuffle_partitions is not None:
            return self.shuffle_partitions
        n = math.ceil(est_bytes / self.bytes_per_partition)
        return max(1, min(n, 2 * self.parallelism))


class Planner:
    def __init__(self, config: PlannerConfig) -> None:
        self.config = config
        self._tmp = 0
        self._shared: dict[str, tuple[int, tuple[str, ...]]] = {}

    def plan_query(self, node: L.LogicalPlan) -> PhysicalPlan:
        """Plan a whole query: tables scanned more than once are read once."""
        with planning():
            return self._plan_query(node)

    def _plan_query(self, node: L.LogicalPlan) -> PhysicalPlan:
        scans: dict[str, list[L.Scan]] = {}

        def visit(n: L.LogicalPlan) -> None:
            if isinstance(n, L.Scan):
                scans.setdefault(n.table, []).append(n)
            for k in n.children():
                visit(k)
        visit(node)
        for table, group in scans.items():
            if len(group) < 2 or any(s.limit for s in group) or decoded_in_memory(group[0].source):
                continue
            names = list(group[0].source.schema.names)
            used = {f for s in group for f in s.fields}
            self._shared[table] = (len(self._shared) + 1, tuple(f for f in names if f in used))
        return self.plan(node)

    def tmp(self) -> str:
        self._tmp += 1
        return f"t{self._tmp}"

    def plan(self, node: L.LogicalPlan) -> PhysicalPlan:
        match node:
            case L.Scan():
                return self._scan(node)
            case L.Values():
                cols = []
                for j, c in enumerate(node.columns):
                    cols.append(pa.array([r[j] for r in node.rows], c.type if c.type != T.NULL else T.NULL))
                if not node.columns:  # SELECT without FROM: rows without columns
                    t = pa.Table.from_batches([pa.RecordBatch.from_struct_array(
                        pa.array([{}] * len(node.rows), pa.struct([])))])
                    return ValuesExec(table=t)
                return ValuesExec(table=pa.Table.from_arrays(cols, schema=schema_of(node.columns)))
            case L.Filter():
                inner = self.plan(node.input)
                return _add_step(inner, K.Step("filter", condition=node.condition), inner.schema)
            case L.Project():
                inner = self.plan(node.input)
                out = schema_of(tuple(c for c, _ in node.exprs))
                return _add_step(inner, K.Step("project", exprs=tuple((c.key, e) for c, e in node.exprs),
                                               schema=out), out)
            case L.Join():
                return self._join(node)
            case L.Aggregate():
                return self._aggregate(node)
            case L.Sort():
                keys = tuple((_key_of(k.expr), k.ascending, k.nulls_first) for k in node.keys)
                return SortExec(input=self.plan(node.input), keys=keys, global_=not node.local)
            case L.Limit():
                if isinstance(node.input, L.Sort) and not node.input.local and node.limit is not None:
                    s = node.input
                    keys = tuple((_key_of(k.expr), k.ascending, k.nulls_first) for k in s.keys)
                    return SortExec(input=self.plan(s.input), keys=keys, global_=True,
                                    limit=node.limit, offset=node.offset)
                return LimitExec(input=self.plan(node.input), limit=node.limit, offset=node.offset)
            case L.Union():
                ins = []
                out = schema_of(node.columns)
                for i in node.inputs:
                    p = self.plan(i)
                    ins.append(_add_step(p, K.Step("project", exprs=tuple((c.key, s.ref()) for c, s in zip(node.columns, i.schema)),
                                                   schema=out), out))
                return UnionExec(inputs=tuple(ins), out_schema=out)
            case L.Window():
                return self._window(node)
            case L.Generate():
                inner = self.plan(node.input)
                out = schema_of(node.schema)
                return GenerateExec(input=inner, function=node.function, arg=node.arg, outer=node.outer,
                                    keys=tuple(c.key for c in node.columns), out_schema=out)
            case L.Repartition():
                inner = self.plan(node.input)
                keys = []
                exprs = [(f.name, ColumnRef(_col_from_field(f))) for f in inner.schema]
                for k in node.keys:
                    if isinstance(k, ColumnRef):
                        keys.append(k.column.key)
                    else:
                        nm = self.tmp()
                        exprs.append((nm, k))
                        keys.append(nm)
                if len(exprs) > len(inner.schema):
                    out = pa.schema(list(inner.schema) + [pa.field(n, e.type) for n, e in exprs[len(inner.schema):]])
                    inner = _add_step(inner, K.Step("project", exprs=tuple(exprs), schema=out), out)
                return ExchangeExec(input=inner, keys=tuple(keys),
                                    num_partitions=self.config.partitions_for(estimate_bytes(node)))
            case _:
                assert_never(node)

    # -- scans
    def _scan(self, node: L.Scan) -> PhysicalPlan:
        if node.table in self._shared:
            return self._shared_scan(node)
        return self._own_scan(node)

    def _shared_scan(self, node: L.Scan) -> PhysicalPlan:
        group, fields = self._shared[node.table]
        types = {f.name: T.normalize(f.type) for f in node.source.schema}
        raw = pa.schema([pa.field(f, types[f]) for f in fields])
        spec = K.ScanSpec(source=node.source, fields=fields, schema=raw, arrow_filter=None, filters=(), limit=None)
        splits = tuple(node.source.splits(None))
        parts = max(1, min(len(splits), 2 * self.config.parallelism))
        base = ScanExec(table=node.table, spec=spec, est_bytes=estimate_bytes(node), splits=splits,
                        partitions=parts, shared=group)
        out = schema_of(node.columns)
        rename = K.Step("project", exprs=tuple((c.key, ColumnRef(_NamedColumn(id=c.id, name=f, type=c.type)))
                                                for c, f in zip(node.columns, node.fields)), schema=out)
        plan: PhysicalPlan = MapExec(input=base, steps=(rename,), out_schema=out)
        for cond in node.filters:
            plan = _add_step(plan, K.Step("filter", condition=cond), out)
        return plan

    def _own_scan(self, node: L.Scan) -> ScanExec:
        name_map = {c.id: f for c, f in zip(node.columns, node.fields)}
        pushed = []
        for f in node.filters:
            e = to_pc(f, lambda r: name_map.get(r.column.id))
            if e is not None:
                pushed.append(e)
        arrow_filter = None
        for p in pushed:
            arrow_filter = p if arrow_filter is None else (arrow_filter & p)
        spec = K.ScanSpec(source=node.source, fields=node.fields, schema=schema_of(node.columns),
                          arrow_filter=arrow_filter, filters=node.filters, limit=node.limit)
        splits = tuple(node.source.splits(arrow_filter))
        # A few large partitions beat many small ones on a small machine: every partition
        # of a probe side rebuilds the broadcast hash tables it joins with.
        parts = max(1, min(len(splits), 2 * self.config.parallelism))
        return ScanExec(table=node.table, spec=spec, est_bytes=estimate_bytes(node), splits=splits,
                        partitions=parts)

    # -- joins
    def _join(self, node: L.Join) -> PhysicalPlan:
        kind = node.kind
        left_l, right_l = node.left, node.right
        if kind == "right":  # a right join is a left join with the sides swapped
            left_l, right_l, kind = right_l, left_l, "left"
        lids = {c.id for c in left_l.schema}
        rids = {c.id for c in right_l.schema}
        lkeys: list[Expr] = []
        rkeys: list[Expr] = []
        residual: list[Expr] = []
        for c in conjuncts(node.condition):
            if isinstance(c, Call) and c.name == "eq":
                a, b = c.args
                ai, bi = column_ids(a), column_ids(b)
                if ai and bi and ai <= lids and bi <= rids:
                    lkeys.append(a); rkeys.append(b); continue
                if ai and bi and ai <= rids and bi <= lids:
                    lkeys.append(b); rkeys.append(a); continue
            residual.append(c)
        lbytes, rbytes = estimate_bytes(left_l), estimate_bytes(right_l)
        # For inner joins build on the smaller side (the right input is the build side).
        if kind in ("inner", "cross") and lbytes < rbytes and node.hint != "broadcast":
            left_l, right_l = right_l, left_l
            lkeys, rkeys = rkeys, lkeys
            lbytes, rbytes = rbytes, lbytes
        left = self.plan(left_l)
        right = self.plan(right_l)
        left, lk = self._key_columns(left, lkeys)
        right, rk = self._key_columns(right, rkeys)
        res = and_all(residual)
        out_schema = left.schema if kind in ("semi", "anti") else pa.schema(list(left.schema) + list(right.schema))
        res_pc = to_pc(res) if res is not None else None
        spec = K.JoinSpec(kind=kind if kind != "cross" else "inner", left_keys=lk, right_keys=rk, residual=res,
                          residual_pc=res_pc, null_aware=node.null_aware,
                          left_schema=left.schema, right_schema=right.schema, out_schema=out_schema)
        if not lk and kind == "full":
            strategy, n = "shuffle", 1
        elif kind == "full":
            strategy, n = "shuffle", self.config.partitions_for(lbytes + rbytes)
        elif kind in ("semi", "anti") and lk and not node.null_aware and lbytes < rbytes \
                and lbytes <= self.config.broadcast_threshold:
            # small left, big right: hash the left once, stream the right past it
            strategy, n = "broadcast_left", 1
        elif not lk or node.hint == "broadcast" or node.null_aware or (
                rbytes <= self.config.broadcast_threshold and self._broadcast_pays(left_l, right_l, left)):
            strategy, n = "broadcast", 1
        else:
            strategy, n = "shuffle", self.config.partitions_for(lbytes + rbytes)
        if strategy == "shuffle" and lk:
            lp, rp = output_partitioning(left), output_partitioning(right)
            if lp is not None and rp is not None and lp[0] == lk and rp[0] == rk and lp[1] == rp[1]:
                strategy, n = "copartitioned", lp[1]
        out: PhysicalPlan = HashJoinExec(left=left, right=right, spec=spec, strategy=strategy, num_partitions=n)
        want = schema_of(node.schema)
        if not out.schema.equals(want):
            names = set(out.schema.names)
            exprs = tuple((f.name, ColumnRef(_col_from_field(f))) for f in want if f.name in names)
            out = _add_step(out, K.Step("project", exprs=exprs, schema=want), want)
        return out

    def _broadcast_pays(self, left_l: L.LogicalPlan, right_l: L.LogicalPlan, left: PhysicalPlan) -> bool:
        """Broadcasting rebuilds the right side's hash table in every left partition;
        a shuffle moves both sides once. Compare rows touched."""
        p = num_partitions(left)
        lrows, rrows = estimate_rows(left_l), estimate_rows(right_l)
        return rrows * (p - 1) <= lrows + rrows

    def _key_columns(self, plan: PhysicalPlan, keys: list[Expr]) -> tuple[PhysicalPlan, tuple[str, ...]]:
        names = []
        extra = []
        for k in keys:
            if isinstance(k, ColumnRef):
                names.append(k.column.key)
            else:
                nm = self.tmp()
                extra.append((nm, k))
                names.append(nm)
        if extra:
            exprs = tuple((f.name, ColumnRef(_col_from_field(f))) for f in plan.schema) + tuple(extra)
            out = pa.schema(list(plan.schema) + [pa.field(n, e.type) for n, e in extra])
            plan = _add_step(plan, K.Step("project", exprs=exprs, schema=out), out)
        return plan, tuple(names)

    # -- aggregates
    def _aggregate(self, node: L.Aggregate) -> PhysicalPlan:
        if node.grouping_sets is not None:
            return self._grouping_sets(node)
        inner = self.plan(node.input)
        exprs: list[tuple[str, Expr]] = []
        keys = []
        for c, e in node.keys:
            exprs.append((c.key, e))
            keys.append(c.key)
        aggs = []
        def arg_column(arg: Expr) -> str:
            """The key of the pre-projected column holding ``arg``."""
            if isinstance(arg, ColumnRef):
                if arg.column.key not in [k for k, _ in exprs]:
                    exprs.append((arg.column.key, arg))
                return arg.column.key
            key = self.tmp()
            exprs.append((key, arg))
            return key
        for c, a in node.aggregates:
            arg_key = arg2_key = None
            if a.args:
                arg_key = arg_column(a.args[0])
                if len(a.args) > 1 and a.name == "count":
                    # count(DISTINCT a, b): count distinct non-null tuples
                    arg_key = self.tmp()
                    exprs.append((arg_key, _struct_key(a.args)))
                elif len(a.args) > 1:  # corr(x, y), max_by(x, y), ...
                    arg2_key = arg_column(a.args[1])
            aggs.append(K.AggSpec(name=a.name, arg=arg_key, out=c.key, type=a.type,
                                  distinct=a.distinct, params=a.params, arg2=arg2_key))
        pre = pa.schema([pa.field(k, e.type) for k, e in exprs])
        inner = _add_step(inner, K.Step("project", exprs=tuple(exprs), schema=pre), pre)
        out = schema_of(node.schema)
        aggs_t = tuple(aggs)
        partial = self.config.map_aggr and K.can_partial(aggs_t)
        n = 1 if not keys else self.config.partitions_for(estimate_bytes(node.input) * (0.25 if partial else 1.0))
        text = f"keys=[{', '.join(str(c) for c, _ in node.keys)}] aggs=[{', '.join(f'{a} AS {c}' for c, a in node.aggregates)}]"
        inp = output_partitioning(inner)
        exchange = bool(keys) and num_partitions(inner) > 1 and not (inp is not None and set(inp[0]) <= set(keys))
        if not exchange and inp is not None and keys:
            n = inp[1]
        return AggregateExec(input=inner, keys=tuple(keys), aggs=aggs_t, out_schema=out, partial=partial,
                             num_partitions=n, exchange=exchange or (not keys and num_partitions(inner) > 1), text=text)

    def _grouping_sets(self, node: L.Aggregate) -> PhysicalPlan:
        assert node.grouping_sets is not None and node.grouping_id is not None
        branches = []
        out = schema_of(node.schema)
        nkeys = len(node.keys)
        for s in node.grouping_sets:
            sub_keys = tuple(node.keys[i] for i in s)
            agg = L.Aggregate(input=node.input, keys=sub_keys, aggregates=node.aggregates)
            p = self.plan(agg)
            gid = 0
            for i in range(nkeys):
                if i not in s:
                    gid |= 1 << (nkeys - 1 - i)
            exprs = []
            for i, (c, _) in enumerate(node.keys):
                exprs.append((c.key, c.ref() if i in s else Literal(None, c.type)))
            exprs.append((node.grouping_id.key, Literal(gid, T.INT64)))
            for c, _ in node.aggregates:
                exprs.append((c.key, c.ref()))
            branches.append(_add_step(p, K.Step("project", exprs=tuple(exprs), schema=out), out))
        return UnionExec(inputs=tuple(branches), out_schema=out)

    # -- windows
    def _window(self, node: L.Window) -> PhysicalPlan:
        inner = self.plan(node.input)
        first = node.functions[0][1]
        exprs: list[tuple[str, Expr]] = [(f.name, ColumnRef(_col_from_field(f))) for f in inner.schema]
        known = {f.name for f in inner.schema}

        def key_for(e: Expr) -> str:
            if isinstance(e, ColumnRef) and e.column.key in known:
                return e.column.key
            for k, x in exprs:
                if x == e:
                    return k
            nm = self.tmp()
            exprs.append((nm, e))
            return nm
        part = tuple(key_for(e) for e in first.partition_by)
        order = tuple((key_for(k.expr), k.ascending, k.nulls_first) for k in first.order_by)
        fns = []
        for c, w in node.functions:
            fns.append((c.key, w, tuple(key_for(a) for a in w.args)))
        if len(exprs) > len(inner.schema):
            pre = pa.schema([pa.field(k, e.type) for k, e in exprs])
            inner = _add_step(inner, K.Step("project", exprs=tuple(exprs), schema=pre), pre)
        out = pa.schema(list(inner.schema) + [pa.field(c.key, c.type) for c, _ in node.functions])
        n = 1 if not part else self.config.partitions_for(estimate_bytes(node))
        w = WindowExec(input=inner, partition_keys=part, order_keys=order, functions=tuple(fns),
                       out_schema=out, num_partitions=n)
        want = schema_of(node.schema)
        if not w.schema.equals(want):
            return _add_step(w, K.Step("project", exprs=tuple((f.name, ColumnRef(_col_from_field(f))) for f in want),
                                       schema=want), want)
        return w


def output_partitioning(node: PhysicalPlan) -> tuple[tuple[str, ...], int] | None:
    """The hash partitioning (key columns, count) of a node's output, as compiled."""
    match node:
        case AggregateExec():
            if node.keys and node.exchange:
                return node.keys, node.num_partitions
            return output_partitioning(node.input) if node.keys else None
        case ExchangeExec():
            return node.keys, node.num_partitions
        case MapExec():
            inner = output_partitioning(node.input)
            if inner is None:
                return None
            live = set(inner[0])
            for s in node.steps:
                if s.kind == "project":
                    live = {k for k, e in s.exprs if isinstance(e, ColumnRef) and e.column.key == k and k in live}
            return inner if live == set(inner[0]) else None
        case SortExec() if not node.global_:
            return output_partitioning(node.input)
        case WindowExec() if node.partition_keys:
            return node.partition_keys, node.num_partitions
        case _:
            return None


def decoded_in_memory(source: object) -> bool:
    """Sources already holding Arrow data in memory (registered tables, the columnar
    cache): re-reading them is cheap, so their scans are not shared."""
    if getattr(source, "in_memory", False):
        return True
    try:
        first = source.splits(None)[:1]  # type: ignore[attr-defined]
    except Exception:
        return False
    return bool(first) and first[0].format in ("arrow", "cache", "memory")


def num_partitions(node: PhysicalPlan) -> int:
    match node:
        case ScanExec():
            return node.partitions
        case ValuesExec():
            return 1
        case MapExec() | GenerateExec() | LimitExec():
            return num_partitions(node.input) if not isinstance(node, LimitExec) else 1
        case HashJoinExec():
            if node.strategy == "broadcast":
                return num_partitions(node.left)
            if node.strategy == "broadcast_left":
                return 1
            return node.num_partitions
        case AggregateExec():
            if not node.keys:
                return 1
            return node.num_partitions if node.exchange else num_partitions(node.input)
        case SortExec():
            return num_partitions(node.input) if not node.global_ or node.limit is None else 1
        case UnionExec():
            return sum(num_partitions(i) for i in node.inputs)
        case ExchangeExec() | WindowExec():
            return node.num_partitions
        case _:
            assert_never(node)


def _struct_key(args: tuple[Expr, ...]) -> Expr:
    # NULL when any member is NULL (count(DISTINCT a, b) skips such rows)
    return Call("_row_key", args, T.STRING)


def _key_of(e: Expr) -> str:
    if isinstance(e, ColumnRef):
        return e.column.key
    raise AssertionError(f"sort key must be a column after binding: {e}")


def _col_from_field(f: pa.Field) -> Column:
    """A column whose key is ``f.name`` (the id is parsed back from ``c<id>`` names)."""
    name = f.name
    if name.startswith("c") and name[1:].isdigit():
        return Column(int(name[1:]), name, f.type)
    return _TmpColumn(name, f.type)


def _TmpColumn(name: str, t: pa.DataType) -> Column:
    # temporaries ("t<n>") use negative ids, so their key must be spelled out
    return _NamedColumn(id=-abs(hash(name)) % (10 ** 9) - 1, name=name, type=t)


@dataclass(frozen=True, slots=True)
class _NamedColumn(Column):
    @property
    def key(self) -> str:
        return self.name


def _add_step(plan: PhysicalPlan, step: K.Step, out: pa.Schema) -> PhysicalPlan:
    if isinstance(plan, MapExec):
        return MapExec(input=plan.input, steps=plan.steps + (step,), out_schema=out)
    return MapExec(input=plan, steps=(step,), out_schema=out)
