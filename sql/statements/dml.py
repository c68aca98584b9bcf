"""INSERT INTO|OVERWRITE (query, VALUES, static and dynamic partitions, column lists),
multi-insert (``FROM src INSERT ... INSERT ...``) and LOAD DATA.

Queries run through ``session.run_query``; their rows reach ``Catalog`` writes as an
RDD of RecordBatch (one write task per partition, in parallel) when the session offers
one, else as a batch iterator. A multi-insert stages every target before committing
any, so a failure in one branch writes nothing.
"""

from __future__ import annotations

import datetime
import decimal
import functools
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

import catalog
from catalog.formats.textconv import parse_column
from catalog.model import Column, Table
from catalog.types import parse_hive_type
from catalog.writer import run_tasks
from sql.statements.common import (
    Ctx,
    StatementResult,
    partition_spec,
    table_name,
)
from sql.statements.errors import StatementError, located


def query_data(output: Any) -> Any:
    """An RDD of batches when the query output has one, else its batch iterator."""
    rdd = getattr(output, "rdd", None)
    if rdd is not None:
        return rdd
    return output.batches()


class _Target:
    """A resolved INSERT target: table, partition spec, expected input columns."""

    def __init__(self, ctx: Ctx, node: exp.Insert) -> None:
        target = node.this
        self.column_list: list[str] | None = None
        if isinstance(target, exp.Schema):
            self.column_list = [e.name.lower() for e in target.expressions]
            target = target.this
        if not isinstance(target, exp.Table):
            raise ctx.error("INSERT OVERWRITE DIRECTORY is not supported; insert into a table", node)
        self.node = target
        self.pos = ctx.pos(target)
        db, name = table_name(ctx, target)
        with located(self.pos):
            self.table: Table = ctx.catalog.get_table(db, name)
            if self.table.is_view:
                raise catalog.errors.NotATable(f"Cannot insert into view {self.table.qualified_name}")
        raw_spec = partition_spec(ctx, target.args.get("partition") or node.args.get("partition") or None,
                                  allow_dynamic=True)
        with located(ctx.pos(target.args.get("partition") or target)):
            self.spec = ctx.catalog.check_partition_spec(self.table, raw_spec, full=False, allow_dynamic=True)
        static = {k for k, v in self.spec if v is not None}
        self.dynamic = tuple(c for c in self.table.partition_columns if c.name not in static)
        if self.dynamic:
            check_dynamic_partition_settings(ctx, self.table, bool(static), target)
        self.expected: tuple[Column, ...] = self.table.columns + self.dynamic
        self.overwrite = bool(node.args.get("overwrite"))
        if self.column_list is not None:
            known = {c.name for c in self.expected}
            for n in self.column_list:
                if n not in known:
                    raise ctx.error(f"Column {n} is not an insertable column of {self.table.qualified_name}", node.this)

    @property
    def source_columns(self) -> list[Column]:
        """The columns the query must produce, in order."""
        if self.column_list is None:
            return list(self.expected)
        by_name = {c.name: c for c in self.expected}
        return [by_name[n] for n in self.column_list]


#: Hive 4's defaults (HIVE-22042 made ``nonstrict`` the default mode; Hive 3 and older
#: default to ``strict``). Spark SQL behaves as ``nonstrict`` for its own tables too.
DYNAMIC_PARTITION_DEFAULT = "true"
DYNAMIC_PARTITION_MODE_DEFAULT = "nonstrict"


def check_dynamic_partition_settings(ctx: Ctx, table: Table, has_static: bool, node: exp.Expression) -> None:
    """Refuse a dynamic-partition write the session's settings forbid, with Hive's messages
    (ErrorMsg 10095 and 10096): ``hive.exec.dynamic.partition=false`` forbids any dynamic
    partition column, ``hive.exec.dynamic.partition.mode=strict`` requires at least one
    static one (so that a mistaken query cannot scatter rows over every partition)."""
    enabled = ctx.setting("hive.exec.dynamic.partition", DYNAMIC_PARTITION_DEFAULT).strip().lower()
    if enabled not in ("true", "false"):
        raise ctx.error(f"hive.exec.dynamic.partition must be true or false, not {enabled!r}", node)
    if enabled == "false":
        raise ctx.error(
            f"Dynamic partition is disabled. Either enable it by setting hive.exec.dynamic.partition=true "
            f"or specify partition column values (inserting into {table.qualified_name})", node)
    mode = ctx.setting("hive.exec.dynamic.partition.mode", DYNAMIC_PARTITION_MODE_DEFAULT).strip().lower()
    if mode not in ("strict", "nonstrict"):
        raise ctx.error(f"hive.exec.dynamic.partition.mode must be strict or nonstrict, not {mode!r}", node)
    if mode == "strict" and not has_static:
        raise ctx.error(
            f"Dynamic partition strict mode requires at least one static partition column. To turn this off "
            f"set hive.exec.dynamic.partition.mode=nonstrict (inserting into {table.qualified_name})", node)


def _check_schema(ctx: Ctx, target: _Target, schema: pa.Schema, query: exp.Expression) -> None:
    want = target.source_columns
    if len(schema) != len(want):
        raise ctx.error(
            f"Cannot insert into {target.table.qualified_name}: the target expects {len(want)} column(s) "
            f"({', '.join(c.name for c in want)}) but the query returns {len(schema)}", query)
    selects = query.expressions if isinstance(query, exp.Select) else []
    for i, (f, c) in enumerate(zip(schema, want)):
        if not _castable(f.type, c.arrow_type):
            node = selects[i] if i < len(selects) else query
            raise ctx.error(
                f"Type mismatch in INSERT into {target.table.qualified_name}: column {c.name} is {c.type}, "
                f"the query gives {f.type}", node)


def _castable(src: pa.DataType, dst: pa.DataType) -> bool:
    if src == dst or pa.types.is_null(src):
        return True
    nested = (pa.types.is_list, pa.types.is_map, pa.types.is_struct, pa.types.is_large_list)
    if any(f(src) for f in nested) or any(f(dst) for f in nested):
        try:
            pc.cast(pa.array([], src), dst)
            return True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
    return True


def reorder(batch: pa.RecordBatch, column_list: tuple[str, ...], expected: tuple[tuple[str, pa.DataType], ...]) -> pa.RecordBatch:
    """Map a batch in column-list order to the target's full column order (NULL fill)."""
    index = {n: i for i, n in enumerate(column_list)}
    arrays = [
        batch.column(index[n]) if n in index else pa.nulls(batch.num_rows, t) for n, t in expected
    ]
    return pa.RecordBatch.from_arrays(arrays, names=[n for n, _ in expected])


def _prepare(target: _Target, data: Any) -> Any:
    """Apply column-list reordering and string conversion to batches or an RDD."""
    expected_types = tuple((c.name, c.arrow_type) for c in target.expected)
    steps = []
    if target.column_list is not None:
        steps.append(functools.partial(reorder, column_list=tuple(target.column_list), expected=expected_types))
    if not steps:
        return data
    fn = functools.partial(_apply_all, steps=tuple(steps))
    if hasattr(data, "mapPartitionsWithIndex"):
        return data.map(fn)
    return (fn(b) for b in data)


def _apply_all(batch: pa.RecordBatch, steps: tuple[Any, ...]) -> pa.RecordBatch:
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else pa.RecordBatch.from_pylist([], schema=batch.schema)
    for s in steps:
        batch = s(batch)
    return batch


def _source_data(ctx: Ctx, target: _Target, query: exp.Expression) -> Any:
    if isinstance(query, exp.Values):
        table = values_table(ctx, query, target.source_columns)
        if table is not None:
            return _prepare(target, table.to_batches())
        query = exp.select("*").from_(query.copy())
    output = ctx.session.run_query(query)
    _check_schema(ctx, target, output.schema, query)
    return _prepare(target, query_data(output))


def insert(ctx: Ctx, node: exp.Insert) -> StatementResult:
    if isinstance(node.this, exp.Directory):
        return insert_directory(ctx, node)
    target = _Target(ctx, node)
    data = _source_data(ctx, target, _query_of(node))
    with located(target.pos):
        result = ctx.catalog.write(target.table.db, target.table.name, data, overwrite=target.overwrite,
                                   partition=target.spec, max_partitions=_max_partitions(ctx))
    return StatementResult(rowcount=result.rows)


def _query_of(node: exp.Insert) -> exp.Expression:
    """The INSERT's query, with common table expressions written before the INSERT
    (Hive's ``WITH w AS (…) INSERT INTO t SELECT … FROM w``) put in front of its own."""
    key = "with_" if "with_" in node.arg_types else "with"
    outer, query = node.args.get(key), node.expression
    if outer is None or query is None:
        return query
    query = query.copy()
    inner = query.args.get(key)
    ctes = [c.copy() for c in outer.expressions] + (list(inner.expressions) if inner is not None else [])
    query.set(key, exp.With(expressions=ctes))
    return query


def insert_directory(ctx: Ctx, node: exp.Insert) -> StatementResult:
    """INSERT OVERWRITE [LOCAL] DIRECTORY 'd' [ROW FORMAT ...] [STORED AS ...] SELECT ...
    (text with Hive's default delimiters unless told otherwise)."""
    from catalog.model import StorageFormat
    from catalog.types import format_hive_type, from_arrow
    from sql.statements.ddl import _file_format, _storage

    d = node.this
    if not node.args.get("overwrite"):
        raise ctx.error("Only INSERT OVERWRITE [LOCAL] DIRECTORY is supported", node)
    location = d.this.this
    fmt = "textfile"
    stored = node.args.get("stored")
    if stored:
        fmt = _file_format(ctx, stored)
    row = d.args.get("row_format")
    delimited = {k: v.this for k, v in row.args.items() if isinstance(v, exp.Literal)} if row is not None else {}
    storage = _storage(fmt, delimited, None, []) if (delimited or fmt != "textfile") else StorageFormat(format="textfile")
    output = ctx.session.run_query(_query_of(node))
    with located(ctx.pos(node.expression)):
        columns = [Column(f"_col{i}", format_hive_type(from_arrow(f.type))) for i, f in enumerate(output.schema)]
    with located(ctx.pos(d)):
        result = ctx.catalog.write_directory(location, columns, storage, query_data(output))
    return StatementResult(rowcount=result.rows)


def multi_insert(ctx: Ctx, node: exp.MultitableInserts) -> StatementResult:
    source = node.args.get("source")
    staged = []
    try:
        for ins in node.expressions:
            if not isinstance(ins, exp.Insert):
                raise ctx.error("Only INSERT branches are supported in a multi-insert", ins)
            target = _Target(ctx, ins)
            query = ins.expression.copy()
            if isinstance(query, exp.Select) and source is not None and not query.args.get("from_"):
                query.set("from_", exp.From(this=source.copy()))
            data = _source_data(ctx, target, query)
            with located(target.pos):
                pending = ctx.catalog.start_write(target.table.db, target.table.name,
                                                  overwrite=target.overwrite, partition=target.spec,
                                                  max_partitions=_max_partitions(ctx))
                staged.append((target, pending, _run_tasks(pending, data)))
    except BaseException:
        for _, pending, _ in staged:
            pending.abort()
        raise
    total = 0
    for i, (target, pending, results) in enumerate(staged):
        with located(target.pos):
            try:
                total += pending.commit(results).rows
            except BaseException:
                for _, later, _ in staged[i + 1:]:
                    later.abort()
                raise
    return StatementResult(rowcount=total)


def _max_partitions(ctx: Ctx) -> int | None:
    """Hive's guard against a runaway dynamic-partition insert (default 1000; 0 = off)."""
    text = ctx.setting("hive.exec.max.dynamic.partitions", "1000").strip()
    try:
        n = int(text)
    except ValueError:
        raise StatementError(f"hive.exec.max.dynamic.partitions must be a number, not {text!r}", 1, 1) from None
    return n if n > 0 else None


def _run_tasks(pending: catalog.PendingWrite, data: Any) -> list[Any]:
    return run_tasks(pending.spec, data)


def load_data(ctx: Ctx, node: exp.LoadData) -> StatementResult:
    db, name = table_name(ctx, node.this)
    spec = partition_spec(ctx, node.args.get("partition"))
    path = node.args["inpath"].this
    pos = ctx.pos(node.this)
    with located(pos):
        result = ctx.catalog.load_data(db, name, path, overwrite=bool(node.args.get("overwrite")),
                                       partition=spec, local=bool(node.args.get("local")))
    return StatementResult(rowcount=-1, message=f"Loaded {result.files} file(s) into {db}.{name}")


# -- VALUES of constants, evaluated here ---------------------------------------------------


class _NotConstant(Exception):
    pass


def values_table(ctx: Ctx, values: exp.Values, columns: list[Column]) -> pa.Table | None:
    """VALUES rows of constants as a table typed like ``columns``; None if any cell is
    an expression (the session's engine evaluates those)."""
    rows = values.expressions
    for r in rows:
        n = len(r.expressions) if isinstance(r, exp.Tuple) else 1
        if n != len(columns):
            raise StatementError(
                f"VALUES row has {n} value(s) but the target expects {len(columns)} "
                f"({', '.join(c.name for c in columns)})", *ctx.pos(r))
    try:
        cells = [[_const(e) for e in (r.expressions if isinstance(r, exp.Tuple) else [r])] for r in rows]
    except _NotConstant:
        return None
    arrays = []
    for i, c in enumerate(columns):
        col = [row[i] for row in cells]
        h = parse_hive_type(c.type)
        try:
            if h.is_complex:
                arrays.append(pa.array(col, c.arrow_type))
            else:
                text = pa.array([None if v is None else _text(v) for v in col], pa.string())
                arrays.append(parse_column(text, h, ("\x01",) * 8, "\x00").array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            raise StatementError(f"Type mismatch in VALUES for column {c.name} ({c.type}): {e}",
                                 *ctx.pos(values)) from e
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns])


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return v.isoformat(sep=" ")
    return str(v)


def _const(node: exp.Expression) -> Any:
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        try:
            return int(text)
        except ValueError:
            return decimal.Decimal(text)
    if isinstance(node, exp.Neg):
        v = _const(node.this)
        if isinstance(v, (int, decimal.Decimal)):
            return -v
        raise _NotConstant
    if isinstance(node, exp.Paren):
        return _const(node.this)
    if isinstance(node, exp.Cast) and isinstance(node.this, (exp.Literal, exp.Null, exp.Neg)):
        return _const(node.this)
    if isinstance(node, exp.Array):
        return [_const(e) for e in node.expressions]
    if isinstance(node, exp.VarMap):
        keys, vals = node.args["keys"], node.args["values"]
        return [(_const(k), _const(v)) for k, v in zip(keys.expressions, vals.expressions)]
    if isinstance(node, exp.Struct):
        out = {}
        for i, e in enumerate(node.expressions):
            if isinstance(e, (exp.PropertyEQ, exp.Alias)):
                out[e.name if isinstance(e, exp.Alias) else e.this.name] = _const(e.expression if isinstance(e, exp.PropertyEQ) else e.this)
            else:
                out[f"col{i + 1}"] = _const(e)
        return out
    raise _NotConstant
