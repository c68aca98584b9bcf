"""ALTER TABLE / ALTER VIEW: rename, add/replace/change columns, set/unset properties
and serde properties, add/drop partitions, set location (table or partition), and
ALTER VIEW ... AS. Forms sqlglot parses arrive as ``exp.Alter``; the rest
(``ADD PARTITION``, multi-partition ``DROP``, ``CHANGE COLUMN``, ``UNSET``) are parsed
from tokens."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlglot import exp

import catalog
from catalog.model import Column, Table
from catalog.types import format_hive_type, from_arrow, normalize_hive_type
from sql.statements.common import (
    Ctx,
    StatementResult,
    columns_of,
    literal_text,
    partition_spec,
    table_name,
)
from sql.statements.errors import StatementError, located
from sql.statements.tokens import Tokens


def alter(ctx: Ctx, node: exp.Alter) -> StatementResult:
    kind = (node.args.get("kind") or "TABLE").upper()
    target = node.this
    db, name = table_name(ctx, target)
    pos = ctx.pos(target)
    with located(pos):
        t = ctx.catalog.get_table(db, name)
    for action in node.args.get("actions") or []:
        with located(ctx.pos(action) if action.meta or list(action.walk()) else pos):
            t = _action(ctx, node, t, action, kind)
    return StatementResult()


def _action(ctx: Ctx, node: exp.Alter, t: Table, action: exp.Expression, kind: str) -> Table:
    cat = ctx.catalog
    if kind == "VIEW" and isinstance(action, (exp.Select, exp.Union, exp.Subquery)):
        if not t.is_view:
            raise catalog.errors.NotATable(f"{t.qualified_name} is not a view")
        output = ctx.session.run_query(action)
        cols = tuple(Column(f.name.lower(), format_hive_type(from_arrow(f.type))) for f in output.schema)
        return cat.alter_table(t.db, t.name, dataclasses.replace(t, columns=cols, view_sql=action.sql("hive")))
    if kind == "TABLE" and t.is_view:
        raise catalog.errors.NotATable(f"{t.qualified_name} is a view; use ALTER VIEW")
    if isinstance(action, exp.AlterRename):
        ndb, nname = table_name(ctx, action.this)
        if not action.this.text("db"):
            ndb = t.db
        return cat.alter_table(t.db, t.name, dataclasses.replace(t, db=ndb, name=nname))
    if isinstance(action, exp.Schema):  # ADD COLUMNS
        added = columns_of(ctx, action.expressions)
        return cat.alter_table(t.db, t.name, dataclasses.replace(t, columns=t.columns + added))
    if isinstance(action, exp.ColumnDef):
        return cat.alter_table(t.db, t.name, dataclasses.replace(t, columns=t.columns + columns_of(ctx, [action])))
    if isinstance(action, exp.ReplaceColumns):
        return cat.alter_table(t.db, t.name, dataclasses.replace(t, columns=columns_of(ctx, action.expressions)))
    if isinstance(action, exp.AlterSet):
        return _alter_set(ctx, node, t, action)
    if isinstance(action, exp.AddPartition):
        loc = action.args.get("location")
        cat.add_partition(t.db, t.name, partition_spec(ctx, action.this),
                          location=loc.this.this if loc else None, if_not_exists=bool(action.args.get("exists")))
        return t
    if isinstance(action, exp.DropPartition):
        if_exists = bool(action.args.get("exists"))
        for p in action.expressions:
            if all(isinstance(e, exp.EQ) for e in p.expressions):
                cat.drop_partitions(t.db, t.name, partition_spec(ctx, p), if_exists=if_exists)
            else:
                cat.drop_partitions_where(t.db, t.name, _partition_predicate(ctx, t, p), if_exists=if_exists)
        return t
    if isinstance(action, exp.AlterColumn) and action.args.get("rename_to") is not None:
        return _change_column(t, action.this.name, action.args["rename_to"].name,
                              _type_text(ctx, action.args.get("dtype"), t, action.this.name), None, ctx, cat)
    raise StatementError(f"Unsupported ALTER action: {action.sql('hive')}", *ctx.pos(action))


_COMPARISONS = {exp.EQ: "==", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}


def _partition_predicate(ctx: Ctx, t: Table, partition: exp.Expression) -> Any:
    """``PARTITION (dt < '2020', h >= 3)`` as an Arrow expression over typed partition values."""
    import operator

    import pyarrow as pa
    import pyarrow.compute as pc

    from catalog.source import typed_partition_values

    ops = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
    expr = None
    for e in partition.expressions:
        op = _COMPARISONS.get(type(e))
        if op is None or not isinstance(e.this, exp.Column):
            raise StatementError(f"Unsupported partition filter {e.sql('hive')}", *ctx.pos(e))
        col = t.column(e.this.name)
        if col is None or col.name not in t.partition_names:
            raise StatementError(f"{e.this.name} is not a partition column of {t.qualified_name}", *ctx.pos(e))
        text = literal_text(ctx, e.expression)
        ((_, value),) = typed_partition_values((col,), ((col.name, text),))
        term = ops[op](pc.field(col.name), pa.scalar(value, col.arrow_type))
        expr = term if expr is None else expr & term
    return expr


def _type_text(ctx: Ctx, dtype: exp.DataType | None, t: Table, col: str) -> str | None:
    if dtype is None:
        return None
    from sql.statements.common import hive_type_of

    return hive_type_of(ctx, dtype)


def _alter_set(ctx: Ctx, node: exp.Alter, t: Table, action: exp.AlterSet) -> Table:
    cat = ctx.catalog
    file_format = action.args.get("file_format")
    if file_format:
        from sql.statements.ddl import _STORED_AS

        name = file_format[0].name.upper()
        fmt = _STORED_AS.get(name)
        if fmt is None:
            raise StatementError(f"SET FILEFORMAT {name} is not supported", *ctx.pos(file_format[0]))
        return cat.alter_table(t.db, t.name, dataclasses.replace(t, storage=dataclasses.replace(t.storage, format=fmt)))
    location = action.args.get("location")
    if location is not None:
        spec = partition_spec(ctx, node.this.args.get("partition"))
        cat.set_location(t.db, t.name, location.this, spec)
        return cat.get_table(t.db, t.name)
    for props in action.expressions:
        items = props.expressions if isinstance(props, exp.Properties) else [props]
        for p in items:
            if isinstance(p, exp.SerdeProperties):
                sp = dict(t.storage.serde_properties)
                sp.update((q.this.this, literal_text(ctx, q.args["value"]) or "") for q in p.expressions)
                storage = _apply_serde_props(t.storage, sp)
                t = cat.alter_table(t.db, t.name, dataclasses.replace(t, storage=storage))
            elif isinstance(p, exp.Property):
                key = p.this.this if isinstance(p.this, exp.Literal) else p.name
                value = literal_text(ctx, p.args["value"]) or ""
                t = _set_property(cat, t, key, value)
            elif isinstance(p, exp.FileFormatProperty):
                from sql.statements.ddl import _file_format

                fmt = _file_format(ctx, p)
                t = cat.alter_table(t.db, t.name, dataclasses.replace(t, storage=dataclasses.replace(t.storage, format=fmt)))
            else:
                raise StatementError(f"Unsupported ALTER ... SET {p.sql('hive')}", *ctx.pos(p))
    return t


def _apply_serde_props(storage: catalog.StorageFormat, sp: dict[str, str]) -> catalog.StorageFormat:
    return dataclasses.replace(
        storage,
        serde_properties=tuple(sp.items()),
        field_delim=sp.get("field.delim", storage.field_delim),
        collection_delim=sp.get("collection.delim", storage.collection_delim),
        map_key_delim=sp.get("mapkey.delim", storage.map_key_delim),
        null_format=sp.get("serialization.null.format", storage.null_format),
        escape=sp.get("escape.delim", storage.escape),
    )


def _set_property(cat: catalog.Catalog, t: Table, key: str, value: str) -> Table:
    props = dict(t.properties)
    kind = t.kind
    if key.lower() == "comment":  # Hive's way to change a table comment
        return cat.alter_table(t.db, t.name, dataclasses.replace(t, comment=value))
    if key.upper() == "EXTERNAL" and not t.is_view:
        kind = catalog.EXTERNAL if value.upper() == "TRUE" else catalog.MANAGED
    else:
        props[key] = value
    return cat.alter_table(t.db, t.name, dataclasses.replace(t, kind=kind, properties=tuple(props.items())))


def _change_column(t: Table, old: str, new: str, type_text: str | None, comment: str | None, ctx: Ctx,
                   cat: catalog.Catalog, after: str | None = None, first: bool = False) -> Table:
    cols = list(t.columns)
    idx = next((i for i, c in enumerate(cols) if c.name == old.lower()), None)
    if idx is None:
        raise catalog.errors.ColumnError(f"Column {old} not found in {t.qualified_name}")
    c = cols.pop(idx)
    c = Column(new.lower(), type_text or c.type, comment if comment is not None else c.comment)
    if first:
        cols.insert(0, c)
    elif after is not None:
        j = next((i for i, x in enumerate(cols) if x.name == after.lower()), None)
        if j is None:
            raise catalog.errors.ColumnError(f"Column {after} not found in {t.qualified_name}")
        cols.insert(j + 1, c)
    else:
        cols.insert(idx, c)
    return cat.alter_table(t.db, t.name, dataclasses.replace(t, columns=tuple(cols)))


def _name_list(toks: Tokens) -> list[str]:
    toks.expect_punct("(")
    out = []
    while True:
        out.append(toks.identifier("a column name")[0].lower())
        if toks.accept_punct(")"):
            return out
        toks.expect_punct(",")


def alter_text(ctx: Ctx, toks: Tokens) -> StatementResult:
    """ALTER forms sqlglot does not parse."""
    toks.expect("ALTER")
    is_view = toks.accept("VIEW")
    if not is_view:
        toks.expect("TABLE")
    name = toks.qualified_name()
    cat = ctx.catalog
    with located(toks.position(name.offset)):
        t = cat.get_table(name.db or ctx.session.current_database, name.name)
    action_off = toks.offset()
    with located(toks.position(action_off)):
        if toks.accept("RECOVER", "PARTITIONS"):
            toks.expect_end()
            cat.repair_table(t.db, t.name)
        elif toks.accept("TOUCH"):
            toks.expect_end()  # Hive re-runs hooks; there are none to run
        elif toks.accept("NOT", "CLUSTERED"):
            toks.expect_end()
            cat.alter_table(t.db, t.name, dataclasses.replace(t, bucket_columns=(), sort_columns=(), num_buckets=None))
        elif toks.accept("CLUSTERED", "BY"):
            cols = _name_list(toks)
            sort: list[tuple[str, str]] = []
            if toks.accept("SORTED", "BY"):
                toks.expect_punct("(")
                while True:
                    c, _ = toks.identifier("a column name")
                    direction = "DESC" if toks.accept("DESC") else ("ASC" if toks.accept("ASC") or True else "ASC")
                    sort.append((c.lower(), direction))
                    if toks.accept_punct(")"):
                        break
                    toks.expect_punct(",")
            toks.expect("INTO")
            n = toks.literal_text()
            toks.expect("BUCKETS")
            toks.expect_end()
            if n is None or not n.isdigit() or int(n) < 1:
                raise toks.error("Expected a positive number of buckets")
            cat.alter_table(t.db, t.name, dataclasses.replace(
                t, bucket_columns=tuple(cols), sort_columns=tuple(sort), num_buckets=int(n)))
        elif toks.accept("PARTITION"):
            old, _ = toks.partition_spec()
            toks.expect("RENAME", "TO", "PARTITION")
            new, _ = toks.partition_spec()
            toks.expect_end()
            cat.rename_partition(t.db, t.name, old, new)
        elif toks.accept("ADD"):
            if_not_exists = toks.accept("IF", "NOT", "EXISTS")
            if not toks.is_kw("PARTITION"):
                raise toks.error("Expected PARTITION or COLUMNS")
            while toks.accept("PARTITION"):
                spec, off = toks.partition_spec()
                location = toks.string() if toks.accept("LOCATION") else None
                with located(toks.position(off)):
                    cat.add_partition(t.db, t.name, spec, location=location, if_not_exists=if_not_exists)
            toks.expect_end()
        elif toks.accept("DROP"):
            if_exists = toks.accept("IF", "EXISTS")
            specs = []
            while True:
                toks.expect("PARTITION")
                specs.append(toks.partition_spec())
                if not toks.accept_punct(","):
                    break
            purge = toks.accept("PURGE")
            toks.expect_end()
            for spec, off in specs:
                with located(toks.position(off)):
                    cat.drop_partitions(t.db, t.name, spec, if_exists=if_exists, purge=purge)
        elif toks.accept("UNSET", "TBLPROPERTIES"):
            if_exists = toks.accept("IF", "EXISTS")
            keys = toks.string_list()
            toks.expect_end()
            props = dict(t.properties)
            for k in keys:
                if k not in props and not if_exists:
                    raise toks.error(f"Property {k!r} is not set on {t.qualified_name}")
                props.pop(k, None)
            cat.alter_table(t.db, t.name, dataclasses.replace(t, properties=tuple(props.items())))
        elif toks.accept("CHANGE"):
            toks.accept("COLUMN")
            old, _ = toks.identifier("a column name")
            new, _ = toks.identifier("a column name")
            type_start = toks.offset()
            end_words = ("COMMENT", "FIRST", "AFTER", "CASCADE", "RESTRICT")
            while not toks.at_end() and not toks.is_kw(*end_words):
                toks.i += 1
            type_text = toks.text[type_start:toks.offset()].strip() if not toks.at_end() else toks.text[type_start:].strip().rstrip(";")
            try:
                type_text = normalize_hive_type(type_text)
            except catalog.errors.HiveTypeError as e:
                raise toks.error(str(e), type_start) from e
            comment = toks.string() if toks.accept("COMMENT") else None
            first = toks.accept("FIRST")
            after = toks.identifier("a column name")[0] if toks.accept("AFTER") else None
            toks.accept("CASCADE") or toks.accept("RESTRICT")
            toks.expect_end()
            _change_column(t, old, new, type_text, comment, ctx, cat, after=after, first=first)
        else:
            tok = toks.peek()
            raise toks.error(f"Unsupported ALTER {'VIEW' if is_view else 'TABLE'} action {tok.text if tok else ''!r}")
    return StatementResult()
