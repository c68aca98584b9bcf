"""SHOW DATABASES/TABLES/PARTITIONS/COLUMNS/CREATE TABLE/TBLPROPERTIES/CACHE and
DESCRIBE [EXTENDED|FORMATTED]: results as string tables, laid out as Hive prints them."""

from __future__ import annotations

import datetime
from typing import Any

from sqlglot import exp

from catalog.model import EXTERNAL, MANAGED, VIEW, Table
from sql.statements.common import (
    Ctx,
    StatementResult,
    partition_spec,
    result_table,
    table_name,
)
from sql.statements.errors import located
from sql.statements.tokens import Tokens


def show(ctx: Ctx, toks: Tokens) -> StatementResult:
    toks.expect("SHOW")
    if toks.accept("CACHE"):
        toks.expect_end()
        return StatementResult(ctx.catalog.cache_report(getattr(ctx.session, "rdd_context", None)))
    if toks.accept("DATABASES") or toks.accept("SCHEMAS"):
        pattern = toks.string() if toks.accept("LIKE") or _is_string(toks) else None
        toks.expect_end()
        return StatementResult(result_table(["database_name"], [(d,) for d in ctx.catalog.list_databases(pattern)]))
    if toks.accept("TABLES") or toks.accept("VIEWS"):
        views_only = toks.toks[toks.i - 1].text.upper() == "VIEWS"
        db = ctx.session.current_database
        off = toks.offset()
        if toks.accept("IN") or toks.accept("FROM"):
            off = toks.offset()
            db = toks.identifier("a database name")[0].lower()
        pattern = toks.string() if toks.accept("LIKE") or _is_string(toks) else None
        toks.expect_end()
        with located(toks.position(off)):
            names = ctx.catalog.list_tables(db, pattern)
            if views_only:
                names = [n for n in names if ctx.catalog.get_table(db, n).is_view]
        return StatementResult(result_table(["tab_name"], [(n,) for n in names]))
    if toks.accept("PARTITIONS"):
        name = toks.qualified_name()
        spec: list[tuple[str, str | None]] = []
        if toks.accept("PARTITION"):
            spec, _ = toks.partition_spec()
        toks.expect_end()
        with located(toks.position(name.offset)):
            t = ctx.catalog.get_table(name.db or ctx.session.current_database, name.name)
            if not t.partition_columns:
                from catalog.errors import PartitionSpecError

                raise PartitionSpecError(f"Table {t.qualified_name} is not partitioned")
            parts = ctx.catalog.list_partitions(t.db, t.name, spec)
        return StatementResult(result_table(["partition"], [(p.spec,) for p in parts]))
    if toks.accept("COLUMNS"):
        if not (toks.accept("IN") or toks.accept("FROM")):
            raise toks.error("Expected IN or FROM")
        name = toks.qualified_name()
        db = name.db
        if toks.accept("IN") or toks.accept("FROM"):
            db = toks.identifier("a database name")[0].lower()
        toks.expect_end()
        with located(toks.position(name.offset)):
            t = ctx.catalog.lookup(db, name.name, ctx.session.current_database)
        return StatementResult(result_table(["field"], [(c.name,) for c in t.all_columns]))
    if toks.accept("CREATE", "TABLE"):
        name = toks.qualified_name()
        toks.expect_end()
        with located(toks.position(name.offset)):
            t = ctx.catalog.lookup(name.db, name.name, ctx.session.current_database)
        return StatementResult(result_table(["createtab_stmt"], [(line,) for line in show_create(t).split("\n")]))
    if toks.accept("TBLPROPERTIES"):
        name = toks.qualified_name()
        key = None
        if toks.accept_punct("("):
            key = toks.string("a property name")
            toks.expect_punct(")")
        toks.expect_end()
        with located(toks.position(name.offset)):
            t = ctx.catalog.lookup(name.db, name.name, ctx.session.current_database)
        props = dict(table_properties(ctx, t))
        if key is not None:
            value = props.get(key, f"Table {t.qualified_name} does not have property: {key}")
            return StatementResult(result_table(["prpt_value"], [(value,)]))
        return StatementResult(result_table(["prpt_name", "prpt_value"], sorted(props.items())))
    tok = toks.peek()
    raise toks.error(f"Unsupported SHOW {tok.text if tok else ''}".strip())


def _is_string(toks: Tokens) -> bool:
    from sqlglot.tokens import TokenType

    tok = toks.peek()
    return tok is not None and tok.token_type == TokenType.STRING


def table_properties(ctx: Ctx, t: Table) -> list[tuple[str, str]]:
    """User properties plus what Hive shows: EXTERNAL, statistics, transient_lastDdlTime."""
    props = list(t.properties)
    if t.kind == EXTERNAL:
        props.append(("EXTERNAL", "TRUE"))
    if not t.is_view and not t.temporary:
        stats = ctx.catalog.statistics(t.db, t.name)
        if stats is not None:
            if stats.row_count is not None:
                props.append(("numRows", str(stats.row_count)))
            if stats.total_bytes is not None:
                props.append(("totalSize", str(stats.total_bytes)))
            if stats.columns:
                props.append(("COLUMN_STATS_ACCURATE", "{\"COLUMN_STATS\":{" + ",".join(
                    f"\"{c}\":\"true\"" for c in sorted(stats.columns)) + "}}"))
    props.append(("transient_lastDdlTime", str(int(t.created))))
    return props


def _q(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _delim(s: str) -> str:
    """A delimiter as Hive prints it: printable as is, control chars as octal escapes."""
    if len(s) == 1 and (ord(s) < 32 or ord(s) == 127):
        return "'\\" + format(ord(s), "03o") + "'"
    return _q(s)


def show_create(t: Table) -> str:
    """HiveQL that recreates ``t`` (round-trips through our own parser)."""
    if t.is_view:
        return f"CREATE VIEW `{t.db}`.`{t.name}` AS {t.view_sql}" if t.db else f"CREATE TEMPORARY VIEW `{t.name}` AS {t.view_sql}"
    lines = [f"CREATE {'EXTERNAL ' if t.kind == EXTERNAL else ''}TABLE `{t.db}`.`{t.name}`("]
    cols = [f"  `{c.name}` {c.type}" + (f" COMMENT {_q(c.comment)}" if c.comment else "") for c in t.columns]
    lines.append(",\n".join(cols) + ")")
    if t.comment:
        lines.append(f"COMMENT {_q(t.comment)}")
    if t.partition_columns:
        pcs = ", ".join(f"`{c.name}` {c.type}" + (f" COMMENT {_q(c.comment)}" if c.comment else "") for c in t.partition_columns)
        lines.append(f"PARTITIONED BY ({pcs})")
    if t.num_buckets:
        line = f"CLUSTERED BY ({', '.join(t.bucket_columns)})"
        if t.sort_columns:
            line += f" SORTED BY ({', '.join(f'{c} {d}' for c, d in t.sort_columns)})"
        lines.append(line + f" INTO {t.num_buckets} BUCKETS")
    s = t.storage
    if s.format == "textfile":
        row = f"ROW FORMAT DELIMITED FIELDS TERMINATED BY {_delim(s.field_delim)}"
        if s.escape:
            row += f" ESCAPED BY {_delim(s.escape)}"
        row += f" COLLECTION ITEMS TERMINATED BY {_delim(s.collection_delim)} MAP KEYS TERMINATED BY {_delim(s.map_key_delim)}"
        if s.null_format != "\\N":
            row += f" NULL DEFINED AS {_q(s.null_format)}"
        lines.append(row)
    elif s.serde:
        row = f"ROW FORMAT SERDE {_q(s.serde)}"
        if s.serde_properties:
            row += " WITH SERDEPROPERTIES (" + ", ".join(f"{_q(k)}={_q(v)}" for k, v in s.serde_properties) + ")"
        lines.append(row)
    stored = {"textfile": "TEXTFILE", "parquet": "PARQUET", "orc": "ORC", "json": "JSONFILE", "csv": "CSV"}[s.format]
    if not (s.serde and s.format in ("csv",)):
        lines.append(f"STORED AS {stored}")
    lines.append(f"LOCATION {_q(t.location or '')}")
    if t.properties:
        lines.append("TBLPROPERTIES (" + ", ".join(f"{_q(k)}={_q(v)}" for k, v in t.properties) + ")")
    return "\n".join(lines)


def describe(ctx: Ctx, node: exp.Describe) -> StatementResult:
    style = (node.args.get("style") or "").upper()
    target = node.this
    if (node.args.get("kind") or "").upper() in ("DATABASE", "SCHEMA"):
        name = (target.name or target.text("db")).lower()
        with located(ctx.pos(target)):
            d = ctx.catalog.get_database(name)
        row = (d.name, d.comment or "", d.location, "", "USER",
               str(dict(d.properties)) if style == "EXTENDED" and d.properties else "")
        return StatementResult(result_table(
            ["db_name", "comment", "location", "owner_name", "owner_type", "parameters"], [row]))
    _, name = table_name(ctx, target)
    spec = partition_spec(ctx, node.args.get("partition"))
    with located(ctx.pos(target)):
        t = ctx.catalog.lookup(target.text("db") or None, name, ctx.session.current_database)
        part = None
        if spec:
            values = ctx.catalog.check_partition_spec(t, spec, full=True)
            matches = [p for p in ctx.catalog.list_partitions(t.db, t.name) if p.values == values]
            if not matches:
                from catalog.errors import PartitionNotFound

                raise PartitionNotFound(f"Partition {dict(values)} of {t.qualified_name} does not exist")
            part = matches[0]
    rows: list[tuple[Any, ...]] = [(c.name, c.type, c.comment or "") for c in t.all_columns]
    if t.partition_columns:
        rows += [("", None, None), ("# Partition Information", None, None), ("# col_name", "data_type", "comment")]
        rows += [(c.name, c.type, c.comment or "") for c in t.partition_columns]
    if style == "EXTENDED":
        rows += [("", None, None), ("Detailed Table Information", _detail(ctx, t), "")]
        if part is not None:
            rows.append(("Detailed Partition Information", f"Partition(values:{[v for _, v in part.values]}, location:{part.location})", ""))
    elif style == "FORMATTED":
        rows = [("# col_name", "data_type", "comment")] + [(c.name, c.type, c.comment or "") for c in t.columns]
        if t.partition_columns:
            rows += [("", None, None), ("# Partition Information", None, None), ("# col_name", "data_type", "comment")]
            rows += [(c.name, c.type, c.comment or "") for c in t.partition_columns]
        rows += _formatted(ctx, t, part)
    return StatementResult(result_table(["col_name", "data_type", "comment"], rows))


def describe_text(ctx: Ctx, toks: Tokens) -> StatementResult:
    """DESCRIBE [EXTENDED|FORMATTED] t col — the column form sqlglot does not parse."""
    if not (toks.accept("DESCRIBE") or toks.accept("DESC")):
        raise toks.error("Expected DESCRIBE")
    toks.accept("EXTENDED") or toks.accept("FORMATTED")
    name = toks.qualified_name()
    col, col_off = toks.identifier("a column name")
    toks.expect_end()
    with located(toks.position(name.offset)):
        t = ctx.catalog.lookup(name.db, name.name, ctx.session.current_database)
    c = t.column(col)
    if c is None:
        raise toks.error(f"Column {col} not found in {t.qualified_name}", col_off)
    rows: list[tuple[Any, ...]] = [("col_name", c.name), ("data_type", c.type), ("comment", c.comment or "")]
    if not t.is_view and not t.temporary:
        stats = ctx.catalog.statistics(t.db, t.name)
        cs = stats.columns.get(c.name) if stats is not None else None
        if cs is not None:
            rows += [("min", cs.min), ("max", cs.max), ("num_nulls", cs.null_count), ("distinct_count", cs.distinct_count)]
    return StatementResult(result_table(["column_property", "value"], rows))


def _detail(ctx: Ctx, t: Table) -> str:
    return (f"Table(tableName:{t.name}, dbName:{t.db}, createTime:{int(t.created)}, location:{t.location}, "
            f"tableType:{_table_type(t)}, inputFormat:{t.storage.format}, "
            f"parameters:{dict(table_properties(ctx, t))}"
            + (f", viewText:{t.view_sql}" if t.is_view else "") + ")")


def _table_type(t: Table) -> str:
    return {MANAGED: "MANAGED_TABLE", EXTERNAL: "EXTERNAL_TABLE", VIEW: "VIRTUAL_VIEW"}[t.kind]


def _formatted(ctx: Ctx, t: Table, part: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [("", None, None)]
    if part is not None:
        rows += [("# Detailed Partition Information", None, None),
                 ("Partition Value:", str([v for _, v in part.values]), None),
                 ("Location:", part.location, None), ("", None, None)]
    rows += [
        ("# Detailed Table Information", None, None),
        ("Database:", t.db, None),
        ("OwnerType:", "USER", None),
        ("CreateTime:", datetime.datetime.fromtimestamp(t.created).strftime("%a %b %d %H:%M:%S %Y"), None),
        ("Location:", t.location, None),
        ("Table Type:", _table_type(t), None),
        ("Comment:", t.comment, None) if t.comment else None,
        ("Table Parameters:", None, None),
    ]
    rows = [r for r in rows if r is not None]
    rows += [("", k, v) for k, v in sorted(table_properties(ctx, t))]
    if t.is_view:
        rows += [("", None, None), ("# View Information", None, None), ("View Original Text:", t.view_sql, None)]
        return rows
    s = t.storage
    rows += [
        ("", None, None),
        ("# Storage Information", None, None),
        ("SerDe Library:", s.serde or _serde(s.format), None),
        ("InputFormat:", s.format, None),
        ("Num Buckets:", str(t.num_buckets or -1), None),
        ("Bucket Columns:", str(list(t.bucket_columns)), None),
        ("Sort Columns:", str([f"{c} {d}" for c, d in t.sort_columns]), None),
        ("Storage Desc Params:", None, None),
    ]
    if s.format == "textfile":
        rows += [("", "field.delim", repr(s.field_delim)[1:-1]), ("", "collection.delim", repr(s.collection_delim)[1:-1]),
                 ("", "mapkey.delim", repr(s.map_key_delim)[1:-1]), ("", "serialization.null.format", s.null_format)]
        if s.escape:
            rows.append(("", "escape.delim", s.escape))
    rows += [("", k, v) for k, v in s.serde_properties]
    return rows


def _serde(fmt: str) -> str:
    return {
        "textfile": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "parquet": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "orc": "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
        "json": "org.apache.hive.hcatalog.data.JsonSerDe",
        "csv": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
    }[fmt]
