"""Binder: sqlglot AST (hive dialect) → typed logical plan with resolved columns.

Names are resolved here once; the plan refers to columns by id. Errors carry the
line:column of the offending token and, for unknown columns, the closest candidates.
"""

from __future__ import annotations

import decimal
import difflib
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
from sqlglot import exp

from catalog.scan import ScanSource
from planner import functions as F
from planner import logical as L
from planner import types as T
from planner.expressions import (AggCall, Call, Case, Cast, Column, ColumnRef, Exists, Expr,
                                 InSubquery, Literal, ScalarSubquery, SortKey, WindowCall, and_all,
                                 transform, walk)
from sql.errors import BindError, NotSupportedError
from sql import hive_functions, quantified
from sql.generators import as_lateral_view
from sql.set_operations import multiset_setop
from sql.tablesample import bind_tablesample
from sql.window_frames import DISTINCT_WINDOW_AGGREGATES, bind_frame


@dataclass(frozen=True)
class ViewDef:
    """A view: its defining query, bound afresh at each use."""

    name: str
    query: exp.Expression
    column_names: tuple[str, ...] | None = None


class Tables(Protocol):
    """What the binder needs from the catalog and the session's registered tables."""

    def lookup(self, parts: tuple[str, ...]) -> ScanSource | ViewDef | None: ...

    def names(self) -> list[str]: ...


@dataclass(frozen=True)
class Udf:
    name: str
    fn: Callable[..., Any]
    return_type: pa.DataType


@dataclass
class Entry:
    qualifier: str | None
    name: str
    column: Column
    hidden: bool = False


@dataclass
class Scope:
    entries: list[Entry]
    parent: Scope | None = None

    def find(self, name: str, qualifier: str | None) -> list[Entry]:
        name = name.lower()
        out = [e for e in self.entries if e.name == name and not e.hidden
               and (qualifier is None or e.qualifier == qualifier.lower())]
        return out


@dataclass
class Rel:
    plan: L.LogicalPlan
    scope: Scope


AGGREGATES = {"count", "sum", "avg", "min", "max", "stddev", "stddev_samp", "stddev_pop",
              "variance", "var_samp", "var_pop", "collect_list", "collect_set",
              "percentile_approx", "percentile", "first", "last", "any_value", "bool_and",
              "bool_or", "every", "some", "approx_count_distinct"} | hive_functions.AGGREGATES
RANKING = {"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag",
           "lead", "first_value", "last_value", "nth_value"}

_AGG_CLASSES: dict[type, str] = {
    exp.Count: "count", exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max",
    exp.Stddev: "stddev", exp.StddevSamp: "stddev_samp", exp.StddevPop: "stddev_pop",
    exp.Variance: "variance", exp.VariancePop: "var_pop", exp.ArrayAgg: "collect_list",
    exp.ArrayUniqueAgg: "collect_set", exp.ApproxQuantile: "percentile_approx",
    exp.Quantile: "percentile", exp.First: "first", exp.Last: "last",
    exp.ApproxDistinct: "approx_count_distinct", **hive_functions.AGGREGATE_NODES,
}
_WINDOW_CLASSES: dict[type, str] = {
    exp.RowNumber: "row_number", exp.Rank: "rank", exp.DenseRank: "dense_rank",
    exp.PercentRank: "percent_rank", exp.CumeDist: "cume_dist", exp.Ntile: "ntile",
    exp.Lag: "lag", exp.Lead: "lead", exp.FirstValue: "first_value", exp.LastValue: "last_value",
}
_BINARY: dict[type, str] = {
    exp.Add: "add", exp.Sub: "subtract", exp.Mul: "multiply", exp.Div: "divide", exp.Mod: "mod",
    exp.IntDiv: "int_div", exp.EQ: "eq", exp.NEQ: "ne", exp.LT: "lt", exp.LTE: "le",
    exp.GT: "gt", exp.GTE: "ge", exp.And: "and", exp.Or: "or", exp.NullSafeEQ: "eq_null_safe",
    exp.Like: "like", exp.RegexpLike: "rlike",
}
# sqlglot function classes whose SQL name differs from ours; the args are taken in arg order.
_FUNC_NAMES: dict[str, str] = {
    "ts_or_ds_add": "date_add", "datediff": "datediff", "array_size": "size",
    "unix_to_str": "from_unixtime", "ts_or_ds_to_date": "to_date", "str_position": "instr",
    "str_to_unix": "unix_timestamp", "regexp_split": "split", "week_of_year": "weekofyear",
    "day_of_week": "dayofweek", "day_of_month": "day", "day_of_year": "dayofyear",
    "array_contains": "array_contains", "map_keys": "map_keys", "map_values": "map_values",
    "char_length": "length", "power": "pow", "current_timestamp": "current_timestamp",
    "date_format": "date_format", "time_to_str": "date_format", "substring": "substr",
    "sign": "sign", "array_sort": "sort_array", "sort_array": "sort_array", "log": "log",
    "initcap": "initcap", "date_sub": "date_sub", "date_add": "date_add", "add_months": "add_months",
    **hive_functions.NODE_NAMES,
}


def _pos(node: exp.Expression | None) -> tuple[int | None, int | None]:
    if node is None:
        return None, None
    for n in node.walk():
        m = n.meta if isinstance(n, exp.Expression) else None
        if m and "line" in m:
            col = m["col"] - (m.get("end", 0) - m.get("start", 0))
            return m["line"], col
    return None, None


def err(msg: str, node: exp.Expression | None = None) -> BindError:
    line, col = _pos(node)
    return BindError(msg, line, col)


def _name(e: Expr) -> str:
    match e:
        case ColumnRef():
            return e.column.name
        case _:
            return ""


class Binder:
    def __init__(self, tables: Tables, udfs: dict[str, Udf] | None = None,
                 ids: Iterator[int] | None = None, udafs: dict[str, Udf] | None = None,
                 settings: Mapping[str, str] | None = None) -> None:
        self.tables = tables
        self.settings = settings or {}  # the session's SET values (hive.sample.seednumber)
        self.udfs = udfs or {}
        self.udafs = udafs or {}
        self.ids = ids or itertools.count(1)
        self._view_depth = 0

    # ------------------------------------------------------------------ helpers
    def new_column(self, name: str, type_: pa.DataType) -> Column:
        return Column(next(self.ids), name, type_)

    # ------------------------------------------------------------------ queries
    def bind_query(self, node: exp.Expression, outer: Scope | None = None,
                   ctes: dict[str, Any] | None = None) -> tuple[L.LogicalPlan, list[str]]:
        ctes = dict(ctes or {})
        with_ = node.args.get("with_") or node.args.get("with")
        if with_ is not None:
            for cte in with_.expressions:
                alias = cte.alias_or_name.lower()
                cols = tuple(c.name for c in cte.args["alias"].columns) if cte.args.get("alias") and cte.args["alias"].columns else None
                ctes[alias] = (cte.this, cols, dict(ctes))
        match node:
            case exp.Select():
                return self._bind_select(node, outer, ctes)
            case exp.Union() | exp.Intersect() | exp.Except():
                return self._bind_setop(node, outer, ctes)
            case exp.Subquery():
                plan, names = self.bind_query(node.this, outer, ctes)
                return self._order_limit_on(node, plan, names, outer, ctes)
            case exp.Values():
                rel, names = self._bind_values(node, None)
                return rel.plan, names
            case exp.Paren():
                return self.bind_query(node.this, outer, ctes)
        raise err(f"unsupported query: {node.key}", node)

    def _order_limit_on(self, node: exp.Expression, plan: L.LogicalPlan, names: list[str],
                        outer: Scope | None, ctes: dict[str, Any]) -> tuple[L.LogicalPlan, list[str]]:
        order = node.args.get("order")
        if order is not None:
            entries = [Entry(None, n.lower(), c) for n, c in zip(names, plan.schema)]
            scope = Scope(entries, outer)
            keys = []
            for o in order.expressions:
                e = self._ordinal_or_expr(o.this, plan.schema, scope, ctes)
                keys.append(self._sort_key(o, e))
            plan = L.Sort(input=plan, keys=tuple(keys))
        plan = self._bind_limit(node, plan)
        return plan, names

    def _ordinal_or_expr(self, e: exp.Expression, schema: tuple[Column, ...], scope: Scope,
                         ctes: dict[str, Any]) -> Expr:
        if isinstance(e, exp.Literal) and not e.is_string:
            i = int(e.this)
            if not 1 <= i <= len(schema):
                raise err(f"ORDER BY position {i} is not in select list", e)
            return schema[i - 1].ref()
        return self.bind_expr(e, scope, ctes)

    def _sort_key(self, o: exp.Expression, e: Expr) -> SortKey:
        desc = bool(o.args.get("desc")) if isinstance(o, exp.Ordered) else False
        nf = o.args.get("nulls_first") if isinstance(o, exp.Ordered) else None
        if nf is None:
            nf = not desc  # Hive/Spark: NULLs are smallest
        return SortKey(e, ascending=not desc, nulls_first=bool(nf))

    def _bind_limit(self, node: exp.Expression, plan: L.LogicalPlan) -> L.LogicalPlan:
        limit = node.args.get("limit")
        offset = node.args.get("offset")
        if limit is None and offset is None:
            return plan
        n = None
        if limit is not None:
            le = limit.expression if isinstance(limit, exp.Limit) else limit
            n = self._const_int(le, "LIMIT")
        off = 0
        if offset is not None:
            oe = offset.expression if isinstance(offset, exp.Offset) else offset
            off = self._const_int(oe, "OFFSET")
        return L.Limit(input=plan, limit=n, offset=off)

    def _const_int(self, e: exp.Expression, what: str) -> int:
        if isinstance(e, exp.Literal) and not e.is_string:
            return int(e.this)
        raise err(f"{what} must be an integer constant", e)

    # ------------------------------------------------------------------ set operations
    def _bind_setop(self, node: exp.Expression, outer: Scope | None,
                    ctes: dict[str, Any]) -> tuple[L.LogicalPlan, list[str]]:
        lp, lnames = self.bind_query(node.this, outer, ctes)
        rp, _ = self.bind_query(node.expression, outer, ctes)
        if len(lp.schema) != len(rp.schema):
            raise err(f"{node.key.upper()} inputs have {len(lp.schema)} and {len(rp.schema)} columns", node)
        types = []
        for a, b in zip(lp.schema, rp.schema):
            try:
                types.append(T.common_type(a.type, b.type))
            except T.TypeError_ as ex:
                raise err(f"{node.key.upper()}: {ex}", node) from None
        lp = self._coerce_plan(lp, types)
        rp = self._coerce_plan(rp, types)
        distinct = bool(node.args.get("distinct", True))
        if isinstance(node, exp.Union):
            cols = tuple(self.new_column(n, t) for n, t in zip(lnames, types))
            plan: L.LogicalPlan = L.Union(inputs=(lp, rp), columns=cols)
            if distinct:
                plan = self._distinct(plan)
        elif not distinct:  # INTERSECT ALL / EXCEPT ALL: multiset counts
            plan = multiset_setop(lp, rp, isinstance(node, exp.Intersect), self.new_column)
        else:
            cond = and_all([Call("eq_null_safe", (a.ref(), b.ref()), T.BOOL)
                            for a, b in zip(lp.schema, rp.schema)])
            kind = "semi" if isinstance(node, exp.Intersect) else "anti"
            plan = L.Join(left=self._distinct(lp), right=rp, kind=kind, condition=cond)
        return self._order_limit_on(node, plan, lnames, outer, ctes)

    def _coerce_plan(self, plan: L.LogicalPlan, types: list[pa.DataType]) -> L.LogicalPlan:
        if all(c.type == t for c, t in zip(plan.schema, types)):
            return plan
        exprs = []
        for c, t in zip(plan.schema, types):
            if c.type == t:
                exprs.append((c, c.ref()))
            else:
                exprs.append((self.new_column(c.name, t), coerce(c.ref(), t)))
        return L.Project(input=plan, exprs=tuple(exprs))

    def _distinct(self, plan: L.LogicalPlan) -> L.LogicalPlan:
        return L.Aggregate(input=plan, keys=tuple((c, c.ref()) for c in plan.schema), aggregates=())

    # ------------------------------------------------------------------ FROM
    def _bind_table(self, node: exp.Expression, outer: Scope | None,
                    ctes: dict[str, Any]) -> Rel:
        match node:
            case exp.Table():
                if isinstance(node.this, exp.Anonymous) or isinstance(node.this, exp.Func):
                    raise err(f"table function {node.this.sql()} is not supported", node)
                alias = node.alias_or_name.lower()
                parts = tuple(p.name.lower() for p in node.parts)
                col_aliases = [c.name for c in node.args["alias"].columns] if node.args.get("alias") and node.args["alias"].columns else None
                if len(parts) == 1 and parts[0] in ctes:
                    q, cols, env = ctes[parts[0]]
                    # a CTE sees the CTEs defined before it (env), bound afresh at each use
                    plan, names = self.bind_query(q, None, env)
                    names = list(cols) if cols else names
                    return self._rel_from_plan(plan, col_aliases or names, alias)
                found = self.tables.lookup(parts)
                if found is None:
                    cands = difflib.get_close_matches(".".join(parts), self.tables.names() + list(ctes), n=3)
                    hint = f"; did you mean {', '.join(cands)}?" if cands else ""
                    raise err(f"Table or view not found: {'.'.join(parts)}{hint}", node)
                if isinstance(found, ViewDef):
                    self._view_depth += 1
                    if self._view_depth > 32:
                        raise err(f"view {found.name} is recursive", node)
                    try:
                        plan, names = self.bind_query(found.query, None, {})
                    finally:
                        self._view_depth -= 1
                    names = list(found.column_names) if found.column_names else names
                    return self._rel_from_plan(plan, col_aliases or names, alias)
                sample = node.args.get("sample")
                if sample is not None:
                    return bind_tablesample(
                        sample, found, ".".join(parts),
                        lambda source: self._scan(source, ".".join(parts), alias, col_aliases),
                        lambda e, rel: self.bind_expr(e, rel.scope, ctes), self.settings)
                return self._scan(found, ".".join(parts), alias, col_aliases)
            case exp.Subquery():
                plan, names = self.bind_query(node.this, outer if node.args.get("lateral") else None, ctes)
                plan, names = self._order_limit_on(node, plan, names, None, ctes)
                alias = node.alias_or_name.lower() or None
                col_aliases = [c.name for c in node.args["alias"].columns] if node.args.get("alias") and node.args["alias"].columns else None
                return self._rel_from_plan(plan, col_aliases or names, alias)
            case exp.Values():
                rel, _ = self._bind_values(node, node.alias_or_name.lower() or None)
                return rel
            case exp.Lateral() | exp.Unnest():
                raise err("LATERAL must follow a table", node)
        raise err(f"unsupported FROM item: {node.key}", node)

    def _scan(self, source: ScanSource, table: str, alias: str, col_aliases: list[str] | None) -> Rel:
        schema = T.normalize_schema(source.schema)
        cols = tuple(self.new_column(f.name, f.type) for f in schema)
        names = col_aliases or [f.name for f in schema]
        plan = L.Scan(table=table, source=source, source_id=id(source), columns=cols,
                      fields=tuple(f.name for f in source.schema))
        scope = Scope([Entry(alias, n.lower(), c) for n, c in zip(names, cols)])
        return Rel(plan, scope)

    def _rel_from_plan(self, plan: L.LogicalPlan, names: list[str], alias: str | None) -> Rel:
        if len(names) != len(plan.schema):
            raise BindError(f"{alias}: {len(names)} column aliases for {len(plan.schema)} columns")
        return Rel(plan, Scope([Entry(alias, n.lower(), c) for n, c in zip(names, plan.schema)]))

    def _bind_values(self, node: exp.Values, alias: str | None) -> tuple[Rel, list[str]]:
        rows = []
        for t in node.expressions:
            items = t.expressions if isinstance(t, exp.Tuple) else [t]
            row = []
            for it in items:
                e = fold(self.bind_expr(it, Scope([]), {}))
                if not isinstance(e, Literal):
                    raise err("VALUES takes constants", it)
                row.append(e)
            rows.append(row)
        n = len(rows[0])
        if any(len(r) != n for r in rows):
            raise err("VALUES rows differ in length", node)
        types = []
        for j in range(n):
            t = rows[0][j].type
            for r in rows[1:]:
                t = T.common_type(t, r[j].type)
            types.append(T.INT32 if t == T.NULL else t)
        a = node.args.get("alias")
        names = [c.name for c in a.columns] if a is not None and a.columns else [f"col{j + 1}" for j in range(n)]
        cols = tuple(self.new_column(nm, t) for nm, t in zip(names, types))
        values = tuple(tuple(_convert_literal(r[j], types[j]) for j in range(n)) for r in rows)
        plan = L.Values(columns=cols, rows=values)
        return Rel(plan, Scope([Entry(alias, nm.lower(), c) for nm, c in zip(names, cols)])), names

    def _bind_from(self, node: exp.Select, outer: Scope | None, ctes: dict[str, Any]) -> Rel:
        self._broadcast_hints = _broadcast_hints(node)
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is None:
            plan = L.Values(columns=(), rows=((),))
            return Rel(plan, Scope([], outer))
        rel = self._bind_table(from_.this, outer, ctes)
        for j in node.args.get("joins") or []:
            rel = self._bind_join(rel, j, outer, ctes)
        for lat in node.args.get("laterals") or []:
            rel = self._bind_lateral(rel, lat, outer, ctes)
        rel.scope.parent = outer
        return rel

    def _bind_join(self, left: Rel, j: exp.Join, outer: Scope | None, ctes: dict[str, Any]) -> Rel:
        if isinstance(j.this, exp.Lateral):
            return self._bind_lateral(left, j.this, outer, ctes)
        right = self._bind_table(j.this, outer, ctes)
        side = (j.args.get("side") or "").upper()
        kind = (j.args.get("kind") or "").upper()
        if kind in ("SEMI", "ANTI"):
            jk = kind.lower()
        elif side == "LEFT":
            jk = "left"
        elif side == "RIGHT":
            jk = "right"
        elif side == "FULL":
            jk = "full"
        elif kind == "CROSS":
            jk = "cross"
        else:
            jk = "inner"
        scope = Scope(left.scope.entries + right.scope.entries, outer)
        cond: Expr | None = None
        using = j.args.get("using")
        entries = left.scope.entries + right.scope.entries
        if using:
            parts = []
            drop_right: list[Entry] = []
            for u in using:
                nm = u.name.lower()
                le = [e for e in left.scope.entries if e.name == nm and not e.hidden]
                re_ = [e for e in right.scope.entries if e.name == nm and not e.hidden]
                if not le or not re_:
                    raise err(f"USING column {nm} is not on both sides", u)
                a, b = le[-1].column.ref(), re_[-1].column.ref()
                parts.append(self._compare("eq", a, b, u))
                drop_right.extend(re_)
            cond = and_all(parts)
            entries = left.scope.entries + [Entry(e.qualifier, e.name, e.column, e.hidden or e in drop_right)
                                             for e in right.scope.entries]
        elif j.args.get("on") is not None:
            cond = self.bind_expr(j.args["on"], scope, ctes)
            if cond.type not in (T.BOOL, T.NULL):
                raise err("join condition must be boolean", j.args["on"])
        hint = None
        right_name = j.this.alias_or_name.lower() if isinstance(j.this, (exp.Table, exp.Subquery)) else ""
        left_is_hinted = len(left.scope.entries) > 0 and left.scope.entries[0].qualifier in getattr(self, "_broadcast_hints", set()) \
            and isinstance(left.plan, L.Scan)
        if right_name and right_name in getattr(self, "_broadcast_hints", set()):
            hint = "broadcast"  # MAPJOIN / BROADCAST: keep this side as the build side
        elif left_is_hinted and jk == "inner":
            plan = L.Join(left=right.plan, right=left.plan, kind="inner", condition=cond, hint="broadcast")
            return Rel(L.Project(input=plan, exprs=tuple((c, c.ref()) for c in left.plan.schema + right.plan.schema)),
                       Scope(entries, outer))
        if jk == "cross" and cond is not None:
            jk = "inner"
        if jk == "inner" and cond is None:
            jk = "cross"
        plan = L.Join(left=left.plan, right=right.plan, kind=jk, condition=cond, hint=hint)
        if jk in ("semi", "anti"):
            return Rel(plan, Scope(left.scope.entries, outer))
        return Rel(plan, Scope(entries, outer))

    def _bind_lateral(self, rel: Rel, lat: exp.Lateral, outer: Scope | None, ctes: dict[str, Any]) -> Rel:
        fn = hive_functions.lateral_rewrite(lat.this)  # LATERAL VIEW json_tuple(...)
        alias = lat.args.get("alias")
        qual = alias.name.lower() if alias is not None and alias.name else None
        names = [c.name for c in alias.columns] if alias is not None and alias.columns else []
        outer_ = bool(lat.args.get("outer"))
        scope = Scope(rel.scope.entries, outer)
        if isinstance(fn, (exp.Explode, exp.Posexplode, exp.Inline)) or (
                isinstance(fn, exp.Anonymous) and fn.name.lower() in ("explode", "posexplode", "inline")):
            fname = ("posexplode" if isinstance(fn, exp.Posexplode) else "inline" if isinstance(fn, exp.Inline) else
                     fn.name.lower() if isinstance(fn, exp.Anonymous) else "explode")
            if isinstance(fn, exp.ExplodeOuter) or isinstance(fn, exp.PosexplodeOuter):
                outer_ = True
            arg_node = fn.this if not isinstance(fn, exp.Anonymous) else fn.expressions[0]
            arg = self.bind_expr(arg_node, scope, ctes)
            t = arg.type
            if fname == "inline":
                if not (pa.types.is_list(t) and pa.types.is_struct(t.value_type)):
                    raise err("inline expects array<struct>", arg_node)
                types = [f.type for f in t.value_type]
                default = [f.name for f in t.value_type]
            elif pa.types.is_map(t):
                types = [t.key_type, t.item_type]
                default = ["key", "value"]
            elif pa.types.is_list(t):
                types = [t.value_type]
                default = ["col"]
            else:
                raise err(f"{fname} expects an array or map, got {T.type_name(t)}", arg_node)
            if fname == "posexplode":
                types = [T.INT32] + types
                default = ["pos"] + default
            names = names or default
            if len(names) != len(types):
                raise err(f"{fname} produces {len(types)} columns, {len(names)} aliases given", lat)
            cols = tuple(self.new_column(n, t_) for n, t_ in zip(names, types))
            plan = L.Generate(input=rel.plan, function=fname, arg=arg, outer=outer_, columns=cols)
            return Rel(plan, Scope(rel.scope.entries + [Entry(qual, n.lower(), c) for n, c in zip(names, cols)], outer))
        raise err(f"unsupported LATERAL VIEW function {fn.sql()}", lat)

    # ------------------------------------------------------------------ SELECT
    def _bind_select(self, node: exp.Select, outer: Scope | None,
                     ctes: dict[str, Any]) -> tuple[L.LogicalPlan, list[str]]:
        try:
            node = as_lateral_view(node)  # SELECT explode(a) ... is a LATERAL VIEW
        except ValueError as e:
            raise err(str(e), node) from None
        rel = self._bind_from(node, outer, ctes)
        plan, scope = rel.plan, rel.scope
        where = node.args.get("where")
        if where is not None:
            cond = self.bind_expr(where.this, scope, ctes)
            if cond.type not in (T.BOOL, T.NULL):
                raise err(f"WHERE must be boolean, got {T.type_name(cond.type)}", where.this)
            plan = L.Filter(input=plan, condition=cond)

        # select list, with * expanded
        items: list[tuple[str, exp.Expression | Entry]] = []
        for i, s in enumerate(node.expressions):
            if isinstance(s, exp.Star):
                items.extend((e.name, e) for e in scope.entries if not e.hidden)
            elif isinstance(s, exp.Column) and isinstance(s.this, exp.Star):
                q = s.table.lower()
                got = [e for e in scope.entries if e.qualifier == q and not e.hidden]
                if not got:
                    raise err(f"unknown table {q} in {q}.*", s)
                items.extend((e.name, e) for e in got)
            else:
                alias = s.alias if isinstance(s, exp.Alias) else (
                    s.name if isinstance(s, (exp.Column, exp.Dot)) else f"_c{i}")
                items.append((alias or f"_c{i}", s.unalias() if isinstance(s, exp.Alias) else s))

        group = node.args.get("group")
        having = node.args.get("having")
        order = node.args.get("order")
        sort_by = node.args.get("sort")
        cluster = node.args.get("cluster")
        distribute = node.args.get("distribute")

        bound: list[tuple[str, Expr]] = []
        for name, it in items:
            if isinstance(it, Entry):
                bound.append((name, it.column.ref()))
            else:
                bound.append((name, self.bind_expr(it, scope, ctes, allow_agg=True, allow_window=True)))
        alias_map = {n.lower(): e for n, e in bound}

        having_e = None
        if having is not None:
            having_e = self.bind_expr(having.this, scope, ctes, allow_agg=True, aliases=alias_map)

        # ORDER BY / SORT BY keys: output alias, ordinal, or input expression
        order_src = order or sort_by or cluster
        order_keys: list[tuple[exp.Expression, Expr]] = []
        if order_src is not None:
            for o in order_src.expressions:
                oe = o.this if isinstance(o, exp.Ordered) else o
                if isinstance(oe, exp.Literal) and not oe.is_string:
                    k = int(oe.this)
                    if not 1 <= k <= len(bound):
                        raise err(f"ORDER BY position {k} is not in select list", oe)
                    order_keys.append((o, bound[k - 1][1]))
                elif isinstance(oe, exp.Column) and not oe.table and oe.name.lower() in alias_map \
                        and not isinstance(alias_map[oe.name.lower()], ColumnRef) or \
                        (isinstance(oe, exp.Column) and not oe.table and oe.name.lower() in alias_map
                         and not scope.find(oe.name, None)):
                    order_keys.append((o, alias_map[oe.name.lower()]))
                else:
                    order_keys.append((o, self.bind_expr(oe, scope, ctes, allow_agg=True, allow_window=True,
                                                         aliases=alias_map)))

        has_agg = any(_contains_agg(e) for _, e in bound) or (having_e is not None) or \
            any(_contains_agg(e) for _, e in order_keys)
        if group is not None or has_agg:
            plan, rewrite = self._bind_aggregate(node, plan, scope, ctes, group, bound, alias_map)
            bound = [(n, rewrite(e, items[i][1] if not isinstance(items[i][1], Entry) else None))
                     for i, (n, e) in enumerate(bound)]
            he = rewrite(having_e, having.this) if having_e is not None else None
            order_keys = [(o, rewrite(e, o)) for o, e in order_keys]
            plan = _finish_agg(plan)
            if he is not None:
                plan = L.Filter(input=plan, condition=he)
        elif having_e is not None:
            plan = L.Filter(input=plan, condition=having_e)

        # window functions
        plan, bound, order_keys = self._bind_windows(plan, bound, order_keys)

        # QUALIFY is not Hive; skip. Projection with hidden sort columns.
        out_cols: list[tuple[Column, Expr]] = []
        for name, e in bound:
            if isinstance(e, ColumnRef) and e.column.name == name and \
                    all(e.column != c for c, _ in out_cols):
                out_cols.append((e.column, e))
            else:
                out_cols.append((self.new_column(name, e.type if e.type != T.NULL else T.NULL), e))
        visible = len(out_cols)
        sort_keys: list[SortKey] = []
        for o, e in order_keys:
            match = next((c for c, oe in out_cols if oe == e), None)
            if match is None:
                c = self.new_column(f"_sort{len(sort_keys)}", e.type)
                out_cols.append((c, e))
                match = c
            sort_keys.append(self._sort_key(o, match.ref()))

        if node.args.get("distinct"):
            if len(out_cols) > visible:
                raise err("ORDER BY expressions must appear in the select list with DISTINCT", order)
            plan = L.Project(input=plan, exprs=tuple(out_cols))
            plan = self._distinct(plan)
        else:
            plan = L.Project(input=plan, exprs=tuple(out_cols))

        if distribute is not None or cluster is not None:
            src = distribute or cluster
            keys = []
            for d in src.expressions:
                e = self.bind_expr(d.this if isinstance(d, exp.Ordered) else d,
                                   Scope([Entry(None, n.lower(), c) for (n, _), (c, _) in zip(bound, out_cols)], outer), ctes)
                keys.append(e)
            plan = L.Repartition(input=plan, keys=tuple(keys))
        if sort_keys:
            plan = L.Sort(input=plan, keys=tuple(sort_keys), local=order is None)
        plan = self._bind_limit(node, plan)
        if len(out_cols) > visible:
            plan = L.Project(input=plan, exprs=tuple((c, c.ref()) for c, _ in out_cols[:visible]))
        return plan, [n for n, _ in bound]

    def _bind_aggregate(self, node: exp.Select, plan: L.LogicalPlan, scope: Scope,
                        ctes: dict[str, Any], group: exp.Group | None,
                        bound: list[tuple[str, Expr]], alias_map: dict[str, Expr]) -> tuple[L.LogicalPlan, Callable[[Expr, Any], Expr]]:
        key_exprs: list[Expr] = []
        sets: list[list[int]] | None = None

        def key_index(e: Expr) -> int:
            if e in key_exprs:
                return key_exprs.index(e)
            key_exprs.append(e)
            return len(key_exprs) - 1

        def bind_key(g: exp.Expression) -> Expr:
            if isinstance(g, exp.Literal) and not g.is_string:
                k = int(g.this)
                if 1 <= k <= len(bound):
                    return bound[k - 1][1]
                raise err(f"GROUP BY position {k} is not in select list", g)
            if isinstance(g, exp.Column) and not g.table and not scope.find(g.name, None) \
                    and g.name.lower() in alias_map:
                return alias_map[g.name.lower()]
            e = self.bind_expr(g, scope, ctes)
            if _contains_agg(e):
                raise err("aggregate functions are not allowed in GROUP BY", g)
            return e

        if group is not None:
            plain = [key_index(bind_key(g)) for g in group.expressions
                     if not isinstance(g, (exp.Rollup, exp.Cube, exp.GroupingSets))]
            for g in group.expressions:
                if isinstance(g, (exp.Rollup, exp.Cube)):
                    idx = [key_index(bind_key(x)) for x in g.expressions]
                    sets = _expand(isinstance(g, exp.Cube), idx, plain)
                elif isinstance(g, exp.GroupingSets):
                    sets = []
                    for s in g.expressions:
                        members = s.expressions if isinstance(s, (exp.Tuple,)) else (
                            [s.this] if isinstance(s, exp.Paren) else [s])
                        sets.append(sorted({key_index(bind_key(x)) for x in members}))
            for flag, is_cube in (("rollup", False), ("cube", True)):
                if group.args.get(flag):
                    sets = _expand(is_cube, plain, [])
            gs = group.args.get("grouping_sets")
            if gs:
                sets = []
                for gset in gs:
                    for s in gset.expressions:
                        members = s.expressions if isinstance(s, exp.Tuple) else (
                            [s.this] if isinstance(s, exp.Paren) else [s])
                        sets.append(sorted({key_index(bind_key(x)) for x in members}))
        keys: list[tuple[Column, Expr]] = []
        for e in key_exprs:
            if isinstance(e, ColumnRef) and sets is None:
                keys.append((e.column, e))
            else:
                keys.append((self.new_column(_name(e) or f"_key{len(keys)}", e.type), e))
        gid = self.new_column("grouping__id", T.INT64) if sets is not None else None
        aggs: list[tuple[Column, AggCall]] = []

        def agg_col(a: AggCall) -> Column:
            for c, x in aggs:
                if x == a:
                    return c
            c = self.new_column(f"_agg{len(aggs)}", a.type)
            aggs.append((c, a))
            return c

        input_ids = L.produced_ids(plan)

        def rewrite(e: Expr, src: Any) -> Expr:
            def fn(x: Expr) -> Expr | None:
                for c, k in keys:
                    if x == k:
                        return c.ref()
                if isinstance(x, AggCall):
                    return agg_col(x).ref()
                if isinstance(x, ColumnRef) and x.column.name == "grouping__id" and gid is not None \
                        and x.column.id == -1:
                    return gid.ref()
                if isinstance(x, Call) and x.name == "grouping" and gid is not None:
                    return x
                if isinstance(x, ColumnRef) and x.column.id in input_ids:
                    raise err(f"expression '{x.column.name}' is neither in GROUP BY nor aggregated",
                              src if isinstance(src, exp.Expression) else None)
                return None
            out = transform(e, fn)
            return _rewrite_grouping(out, keys, gid)

        # collect aggregates first (so order of aggs follows the select list)
        for _, e in bound:
            for x in walk(e):
                if isinstance(x, AggCall):
                    agg_col(x)
        plan = L.Aggregate(input=plan, keys=tuple(keys), aggregates=(),
                           grouping_sets=tuple(tuple(s) for s in sets) if sets is not None else None,
                           grouping_id=gid)
        holder = {"plan": plan}

        def rewrite_and_update(e: Expr, src: Any) -> Expr:
            r = rewrite(e, src)
            return r

        # Aggregates are finalized lazily: the caller rewrites every expression, then we
        # rebuild the Aggregate with everything collected. Achieved by a proxy plan.
        return _LazyAgg(holder, aggs), rewrite_and_update  # type: ignore[return-value]

    def _bind_windows(self, plan: L.LogicalPlan, bound: list[tuple[str, Expr]],
                      order_keys: list[tuple[Any, Expr]]) -> tuple[L.LogicalPlan, list[tuple[str, Expr]], list[tuple[Any, Expr]]]:
        plan = _finish_agg(plan)
        calls: list[WindowCall] = []
        for _, e in bound + [("", e) for _, e in order_keys]:
            for x in walk(e):
                if isinstance(x, WindowCall) and x not in calls:
                    calls.append(x)
        if not calls:
            return plan, bound, order_keys
        mapping: dict[WindowCall, Column] = {}
        groups: dict[tuple[Any, Any], list[WindowCall]] = {}
        for w in calls:
            groups.setdefault((w.partition_by, w.order_by), []).append(w)
        for ws in groups.values():
            fns = []
            for w in ws:
                c = self.new_column(f"_w{len(mapping)}", w.type)
                mapping[w] = c
                fns.append((c, w))
            plan = L.Window(input=plan, functions=tuple(fns))

        def fn(x: Expr) -> Expr | None:
            if isinstance(x, WindowCall):
                return mapping[x].ref()
            return None
        bound = [(n, transform(e, fn)) for n, e in bound]
        order_keys = [(o, transform(e, fn)) for o, e in order_keys]
        return plan, bound, order_keys

    # ------------------------------------------------------------------ expressions
    def bind_expr(self, node: exp.Expression, scope: Scope, ctes: dict[str, Any],
                  allow_agg: bool = False, allow_window: bool = False,
                  aliases: dict[str, Expr] | None = None) -> Expr:
        b = _ExprBinder(self, scope, ctes, allow_agg, allow_window, aliases or {})
        return b.bind(node)

    def _compare(self, op: str, a: Expr, b: Expr, node: exp.Expression | None) -> Expr:
        return make_call(op, [a, b], node)


def _broadcast_hints(node: exp.Select) -> set[str]:
    """Table names/aliases named by MAPJOIN / BROADCAST / BROADCASTJOIN hints."""
    out: set[str] = set()
    hint = node.args.get("hint")
    if hint is None:
        return out
    for h in hint.expressions:
        name = (h.name if isinstance(h, exp.Anonymous) else h.sql_name() if isinstance(h, exp.Func) else "").upper()
        if name in ("MAPJOIN", "BROADCAST", "BROADCASTJOIN"):
            for a in getattr(h, "expressions", []):
                out.add(a.name.lower())
    return out


def _expand(cube: bool, idx: list[int], plain: list[int]) -> list[list[int]]:
    if cube:
        out = []
        for r in range(len(idx), -1, -1):
            for comb in itertools.combinations(idx, r):
                out.append(sorted(set(plain) | set(comb)))
        return out
    return [sorted(set(plain) | set(idx[:i])) for i in range(len(idx), -1, -1)]


def _rewrite_grouping(e: Expr, keys: list[tuple[Column, Expr]], gid: Column | None) -> Expr:
    def fn(x: Expr) -> Expr | None:
        if isinstance(x, Call) and x.name == "grouping":
            if gid is None:
                raise BindError("grouping() requires GROUPING SETS, ROLLUP or CUBE")
            arg = x.args[0]
            pos = next((i for i, (c, k) in enumerate(keys) if c.ref() == arg or k == arg), None)
            if pos is None:
                raise BindError(f"grouping() argument {arg} is not a grouping key")
            bit = len(keys) - 1 - pos
            shifted = make_call("int_div", [gid.ref(), Literal(1 << bit, T.INT64)], None)
            return Cast(make_call("mod", [shifted, Literal(2, T.INT64)], None), T.INT32)
        if isinstance(x, ColumnRef) and x.column.id == -1 and gid is not None:
            return gid.ref()
        return None
    return transform(e, fn)


@dataclass
class _LazyAgg:
    """Aggregate under construction: aggregates are added while rewriting expressions."""

    holder: dict[str, Any]
    aggs: list[tuple[Column, AggCall]]


def _finish_agg(plan: Any) -> L.LogicalPlan:
    if isinstance(plan, _LazyAgg):
        p = plan.holder["plan"]
        return L.Aggregate(input=p.input, keys=p.keys, aggregates=tuple(plan.aggs),
                           grouping_sets=p.grouping_sets, grouping_id=p.grouping_id)
    return plan


def _contains_agg(e: Expr) -> bool:
    return any(isinstance(x, AggCall) for x in walk(e))


def _convert_literal(l: Literal, t: pa.DataType) -> Any:
    if l.value is None:
        return None
    if l.type == t:
        return l.value
    if T.is_decimal(l.type) and T.is_floating(t):
        return float(l.value)  # correctly rounded, where Arrow's cast makes 4.35 4.3500000000000005
    return pa.scalar(l.value, l.type).cast(t).as_py()


def coerce(e: Expr, t: pa.DataType) -> Expr:
    if e.type == t:
        return e
    if isinstance(e, Literal):
        if e.value is None:
            return Literal(None, t)
        try:
            return Literal(_convert_literal(e, t), t)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, decimal.InvalidOperation):
            pass
    return Cast(e, t)


def make_call(name: str, args: list[Expr], node: exp.Expression | None) -> Expr:
    try:
        want, result = F.resolve(name, [a.type for a in args])
    except T.TypeError_ as ex:
        raise err(f"{name}: {ex}", node) from None
    except F.FunctionError as ex:
        raise err(f"{name}: {ex}", node) from None
    cargs = tuple(coerce(a, w) if w is not None and w != T.NULL else a for a, w in zip(args, want))
    return Call(name, cargs, result)


def fold(e: Expr) -> Expr:
    from planner.rules.fold_constants import fold_expr
    return fold_expr(e)


_TYPE_MAP = {
    "BOOLEAN": T.BOOL, "TINYINT": T.INT8, "SMALLINT": T.INT16, "INT": T.INT32, "INTEGER": T.INT32,
    "BIGINT": T.INT64, "FLOAT": T.FLOAT32, "DOUBLE": T.FLOAT64, "STRING": T.STRING,
    "VARCHAR": T.STRING, "CHAR": T.STRING, "TEXT": T.STRING, "DATE": T.DATE,
    "TIMESTAMP": T.TIMESTAMP, "DATETIME": T.TIMESTAMP, "BINARY": pa.binary(), "REAL": T.FLOAT32,
    "DOUBLE PRECISION": T.FLOAT64,
}


def sql_type(dt_: exp.DataType) -> pa.DataType:
    """An Arrow type for a sqlglot DataType (Hive spelling)."""
    name = dt_.this.name if hasattr(dt_.this, "name") else str(dt_.this)
    params = dt_.expressions
    if name in ("DECIMAL", "NUMERIC", "BIGDECIMAL"):
        p = int(params[0].this.this) if params else 10
        s = int(params[1].this.this) if len(params) > 1 else 0
        return pa.decimal128(p, s)
    if name in ("ARRAY", "LIST"):
        return pa.list_(sql_type(params[0]))
    if name == "MAP":
        return pa.map_(sql_type(params[0]), sql_type(params[1]))
    if name == "STRUCT":
        fields = []
        for p in params:
            fields.append(pa.field(p.this.name, sql_type(p.args["kind"])))
        return pa.struct(fields)
    key = name.replace("_", " ")
    if key in _TYPE_MAP:
        return _TYPE_MAP[key]
    if name in ("INT", "UINT", "MEDIUMINT"):
        return T.INT32
    if name in ("TIMESTAMPTZ", "TIMESTAMPLTZ", "TIMESTAMPNTZ"):
        return T.TIMESTAMP
    raise BindError(f"unsupported type {dt_.sql(dialect='hive')}")


class _ExprBinder:
    def __init__(self, binder: Binder, scope: Scope, ctes: dict[str, Any], allow_agg: bool,
                 allow_window: bool, aliases: dict[str, Expr]) -> None:
        self.b, self.scope, self.ctes = binder, scope, ctes
        self.allow_agg, self.allow_window, self.aliases = allow_agg, allow_window, aliases
        self.in_agg = False

    def bind(self, n: exp.Expression) -> Expr:
        match n:
            case exp.Column():
                return self.column(n)
            case _ if quantified.is_quantified(n):  # x > ALL (subquery) and friends
                return self.bind(quantified.rewrite(n))
            case exp.Dot():
                base = self.bind(n.this)
                return self.field(base, n.expression.name, n)
            case exp.Literal():
                return self.literal(n)
            case exp.Null():
                return Literal(None, T.NULL)
            case exp.Boolean():
                return Literal(bool(n.this), T.BOOL)
            case exp.Paren():
                return self.bind(n.this)
            case exp.Alias():
                return self.bind(n.this)
            case exp.Neg():
                inner = self.bind(n.this)
                if isinstance(inner, Literal) and inner.value is not None and T.is_numeric(inner.type):
                    return Literal(-inner.value, inner.type)
                return make_call("negate", [inner], n)
            case exp.Not():
                return make_call("not", [self.bool_arg(n.this)], n)
            case exp.And() | exp.Or():
                return make_call(_BINARY[type(n)], [self.bool_arg(n.this), self.bool_arg(n.expression)], n)
            case exp.Add() | exp.Sub():
                return self.add_sub(n)
            case exp.Like():
                a = self.bind(n.this)
                p = self.bind(n.expression)
                out = make_call("like", [a, p], n)
                return make_call("not", [out], n) if n.args.get("negate") else out
            case exp.ILike():
                a = make_call("lower", [self.bind(n.this)], n)
                p = make_call("lower", [self.bind(n.expression)], n)
                return make_call("like", [a, p], n)
            case exp.Escape() if isinstance(n.this, exp.Like):
                like = n.this
                pattern, escape = fold(self.bind(like.expression)), fold(self.bind(n.expression))
                if any(isinstance(c, Literal) and c.value is None for c in (pattern, escape)):
                    return Literal(None, T.BOOL)  # NULL pattern or escape: NULL, as LIKE
                if not (isinstance(pattern, Literal) and isinstance(escape, Literal)
                        and isinstance(pattern.value, str) and isinstance(escape.value, str)
                        and len(escape.value) == 1):
                    raise err("LIKE ... ESCAPE needs a constant pattern and a one-character escape", n)
                regex = Literal(F.like_to_regex(pattern.value, escape.value), T.STRING)
                out = make_call("rlike", [self.bind(like.this), regex], n)
                return make_call("not", [out], n) if like.args.get("negate") else out
            case exp.Escape():
                raise err("ESCAPE is only supported after LIKE", n)
            case exp.Binary() if type(n) in _BINARY:
                return make_call(_BINARY[type(n)], [self.bind(n.this), self.bind(n.expression)], n)
            case exp.DPipe():
                return make_call("concat", [self.bind(n.this), self.bind(n.expression)], n)
            case exp.Is():
                a = self.bind(n.this)
                if isinstance(n.expression, exp.Null):
                    return make_call("is_null", [a], n)
                if isinstance(n.expression, exp.Boolean):
                    return make_call("is_true" if n.expression.this else "is_false", [a], n)
                raise err("unsupported IS", n)
            case exp.Between():
                a = self.bind(n.this)
                lo, hi = self.bind(n.args["low"]), self.bind(n.args["high"])
                return make_call("and", [make_call("ge", [a, lo], n), make_call("le", [a, hi], n)], n)
            case exp.In():
                return self.in_(n)
            case exp.Exists():
                plan, _ = self.b.bind_query(n.this, self.scope, self.ctes)
                return Exists(plan=plan)
            case exp.Subquery():
                plan, _ = self.b.bind_query(n.this, self.scope, self.ctes)
                plan, _ = self.b._order_limit_on(n, plan, [c.name for c in plan.schema], self.scope, self.ctes)
                if len(plan.schema) != 1:
                    raise err(f"scalar subquery must return one column, got {len(plan.schema)}", n)
                return ScalarSubquery(plan=plan, type=plan.schema[0].type)
            case exp.Case():
                return self.case(n)
            case exp.If():
                c = self.bool_arg(n.this)
                a = self.bind(n.args["true"])
                f = self.bind(n.args["false"]) if n.args.get("false") is not None else Literal(None, T.NULL)
                return make_call("if", [c, a, f], n)
            case exp.Cast() | exp.TryCast():
                t = sql_type(n.args["to"])
                return self.cast(self.bind(n.this), t, n)
            case exp.Extract():
                unit = n.this.name.lower()
                a = self.bind(n.expression)
                fn = {"dayofweek": "dayofweek", "dow": "dayofweek", "doy": "dayofyear", "week": "weekofyear"}.get(unit, unit)
                if fn not in F.SCALARS:
                    raise err(f"EXTRACT({unit}) is not supported", n)
                return make_call(fn, [a], n)
            case exp.Interval():
                return self.interval(n)
            case exp.Window():
                return self.window(n)
            case exp.Bracket():
                base = self.bind(n.this)
                idx = self.bind(n.expressions[0])
                return make_call("subscript", [base, idx], n)
            case exp.Coalesce():
                args = [self.bind(n.this)] + [self.bind(x) for x in n.expressions]
                return make_call("coalesce", args, n)
            case exp.Anonymous():
                return self.function(n.name.lower(), [self.bind(a) for a in n.expressions], n, raw=n.expressions)
            case exp.Distinct():
                raise err("DISTINCT is only allowed inside an aggregate", n)
            case exp.Star():
                raise err("* is not allowed here", n)
            case exp.Placeholder() | exp.Parameter():
                raise err("unbound parameter", n)
            case exp.Array():
                return make_call("array", [self.bind(x) for x in n.expressions], n)
            case exp.Struct():
                return self.struct(n)
            case exp.VarMap() | exp.Map():
                return self.map_(n)
            case exp.Func():
                return self.builtin(n)
        raise err(f"unsupported expression: {n.sql(dialect='hive')}", n)

    def bool_arg(self, n: exp.Expression) -> Expr:
        e = self.bind(n)
        if e.type not in (T.BOOL, T.NULL):
            e = self.cast(e, T.BOOL, n)
        return e

    def cast(self, e: Expr, t: pa.DataType, n: exp.Expression) -> Expr:
        if isinstance(e, Literal):
            folded = fold(Cast(e, t))
            if isinstance(folded, Literal):
                return folded
        return Cast(e, t) if e.type != t else e

    # -- names
    def column(self, n: exp.Column) -> Expr:
        name = n.name
        qual = n.table or None
        db = n.args.get("db")
        scope: Scope | None = self.scope
        if name.lower() == "grouping__id" and qual is None:
            return ColumnRef(Column(-1, "grouping__id", T.INT64))
        while scope is not None:
            found = scope.find(name, qual)
            if len(found) > 1:
                raise err(f"Column '{name}' is ambiguous", n)
            if found:
                return found[0].column.ref()
            if qual is not None and db is None:
                # s.f where s is a struct column
                base = scope.find(qual, None)
                if len(base) == 1 and pa.types.is_struct(base[0].column.type):
                    return self.field(base[0].column.ref(), name, n)
            scope = scope.parent
        if qual is None and name.lower() in self.aliases:
            return self.aliases[name.lower()]
        cands = [e.name if e.qualifier is None else f"{e.qualifier}.{e.name}"
                 for e in self.scope.entries if not e.hidden]
        close = difflib.get_close_matches(f"{qual}.{name}" if qual else name, cands, n=3, cutoff=0.5) or \
            difflib.get_close_matches(name, [e.name for e in self.scope.entries], n=3, cutoff=0.5)
        full = f"{qual}.{name}" if qual else name
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise err(f"Column '{full}' cannot be resolved{hint}", n)

    def field(self, base: Expr, name: str, n: exp.Expression) -> Expr:
        if not pa.types.is_struct(base.type):
            raise err(f"cannot access field {name} of {T.type_name(base.type)}", n)
        ft = F.struct_field_type(base.type, name)
        if ft is None:
            raise err(f"struct has no field {name}", n)
        real = next(f.name for f in base.type if f.name.lower() == name.lower())
        return Call("struct_field", (base, Literal(real, T.STRING)), ft)

    def literal(self, n: exp.Literal) -> Literal:
        return bind_literal(n)

    def interval(self, n: exp.Interval) -> Literal:
        unit = (n.args.get("unit").name if n.args.get("unit") is not None else "").lower().rstrip("s")
        v = n.this
        text = v.this if isinstance(v, exp.Literal) else v.sql()
        if not unit:
            parts = str(text).split()
            text, unit = parts[0], parts[1].lower().rstrip("s") if len(parts) > 1 else "day"
        try:
            amount = int(str(text).strip())
        except ValueError:
            raise err(f"bad interval value {text!r}", n) from None
        months = days = nanos = 0
        if unit == "year":
            months = 12 * amount
        elif unit == "month":
            months = amount
        elif unit == "week":
            days = 7 * amount
        elif unit == "day":
            days = amount
        elif unit == "hour":
            nanos = amount * 3_600_000_000_000
        elif unit == "minute":
            nanos = amount * 60_000_000_000
        elif unit == "second":
            nanos = amount * 1_000_000_000
        else:
            raise err(f"unsupported interval unit {unit}", n)
        return Literal(pa.MonthDayNano([months, days, nanos]), T.INTERVAL)

    def add_sub(self, n: exp.Expression) -> Expr:
        a, b = self.bind(n.this), self.bind(n.expression)
        sub = isinstance(n, exp.Sub)
        if b.type == T.INTERVAL or a.type == T.INTERVAL:
            if a.type == T.INTERVAL:
                if sub:
                    raise err("cannot subtract a date from an interval", n)
                a, b = b, a
            if T.is_string(a.type):
                a = self.cast(a, T.DATE, n)
            if sub:
                assert isinstance(b, Literal)
                v = b.value
                b = Literal(pa.MonthDayNano([-v.months, -v.days, -v.nanoseconds]), T.INTERVAL)
            return make_call("date_add_interval", [a, b], n)
        if T.is_temporal(a.type) and T.is_integer(b.type):
            return make_call("date_sub" if sub else "date_add", [a, b], n)
        if sub and a.type == T.DATE and b.type == T.DATE:
            return make_call("datediff", [a, b], n)
        return make_call("subtract" if sub else "add", [a, b], n)

    def in_(self, n: exp.In) -> Expr:
        a = self.bind(n.this)
        q = n.args.get("query")
        if q is not None:
            plan, _ = self.b.bind_query(q.this if isinstance(q, exp.Subquery) else q, self.scope, self.ctes)
            if len(plan.schema) != 1:
                raise err("IN subquery must return one column", q)
            t = T.common_type(a.type, plan.schema[0].type)
            if plan.schema[0].type != t:
                plan = self.b._coerce_plan(plan, [t])
            return InSubquery(arg=coerce(a, t), plan=plan)
        vals = [self.bind(x) for x in n.expressions]
        if all(isinstance(v, Literal) for v in vals):
            return make_call("in_list", [a] + vals, n)
        return _or_chain([make_call("eq", [a, v], n) for v in vals])

    def case(self, n: exp.Case) -> Expr:
        base = self.bind(n.this) if n.args.get("this") is not None else None
        whens = []
        for w in n.args["ifs"]:
            cond = self.bind(w.this)
            if base is not None:
                cond = make_call("eq", [base, cond], w)
            elif cond.type not in (T.BOOL, T.NULL):
                cond = self.cast(cond, T.BOOL, w)
            whens.append((cond, self.bind(w.args["true"])))
        default = self.bind(n.args["default"]) if n.args.get("default") is not None else Literal(None, T.NULL)
        t = T.NULL
        try:
            for _, v in whens:
                t = T.common_type(t, v.type)
            t = T.common_type(t, default.type)
        except T.TypeError_ as ex:
            raise err(f"CASE branches: {ex}", n) from None
        if t == T.NULL:
            t = T.STRING
        return Case(tuple((c, coerce(v, t)) for c, v in whens), coerce(default, t), t)

    def struct(self, n: exp.Struct) -> Expr:
        names, vals = [], []
        for i, x in enumerate(n.expressions):
            if isinstance(x, exp.PropertyEQ):
                names.append(x.this.name)
                vals.append(self.bind(x.expression))
            elif isinstance(x, exp.Alias):
                names.append(x.alias)
                vals.append(self.bind(x.this))
            else:
                names.append(f"col{i + 1}")
                vals.append(self.bind(x))
        vals = [coerce(v, T.STRING) if v.type == T.NULL else v for v in vals]
        t = pa.struct([pa.field(nm, v.type) for nm, v in zip(names, vals)])
        args: list[Expr] = []
        for nm, v in zip(names, vals):
            args += [Literal(nm, T.STRING), v]
        return Call("named_struct", tuple(args), t)

    def map_(self, n: exp.Expression) -> Expr:
        if isinstance(n, exp.VarMap):
            keys = [self.bind(x) for x in n.args["keys"].expressions]
            vals = [self.bind(x) for x in n.args["values"].expressions]
        else:
            raise err("unsupported map constructor", n)
        args: list[Expr] = []
        for k, v in zip(keys, vals):
            args += [k, v]
        return make_call("map", args, n)

    # -- functions
    def builtin(self, n: exp.Func) -> Expr:
        if type(n) in _AGG_CLASSES:
            return self.aggregate(_AGG_CLASSES[type(n)], n)
        if type(n) in _WINDOW_CLASSES:
            raise err(f"{_WINDOW_CLASSES[type(n)]}() requires an OVER clause", n)
        special = hive_functions.bind_special(n, self.bind, self.function, self.b.settings,
                                              getattr(self.b.tables, "current_database", "default"))
        if special is not None:
            return special
        name = n.sql_name().lower()
        if isinstance(n, exp.Substring):
            args = [n.this, n.args.get("start"), n.args.get("length")]
            return self.function("substr", [self.bind(a) for a in args if a is not None], n)
        if isinstance(n, exp.Trim):
            pos = (n.args.get("position") or "").upper()
            fn = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(pos, "trim")
            return self.function(fn, [self.bind(n.this)], n)
        if isinstance(n, exp.Pad):
            fn = "lpad" if n.args.get("is_left") else "rpad"
            return self.function(fn, [self.bind(n.this), self.bind(n.expression), self.bind(n.args["fill_pattern"])], n)
        if isinstance(n, exp.StrPosition):
            return self.function("instr", [self.bind(n.this), self.bind(n.args["substr"])], n)
        if isinstance(n, (exp.Concat, exp.ConcatWs)):
            args = [self.bind(a) for a in n.expressions]
            return self.function("concat_ws" if isinstance(n, exp.ConcatWs) else "concat", args, n)
        if isinstance(n, (exp.Greatest, exp.Least)) or name in ("greatest", "least"):
            args = [self.bind(n.this)] + [self.bind(a) for a in n.expressions]
            return self.function(name, args, n)
        if isinstance(n, exp.Log):
            args = [self.bind(n.this)] + ([self.bind(n.expression)] if n.expression else [])
            return self.function("log", args, n)
        if isinstance(n, exp.Round):
            args = [self.bind(n.this)] + ([self.bind(n.args["decimals"])] if n.args.get("decimals") else [])
            out = self.function("round", args, n)
            t = args[0].type
            d = args[1] if len(args) > 1 else Literal(0, T.INT32)
            if isinstance(out, Call) and T.is_decimal(t) and isinstance(d, Literal) and d.value is not None \
                    and 0 <= d.value < t.scale:
                # Spark/Hive: round(decimal(p, s), d) is decimal(p - s + d + 1, d)
                out = Call(out.name, out.args, T.decimal(t.precision - t.scale + d.value + 1, d.value))
            return out
        if isinstance(n, exp.TsOrDsAdd):
            a, d = self.bind(n.this), self.bind(n.expression)
            return self.function("date_add", [a, d], n)
        if isinstance(n, exp.DateSub):
            return self.function("date_sub", [self.bind(n.this), self.bind(n.expression)], n)
        if isinstance(n, exp.DateAdd):
            return self.function("date_add", [self.bind(n.this), self.bind(n.expression)], n)
        if isinstance(n, exp.CurrentDate):
            return self.function("current_date", [], n)
        if isinstance(n, exp.CurrentTimestamp):
            return self.function("current_timestamp", [], n)
        if isinstance(n, exp.RegexpExtract):
            args = [self.bind(n.this), self.bind(n.expression)]
            if n.args.get("group") is not None:
                args.append(self.bind(n.args["group"]))
            return self.function("regexp_extract", args, n)
        if isinstance(n, exp.UnixToStr):
            args = [self.bind(n.this)] + ([self.bind(n.args["format"])] if n.args.get("format") else [])
            return self.function("from_unixtime", args, n)
        if isinstance(n, exp.StrToUnix):
            args = ([self.bind(n.this)] if n.this else []) + ([self.bind(n.args["format"])] if n.args.get("format") else [])
            return self.function("unix_timestamp", args, n)
        if isinstance(n, exp.TsOrDsToDate):
            return self.function("to_date", [self.bind(n.this)], n)
        if isinstance(n, exp.TimeToStr):
            return self.function("date_format", [self.bind(n.this), self.bind(n.args["format"])], n)
        if isinstance(n, (exp.TimeStrToTime, exp.StrToTime)) and not n.args.get("format"):
            return self.cast(self.bind(n.this), T.TIMESTAMP, n)
        if isinstance(n, exp.ArraySort):
            return self.function("sort_array", [self.bind(n.this)], n)
        if isinstance(n, exp.Quantile):
            return self.aggregate("percentile", n)
        args = []
        for k in n.arg_types:
            v = n.args.get(k)
            if v is None or isinstance(v, bool):
                continue
            if isinstance(v, list):
                args.extend(self.bind(x) for x in v)
            elif isinstance(v, exp.Expression):
                args.append(self.bind(v))
        return self.function(_FUNC_NAMES.get(name, name), args, n)

    def function(self, name: str, args: list[Expr], n: exp.Expression, raw: Any = None) -> Expr:
        if name in AGGREGATES:
            return self.aggregate(name, n, args=args, raw=raw)
        if name in self.b.udafs:
            if not self.allow_agg:
                raise err(f"aggregate function {name}() is not allowed here", n)
            u = self.b.udafs[name]
            if len(args) != 1:
                raise err(f"{name}() takes one argument", n)
            return AggCall(name="udaf", args=tuple(args), distinct=False, type=u.return_type, params=(u.name, u.fn))
        if name in self.b.udfs:
            u = self.b.udfs[name]
            return Call(name, tuple(args), u.return_type, udf=u.fn)
        if name == "grouping":
            return Call("grouping", tuple(args), T.INT32)
        if name in ("nvl2",):
            return make_call("if", [make_call("is_not_null", [args[0]], n), args[1], args[2]], n)
        if name == "isnull":
            return make_call("is_null", args, n)
        if name == "isnotnull":
            return make_call("is_not_null", args, n)
        if name in ("date", "timestamp", "string", "int", "bigint", "double", "boolean"):
            t = _TYPE_MAP[name.upper()]
            return self.cast(args[0], t, n)
        if name in F.SCALARS:
            return make_call(name, args, n)
        cands = difflib.get_close_matches(name, list(F.SCALARS) + list(AGGREGATES) + list(self.b.udfs)
                                          + list(self.b.udafs), n=3)
        hint = f"; did you mean {', '.join(cands)}?" if cands else ""
        raise err(f"Undefined function: '{name}'{hint}", n)

    def aggregate(self, name: str, n: exp.Expression, args: list[Expr] | None = None, raw: Any = None) -> Expr:
        if not self.allow_agg:
            raise err(f"aggregate function {name}() is not allowed here", n)
        if self.in_agg:
            raise err(f"aggregate function {name}() cannot be nested in another aggregate", n)
        distinct = False
        params: tuple[Any, ...] = ()
        self.in_agg = True
        try:
            if args is None:
                this = n.this
                if isinstance(this, exp.Distinct):
                    distinct = True
                    args = [self.bind(x) for x in this.expressions]
                elif this is None or isinstance(this, exp.Star):
                    args = []
                else:
                    args = [self.bind(this)]
                args += [self.bind(x) for x in hive_functions.node_arguments(name, n)]
            elif raw is not None and raw and isinstance(raw[0], exp.Distinct):
                distinct = True
                args = [self.bind(x) for x in raw[0].expressions]
        finally:
            self.in_agg = False
        if name in hive_functions.AGGREGATES:
            return hive_functions.aggregate(name, args, distinct, lambda message: err(message, n))
        if name == "count" and len(args) > 1:
            # count(DISTINCT a, b): count rows where all are non-null
            pass
        t = agg_type(name, [a.type for a in args], n)
        if name in ("avg", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop") \
                and args and T.is_string(args[0].type):
            args = [coerce(args[0], T.FLOAT64)]
        if name == "sum" and args and T.is_string(args[0].type):
            args = [coerce(args[0], T.FLOAT64)]
        return AggCall(name=name, args=tuple(args), distinct=distinct, type=t, params=params)

    def window(self, n: exp.Window) -> Expr:
        if not self.allow_window:
            raise err("window functions are only allowed in SELECT and ORDER BY", n)
        fn = n.this
        if isinstance(fn, exp.IgnoreNulls) or isinstance(fn, exp.RespectNulls):
            fn = fn.this
        part = tuple(self.bind(p) for p in (n.args.get("partition_by") or []))
        order = n.args.get("order")
        keys = tuple(self.b._sort_key(o, self.bind(o.this)) for o in (order.expressions if order else []))
        frame = bind_frame(n.args.get("spec"), keys, self.interval, n)
        if type(fn) in _WINDOW_CLASSES:
            name = _WINDOW_CLASSES[type(fn)]
            args = []
            for k in fn.arg_types:
                v = fn.args.get(k)
                if isinstance(v, exp.Expression):
                    args.append(self.bind(v))
            t = {"row_number": T.INT32, "rank": T.INT32, "dense_rank": T.INT32, "ntile": T.INT32,
                 "percent_rank": T.FLOAT64, "cume_dist": T.FLOAT64}.get(name)
            if t is None:
                t = args[0].type
                if name in ("lag", "lead") and len(args) > 2:
                    t = T.common_type(t, args[2].type)
                    args[2] = coerce(args[2], t)
            return WindowCall(name=name, args=tuple(args), partition_by=part, order_by=keys,
                              frame=frame, type=t)
        saved = self.allow_agg
        self.allow_agg = True
        try:
            agg = self.bind(fn)
        finally:
            self.allow_agg = saved
        if not isinstance(agg, AggCall):
            raise err(f"{fn.sql()} is not a window function", n)
        if agg.distinct and agg.name not in DISTINCT_WINDOW_AGGREGATES:
            raise NotSupportedError(f"DISTINCT in window aggregates is supported for "
                                    f"{', '.join(DISTINCT_WINDOW_AGGREGATES)}, not {fn.sql(dialect='hive')}")
        return WindowCall(name=agg.name, args=agg.args, partition_by=part, order_by=keys,
                          frame=frame, type=agg.type, distinct=agg.distinct)


def _or_chain(parts: list[Expr]) -> Expr:
    out = parts[0]
    for p in parts[1:]:
        out = Call("or", (out, p), T.BOOL)
    return out


def bind_literal(n: exp.Literal) -> Literal:
    """A Hive literal's value and type (``5`` int, ``5L`` bigint, ``1.50`` decimal(3,2), ``1e3`` double)."""
    if n.is_string:
        return Literal(n.this, T.STRING)
    text = n.this
    up = text.upper()
    if up.endswith("BD"):
        d = decimal.Decimal(text[:-2])
        return _dec_literal(d)
    for suf, t in (("L", T.INT64), ("S", T.INT16), ("Y", T.INT8)):
        if up.endswith(suf) and up[:-1].lstrip("-").isdigit():
            return Literal(int(text[:-1]), t)
    if up.endswith("D") and not up.startswith("0X"):
        return Literal(float(text[:-1]), T.FLOAT64)
    try:
        v = int(text)
        if -(2 ** 31) <= v < 2 ** 31:
            return Literal(v, T.INT32)
        if -(2 ** 63) <= v < 2 ** 63:
            return Literal(v, T.INT64)
        return _dec_literal(decimal.Decimal(text))
    except ValueError:
        pass
    if "E" in up:
        return Literal(float(text), T.FLOAT64)
    return _dec_literal(decimal.Decimal(text))


def _dec_literal(d: decimal.Decimal) -> Literal:
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    precision = max(len(digits), scale, 1)
    if precision > 38:
        return Literal(float(d), T.FLOAT64)
    return Literal(d, pa.decimal128(precision, scale))


def agg_type(name: str, args: list[pa.DataType], n: exp.Expression | None) -> pa.DataType:
    if name in ("count", "approx_count_distinct"):
        return T.INT64
    if not args:
        raise err(f"{name}() needs an argument", n)
    t = args[0]
    if name == "sum":
        if T.is_integer(t):
            return T.INT64
        if T.is_decimal(t):
            return T.decimal(t.precision + 10, t.scale)
        if T.is_floating(t) or T.is_string(t) or t == T.NULL:
            return T.FLOAT64
        raise err(f"sum() of {T.type_name(t)}", n)
    if name == "avg":
        if T.is_decimal(t):
            return T.decimal(t.precision + 4, t.scale + 4)
        if T.is_numeric(t) or T.is_string(t) or t == T.NULL:
            return T.FLOAT64
        raise err(f"avg() of {T.type_name(t)}", n)
    if name in ("min", "max", "first", "last", "any_value"):
        return t
    if name in ("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"):
        return T.FLOAT64
    if name in ("collect_list", "collect_set"):
        return pa.list_(t)
    if name in ("percentile_approx", "percentile"):
        return T.FLOAT64
    if name in ("bool_and", "bool_or", "every", "some"):
        return T.BOOL
    raise err(f"unknown aggregate {name}", n)
