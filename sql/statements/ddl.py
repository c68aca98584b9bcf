"""CREATE/DROP of tables, views and databases; USE; TRUNCATE."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlglot import exp

import catalog
from catalog.files import check_location
from catalog.model import EXTERNAL, MANAGED, VIEW, Column, StorageFormat, Table
from catalog.types import format_hive_type, from_arrow
from sql.statements.common import (
    Ctx,
    StatementResult,
    columns_of,
    comment_of,
    literal_text,
    partition_spec,
    table_name,
)
from sql.statements.errors import StatementError, located

_STORED_AS = {
    "TEXTFILE": "textfile", "SEQUENCEFILE": None, "RCFILE": None, "AVRO": None,
    "PARQUET": "parquet", "PARQUETFILE": "parquet", "ORC": "orc", "ORCFILE": "orc",
    "JSONFILE": "json", "JSON": "json", "CSV": "csv",
}
_SERDES = {
    "org.apache.hadoop.hive.serde2.opencsvserde": "csv",
    "org.apache.hive.hcatalog.data.jsonserde": "json",
    "org.apache.hadoop.hive.serde2.jsonserde": "json",
    "org.openx.data.jsonserde.jsonserde": "json",
    "org.apache.hadoop.hive.serde2.lazy.lazysimpleserde": "textfile",
    "org.apache.hadoop.hive.ql.io.parquet.serde.parquethiveserde": "parquet",
    "org.apache.hadoop.hive.ql.io.orc.orcserde": "orc",
}


@dataclasses.dataclass
class _Clauses:
    external: bool = False
    temporary: bool = False
    comment: str | None = None
    partition_defs: list[exp.Expression] = dataclasses.field(default_factory=list)
    storage: StorageFormat | None = None
    location: str | None = None
    properties: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    bucket_columns: tuple[str, ...] = ()
    sort_columns: tuple[tuple[str, str], ...] = ()
    num_buckets: int | None = None
    like: exp.Table | None = None


def _clauses(ctx: Ctx, create: exp.Create) -> _Clauses:
    c = _Clauses()
    fmt: str | None = None
    delimited: dict[str, Any] = {}
    serde: str | None = None
    serde_props: list[tuple[str, str]] = []
    props = create.args.get("properties")
    for p in props.expressions if props else []:
        if isinstance(p, exp.ExternalProperty):
            c.external = True
        elif isinstance(p, exp.TemporaryProperty):
            c.temporary = True
        elif isinstance(p, exp.SchemaCommentProperty):
            c.comment = p.this.this
        elif isinstance(p, exp.PartitionedByProperty):
            c.partition_defs = list(p.this.expressions)
        elif isinstance(p, exp.ClusteredByProperty):
            c.bucket_columns = tuple(e.name.lower() for e in p.expressions)
            c.sort_columns = tuple(
                (o.this.name.lower(), "DESC" if o.args.get("desc") else "ASC") for o in p.args.get("sorted_by") or []
            )
            c.num_buckets = int(p.args["buckets"].this)
        elif isinstance(p, exp.RowFormatDelimitedProperty):
            delimited = {k: v.this for k, v in p.args.items() if isinstance(v, exp.Literal)}
        elif isinstance(p, exp.RowFormatSerdeProperty):
            serde = p.this.this
            sp = p.args.get("serde_properties")
            serde_props = [(q.this.this, q.args["value"].this) for q in (sp.expressions if sp else [])]
        elif isinstance(p, exp.FileFormatProperty):
            fmt = _file_format(ctx, p)
        elif isinstance(p, exp.LocationProperty):
            c.location = p.this.this
        elif isinstance(p, exp.LikeProperty):
            c.like = p.this
        elif isinstance(p, exp.Property):
            key = p.this.this if isinstance(p.this, exp.Literal) else p.name
            c.properties.append((key, literal_text(ctx, p.args["value"]) or ""))
        else:
            raise ctx.error(f"Unsupported table clause: {p.sql('hive')}", p)
    if serde is not None and fmt in (None, "textfile"):
        mapped = _SERDES.get(serde.lower())
        if mapped is None:
            raise ctx.error(f"Unsupported SerDe {serde!r}", create)
        fmt = mapped
    if fmt is None and (delimited or serde):
        fmt = "textfile"
    if any(k == "EXTERNAL" and v.upper() == "TRUE" for k, v in c.properties):
        c.external = True
    if delimited.get("lines", "\n") != "\n":
        raise StatementError("LINES TERMINATED BY supports only newline ('\\n'), as in Hive",
                             *ctx.word_pos("LINES"))
    table_null = dict(c.properties).get("serialization.null.format")
    if table_null is not None and "null" not in delimited:
        serde_props = serde_props + [("serialization.null.format", table_null)]
    if fmt is not None or delimited or serde_props:
        c.storage = _storage(fmt or "textfile", delimited, serde, serde_props)
    return c


def _file_format(ctx: Ctx, p: exp.FileFormatProperty) -> str:
    this = p.this
    if isinstance(this, exp.InputOutputFormat):
        text = (this.args["input_format"].this or "").lower()
        for key, fmt in (("parquet", "parquet"), ("orc", "orc"), ("text", "textfile"), ("json", "json")):
            if key in text:
                return fmt
        raise ctx.error(f"Unsupported INPUTFORMAT {this.args['input_format'].this!r}", p)
    name = this.name.upper() if hasattr(this, "name") else str(this).upper()
    fmt = _STORED_AS.get(name)
    if fmt is None:
        raise StatementError(
            f"STORED AS {name} is not supported (supported: TEXTFILE, PARQUET, ORC, JSONFILE, CSV)",
            *ctx.word_pos(name),
        )
    return fmt


def hive_delimiter(text: str) -> str:
    """A delimiter as Hive reads it: a decimal number is a byte value ('44' is ','),
    anything else is taken literally (sqlglot has already decoded '\\t' and '\\001')."""
    if text.isdigit() and int(text) < 128:
        return chr(int(text))
    return text


def _storage(fmt: str, delimited: dict[str, Any], serde: str | None, serde_props: list[tuple[str, str]]) -> StorageFormat:
    sp = dict(serde_props)
    base = StorageFormat(format=fmt, serde=serde, serde_properties=tuple(serde_props), declared=fmt.upper())
    if fmt == "csv":
        base = dataclasses.replace(base, field_delim=delimited.get("fields", sp.get("separatorChar", ",")))
    else:
        base = dataclasses.replace(
            base,
            field_delim=hive_delimiter(delimited.get("fields", sp.get("field.delim", "\x01"))),
            collection_delim=hive_delimiter(delimited.get(
                "collection_items", sp.get("collection.delim", sp.get("colelction.delim", "\x02")))),
            map_key_delim=hive_delimiter(delimited.get("map_keys", sp.get("mapkey.delim", "\x03"))),
            line_delim=delimited.get("lines", "\n"),
            escape=delimited.get("escaped", sp.get("escape.delim")),
        )
    null = delimited.get("null", sp.get("serialization.null.format"))
    if null is not None:
        base = dataclasses.replace(base, null_format=null)
    return base


def _default_storage(ctx: Ctx, external: bool) -> StorageFormat:
    """Managed tables are Parquet unless ``hive.default.fileformat`` says otherwise;
    external tables without STORED AS are delimited text, as in Hive."""
    configured = ctx.setting("hive.default.fileformat")
    if configured:
        fmt = _STORED_AS.get(configured.upper())
        if fmt:
            return StorageFormat(format=fmt)
    return StorageFormat(format="textfile" if external else "parquet")


def create_table(ctx: Ctx, create: exp.Create) -> StatementResult:
    cl = _clauses(ctx, create)
    target = create.this
    db, name = table_name(ctx, target)
    pos = ctx.pos(target)
    if cl.temporary:
        raise ctx.error("CREATE TEMPORARY TABLE is not supported; use a temporary view", create)
    if_not_exists = bool(create.args.get("exists"))
    if cl.like is not None:
        return _create_like(ctx, create, cl, db, name, if_not_exists)
    query = create.args.get("expression")
    kind = EXTERNAL if cl.external else MANAGED
    if cl.external and cl.location is None and query is None:
        raise ctx.error(f"External table {db}.{name} needs a LOCATION", create)
    storage = cl.storage or _default_storage(ctx, cl.external)
    if query is not None:
        return _ctas(ctx, create, cl, db, name, kind, storage, query, if_not_exists)
    columns = columns_of(ctx, target.expressions) if isinstance(target, exp.Schema) else ()
    part_cols = columns_of(ctx, cl.partition_defs)
    for p, pdef in zip(part_cols, cl.partition_defs):
        if any(c.name == p.name for c in columns):
            raise ctx.error(f"Partition column {p.name} of {db}.{name} repeats a table column", pdef)
    table = Table(
        db=db, name=name, kind=kind, columns=columns, partition_columns=part_cols, storage=storage,
        location=cl.location, comment=cl.comment, properties=tuple(cl.properties),
        bucket_columns=cl.bucket_columns, sort_columns=cl.sort_columns, num_buckets=cl.num_buckets,
    )
    _check_location(ctx, cl)
    with located(pos):
        created = ctx.catalog.create_table(table, if_not_exists=if_not_exists)
    return StatementResult(message=None if created else f"Table {db}.{name} already exists; nothing done")


def _create_like(ctx: Ctx, create: exp.Create, cl: _Clauses, db: str, name: str, if_not_exists: bool) -> StatementResult:
    _, sname = table_name(ctx, cl.like)  # type: ignore[arg-type]
    with located(ctx.pos(cl.like)):
        src = ctx.catalog.lookup(cl.like.text("db") or None, sname, ctx.session.current_database)  # type: ignore[union-attr]
    kind = EXTERNAL if cl.external else MANAGED
    storage = cl.storage or (src.storage if not src.is_view else _default_storage(ctx, cl.external))
    table = Table(
        db=db, name=name, kind=kind, columns=src.columns, partition_columns=src.partition_columns,
        storage=storage, location=cl.location, comment=cl.comment,
        properties=tuple(cl.properties) or tuple(p for p in src.properties if not p[0].startswith("lamna.")),
        bucket_columns=src.bucket_columns, sort_columns=src.sort_columns, num_buckets=src.num_buckets,
    )
    if kind == EXTERNAL and table.location is None:
        raise ctx.error(f"External table {db}.{name} needs a LOCATION", create)
    _check_location(ctx, cl)
    with located(ctx.pos(create.this)):
        created = ctx.catalog.create_table(table, if_not_exists=if_not_exists)
    return StatementResult(message=None if created else f"Table {db}.{name} already exists; nothing done")


def _ctas(ctx: Ctx, create: exp.Create, cl: _Clauses, db: str, name: str, kind: str,
          storage: StorageFormat, query: exp.Expression, if_not_exists: bool) -> StatementResult:
    from sql.statements.dml import query_data

    pos = ctx.pos(create.this)
    if if_not_exists and ctx.catalog.table_exists(db, name):
        return StatementResult(message=f"Table {db}.{name} already exists; nothing done")
    if isinstance(create.this, exp.Schema) and create.this.expressions:
        raise ctx.error("CREATE TABLE AS SELECT cannot declare columns; they come from the query", create.this)
    with located(pos):
        if ctx.catalog.table_exists(db, name):
            raise catalog.errors.TableExists(f"{db}.{name}")
    _check_location(ctx, cl)
    output = ctx.session.run_query(query)
    fields = list(output.schema)
    columns = []
    for f in fields:
        with located(ctx.pos(query)):
            columns.append(Column(f.name.lower(), format_hive_type(from_arrow(f.type))))
    part_names = [d.name.lower() for d in cl.partition_defs]
    if part_names:
        tail = [c.name for c in columns[-len(part_names):]]
        if tail != part_names:
            raise ctx.error(
                f"CTAS partition columns ({', '.join(part_names)}) must be the last columns of the query "
                f"(they are {', '.join(tail)})", create)
    data_cols = tuple(columns[: len(columns) - len(part_names)])
    part_cols = tuple(columns[len(columns) - len(part_names):])
    table = Table(
        db=db, name=name, kind=kind, columns=data_cols, partition_columns=part_cols, storage=storage,
        location=cl.location, comment=cl.comment, properties=tuple(cl.properties),
        bucket_columns=cl.bucket_columns, sort_columns=cl.sort_columns, num_buckets=cl.num_buckets,
    )
    with located(pos):
        # all or nothing: the table appears in the same transaction that commits its rows
        result = ctx.catalog.create_table_as(table, query_data(output))
    return StatementResult(rowcount=result.rows)


def _check_location(ctx: Ctx, cl: _Clauses) -> None:
    """A LOCATION that cannot hold data (missing bucket, unknown filesystem) is an error
    of the statement, at the LOCATION clause, before anything is created."""
    if cl.location is None:
        return
    with located(ctx.word_pos("LOCATION")):
        check_location(cl.location)


def create_view(ctx: Ctx, create: exp.Create) -> StatementResult:
    target = create.this
    db, name = table_name(ctx, target)
    query = create.args["expression"]
    props = create.args.get("properties")
    temporary = False
    comment = None
    tblprops = []
    for p in props.expressions if props else []:
        if isinstance(p, exp.TemporaryProperty):
            temporary = True
        elif isinstance(p, exp.SchemaCommentProperty):
            comment = p.this.this
        elif isinstance(p, exp.Property):
            tblprops.append((p.this.this if isinstance(p.this, exp.Literal) else p.name, literal_text(ctx, p.args["value"]) or ""))
    output = ctx.session.run_query(query)
    fields = list(output.schema)
    names = [f.name.lower() for f in fields]
    comments: list[str | None] = [None] * len(fields)
    if isinstance(target, exp.Schema) and target.expressions:
        if len(target.expressions) != len(fields):
            raise ctx.error(
                f"View {db}.{name} names {len(target.expressions)} column(s) but its query returns {len(fields)}",
                target)
        names = [e.name.lower() for e in target.expressions]
        comments = [comment_of(e) if isinstance(e, exp.ColumnDef) else None for e in target.expressions]
    with located(ctx.pos(query)):
        columns = tuple(
            Column(n, format_hive_type(from_arrow(f.type)), cm) for n, f, cm in zip(names, fields, comments)
        )
    sql_text = query.sql(dialect="hive")
    pos = ctx.pos(target)
    replace_existing = bool(create.args.get("replace"))
    with located(pos):
        if temporary:
            if target.this.text("db") if isinstance(target, exp.Schema) else create.this.text("db"):
                raise catalog.errors.CatalogError(f"Temporary view {name} cannot be qualified by a database")
            if create.args.get("exists") and name in ctx.catalog.temp_views():
                return StatementResult()
            ctx.catalog.create_temp_view(name, sql_text, columns, replace_existing=replace_existing)
            return StatementResult()
        view = Table(db=db, name=name, kind=VIEW, columns=columns, view_sql=sql_text, comment=comment,
                     properties=tuple(tblprops))
        existing = ctx.catalog.metastore.find_table(db, name)
        if existing is not None and replace_existing:
            if not existing.is_view:
                raise catalog.errors.NotATable(f"{db}.{name} is a table; CREATE OR REPLACE VIEW cannot replace it")
            ctx.catalog.alter_table(db, name, view)
            return StatementResult()
        created = ctx.catalog.create_table(view, if_not_exists=bool(create.args.get("exists")))
    return StatementResult(message=None if created else f"View {db}.{name} already exists; nothing done")


def drop(ctx: Ctx, drop_node: exp.Drop) -> StatementResult:
    kind = (drop_node.args.get("kind") or "").upper()
    if_exists = bool(drop_node.args.get("exists"))
    targets = drop_node.args.get("tables") or drop_node.expressions or [drop_node.this]
    if kind in ("DATABASE", "SCHEMA"):
        t = targets[0]
        name = (t.name or t.text("db")).lower()
        with located(ctx.pos(t)):
            done = ctx.catalog.drop_database(name, if_exists=if_exists, cascade=bool(drop_node.args.get("cascade")))
        if done and ctx.session.current_database == name:
            ctx.session.current_database = catalog.DEFAULT_DATABASE
        return StatementResult()
    if kind not in ("TABLE", "VIEW"):
        raise ctx.error(f"DROP {kind} is not supported", drop_node)
    for t in targets:
        db, name = table_name(ctx, t)
        with located(ctx.pos(t)):
            if kind == "VIEW" and not t.text("db") and name in ctx.catalog.temp_views():
                ctx.catalog.drop_temp_view(name)
                continue
            ctx.catalog.drop_table(db, name, if_exists=if_exists, view=(kind == "VIEW"),
                                   purge=bool(drop_node.args.get("purge")))
    return StatementResult()


def use(ctx: Ctx, node: exp.Use) -> StatementResult:
    t = node.this
    name = (t.name or t.text("db")).lower()
    with located(ctx.pos(t)):
        ctx.catalog.get_database(name)
    ctx.session.current_database = name
    return StatementResult()


def truncate(ctx: Ctx, node: exp.TruncateTable) -> StatementResult:
    for t in node.expressions:
        db, name = table_name(ctx, t)
        spec = partition_spec(ctx, node.args.get("partition"))
        with located(ctx.pos(t)):
            ctx.catalog.truncate(db, name, spec)
    return StatementResult()


def create_database_text(ctx: Ctx, toks: Any) -> StatementResult:
    """CREATE (DATABASE|SCHEMA) [IF NOT EXISTS] d [COMMENT 'c'] [LOCATION 'l']
    [WITH DBPROPERTIES (...)] (sqlglot leaves this a Command)."""
    toks.expect("CREATE")
    if not (toks.accept("DATABASE") or toks.accept("SCHEMA")):
        raise toks.error("Expected DATABASE or SCHEMA")
    if_not_exists = toks.accept("IF", "NOT", "EXISTS")
    name, off = toks.identifier("a database name")
    comment = location = None
    props: list[tuple[str, str]] = []
    while not toks.at_end():
        if toks.accept("COMMENT"):
            comment = toks.string()
        elif toks.accept("LOCATION"):
            location = toks.string()
        elif toks.accept("WITH", "DBPROPERTIES"):
            props = toks.properties()
        else:
            raise toks.error(f"Unexpected {toks.peek().text!r}")
    with located(toks.position(off)):
        created = ctx.catalog.create_database(name, comment=comment, location=location, properties=props,
                                             if_not_exists=if_not_exists)
    return StatementResult(message=None if created else f"Database {name.lower()} already exists; nothing done")


def create_database(ctx: Ctx, create: exp.Create) -> StatementResult:
    t = create.this
    name = (t.text("db") or t.name).lower()
    with located(ctx.pos(t)):
        created = ctx.catalog.create_database(name, if_not_exists=bool(create.args.get("exists")))
    return StatementResult(message=None if created else f"Database {name} already exists; nothing done")
