"""ANALYZE ... COMPUTE STATISTICS [FOR COLUMNS], MSCK REPAIR TABLE, SET and RESET; the
cache statements CACHE/UNCACHE TABLE, CLEAR CACHE and REFRESH TABLE (the cache itself is
``catalog.cache``)."""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp

from catalog.cache import policy as cache_policy
from catalog.errors import TableNotFound
from catalog.model import Column
from sql.statements.common import (
    Ctx,
    StatementResult,
    partition_spec,
    result_table,
    table_name,
)
from sql.statements.errors import StatementError, StatementNotSupported, located
from sql.statements.tokens import Tokens


def analyze(ctx: Ctx, node: exp.Analyze) -> StatementResult:
    tables = node.args.get("tables") or [node.this]
    target = tables[0]
    db, name = table_name(ctx, target)
    spec = partition_spec(ctx, node.args.get("partition"), allow_dynamic=True)
    stats = node.args.get("expression")
    if not isinstance(stats, exp.AnalyzeStatistics) or (stats.args.get("kind") or "").upper() != "COMPUTE":
        raise ctx.error("Only ANALYZE TABLE ... COMPUTE STATISTICS [FOR COLUMNS ...] is supported", node)
    mode = str(stats.this or "").upper()
    for_columns = "FOR COLUMNS" in mode
    columns = [c.name for c in stats.expressions] if for_columns else None
    with located(ctx.pos(target)):
        result = ctx.catalog.analyze(db, name, partition=spec, columns=columns or None, for_columns=for_columns,
                                     noscan=mode == "NOSCAN", rdd_context=getattr(ctx.session, "rdd_context", None))
    if mode == "NOSCAN":
        return StatementResult(message=f"Statistics of {db}.{name}: sizes of {len(result)} partition(s) recorded")
    rows = sum(r.row_count for r in result.values())
    return StatementResult(message=f"Statistics of {db}.{name}: {rows} row(s) in {len(result)} partition(s) analyzed")


def msck(ctx: Ctx, toks: Tokens) -> StatementResult:
    toks.expect("MSCK")
    toks.accept("REPAIR")
    toks.expect("TABLE")
    name = toks.qualified_name()
    mode = "ADD"
    if toks.accept("ADD", "PARTITIONS"):
        mode = "ADD"
    elif toks.accept("SYNC", "PARTITIONS"):
        mode = "SYNC"
    elif toks.accept("DROP", "PARTITIONS"):
        mode = "DROP"
    toks.expect_end()
    with located(toks.position(name.offset)):
        db = name.db or ctx.session.current_database
        added = ctx.catalog.repair_table(db, name.name) if mode in ("ADD", "SYNC") else []
        dropped = _drop_missing(ctx, db, name.name) if mode in ("DROP", "SYNC") else []
    lines = [f"Partitions not in metastore:\t{name.name}:{s}" for s in added]
    lines += [f"Partitions missing from filesystem:\t{name.name}:{s}" for s in dropped]
    return StatementResult(result_table(["result"], [(x,) for x in lines]),
                           message=f"Repaired {name.text}: {len(added)} added, {len(dropped)} dropped")


def _drop_missing(ctx: Ctx, db: str, name: str) -> list[str]:
    from catalog.files import exists, resolve

    gone = []
    for p in ctx.catalog.list_partitions(db, name):
        fs, path = resolve(p.location)
        if not exists(fs, path):
            ctx.catalog.drop_partitions(db, name, list(p.values), if_exists=True)
            gone.append(p.spec)
    return gone


_SET_RE = re.compile(r"^\s*SET\s*(?P<rest>.*?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)


def set_text(ctx: Ctx, text: str) -> StatementResult:
    """SET | SET -v | SET key | SET key=value (value is the raw rest of the line, as Hive)."""
    m = _SET_RE.match(text)
    rest = m.group("rest") if m else ""
    settings = ctx.session.settings
    if rest in ("", "-v"):
        rows = sorted(settings.items())
        return StatementResult(result_table(["key", "value"], rows))
    if "=" not in rest:
        key = rest.strip()
        value = settings.get(key)
        return StatementResult(result_table(["key", "value"], [(key, value if value is not None else "<undefined>")]))
    key, value = rest.split("=", 1)
    key, value = key.strip(), value.strip()
    if not key or any(ch.isspace() for ch in key):
        raise StatementError(f"Invalid SET key {key!r}", 1, text.upper().find("SET") + 5)
    message = _apply_cache_setting(ctx, key, value, (1, text.find("=") + 2))
    settings[key] = value
    return StatementResult(message=message)


def _apply_cache_setting(ctx: Ctx, key: str, value: str, position: tuple[int, int]) -> str | None:
    """``lamna.cache.memory`` sets this process's cache budget now; ``lamna.cache.warm=true``
    loads every MEMORY table now (one job)."""
    rdd_context = getattr(ctx.session, "rdd_context", None)
    if key == cache_policy.MEMORY_SETTING:
        with located(position):
            size = ctx.catalog.set_cache_memory(rdd_context, value)
        return f"Cache memory budget: {size} bytes"
    if key == cache_policy.WARM_SETTING and value.strip().lower() == "true" and rdd_context is not None:
        with located(position):
            names = ctx.catalog.warm_cache(rdd_context)
        return f"Warmed {len(names)} MEMORY table(s)"
    return None


def reset(ctx: Ctx, toks: Tokens) -> StatementResult:
    toks.expect("RESET")
    if toks.at_end():
        ctx.session.settings.clear()
        return StatementResult()
    key = toks.rest_text()
    ctx.session.settings.pop(key, None)
    return StatementResult()


def cache(ctx: Ctx, node: exp.Cache) -> StatementResult:
    """CACHE [LAZY] TABLE t [OPTIONS ('storageLevel' 'LEVEL')] [AS SELECT ...].

    A table is cached in this process until UNCACHE or CLEAR CACHE (lazily: on first
    use). A view, or ``t AS SELECT`` (which makes ``t`` a temporary view of the query),
    has its query's result cached now (LAZY or not), valid until a table it reads
    changes."""
    level = _storage_level(ctx, node)
    lazy = bool(node.args.get("lazy"))
    query = node.args.get("expression")
    target = node.this
    rdd_context = getattr(ctx.session, "rdd_context", None)
    if query is not None:
        if target.text("db"):
            raise ctx.error("CACHE TABLE ... AS SELECT makes a temporary view: its name cannot be qualified", target)
        return _cache_query(ctx, target.name.lower(), query, level, rdd_context)
    _, name = table_name(ctx, target)
    with located(ctx.pos(target)):
        t = ctx.catalog.lookup(target.text("db") or None, name, ctx.session.current_database)
        if t.is_view:
            return _cache_view(ctx, t, sqlglot.parse_one(t.view_sql, read="hive"), level, rdd_context)
        built = ctx.catalog.cache_table(t.db, t.name, lazy=lazy, level=level, rdd_context=rdd_context)
    if built is None:
        return StatementResult(message=f"{t.qualified_name} will be cached ({level}) on first use")
    return StatementResult(message=f"Cached {t.qualified_name}: {_summary(built)}")


def _storage_level(ctx: Ctx, node: exp.Cache) -> str:
    options = node.args.get("options") or []
    level = "MEMORY_AND_DISK"
    for i in range(0, len(options) - 1, 2):
        key, value = options[i], options[i + 1]
        if key.name.lower() != "storagelevel":
            raise ctx.error(f"Unknown CACHE TABLE option {key.name!r} (the only option is 'storageLevel')", key)
        with located(ctx.pos(value)):
            level = cache_policy.storage_level(value.name)
    if len(options) % 2:
        raise ctx.error("CACHE TABLE OPTIONS take 'key' 'value' pairs", options[-1])
    return level


def _cache_query(ctx: Ctx, name: str, query: exp.Expression, level: str, rdd_context: Any) -> StatementResult:
    """CACHE TABLE name AS SELECT: a temporary view of the query, its result cached."""
    from catalog.types import format_hive_type, from_arrow

    with located(ctx.pos(query)):
        with ctx.catalog.recording_inputs() as inputs:
            output = ctx.session.run_query(query)
        columns = tuple(Column(f.name.lower(), format_hive_type(from_arrow(f.type))) for f in output.schema)
        ctx.catalog.create_temp_view(name, query.sql(dialect="hive"), columns, replace_existing=True)
        view = ctx.catalog.lookup(None, name, ctx.session.current_database)
    return _materialize(ctx, view, output, inputs, level, rdd_context)


def _cache_view(ctx: Ctx, view: Any, query: exp.Expression, level: str, rdd_context: Any) -> StatementResult:
    """CACHE TABLE v of a view: its query's result, valid while v and its inputs are."""
    with located((1, 1)), ctx.catalog.recording_inputs() as inputs:
        output = ctx.session.run_query(query)
    return _materialize(ctx, view, output, inputs, level, rdd_context)


def _materialize(ctx: Ctx, view: Any, output: Any, inputs: list[Any], level: str, rdd_context: Any) -> StatementResult:
    rdd = getattr(output, "rdd", None)
    if rdd is None or rdd_context is None:
        raise StatementNotSupported("Caching a query result needs the engine's RDD execution", 1, 1)
    try:
        with located((1, 1)):
            built = ctx.catalog.cache_query(view, inputs, output.schema, rdd, level, rdd_context)
    finally:
        release = getattr(output, "release", None)
        if release is not None:
            release()
    return StatementResult(message=f"Cached {view.name if view.temporary else view.qualified_name}: {_summary(built)}")


def _summary(built: dict[str, int]) -> str:
    return (f"{built['blocks']} partition(s), {built['rows']} row(s), "
            f"{built['memory_bytes']} bytes in memory, {built['disk_bytes']} on disk")


def uncache(ctx: Ctx, node: exp.Uncache) -> StatementResult:
    """UNCACHE TABLE [IF EXISTS] t: free its cached blocks (a table cached by its
    definition also gets lamna.cache = 'NONE')."""
    target = node.this
    _, name = table_name(ctx, target)
    with located(ctx.pos(target)):
        try:
            t = ctx.catalog.lookup(target.text("db") or None, name, ctx.session.current_database)
        except TableNotFound:
            if node.args.get("exists"):
                return StatementResult()
            raise
        ctx.catalog.uncache(t)
    return StatementResult()


def clear_cache(ctx: Ctx, toks: Tokens) -> StatementResult:
    toks.expect("CLEAR", "CACHE")
    toks.expect_end()
    names = ctx.catalog.clear_cache()
    return StatementResult(message=f"Uncached {len(names)} table(s)")


def refresh(ctx: Ctx, node: exp.Refresh) -> StatementResult:
    """REFRESH TABLE t: drop t's cached blocks and file listing (files changed outside
    the engine are read again; a cached table is rebuilt on its next scan)."""
    target = node.this
    if not isinstance(target, exp.Table):
        raise ctx.error("REFRESH takes a table name (REFRESH TABLE t)", node)
    _, name = table_name(ctx, target)
    with located(ctx.pos(target)):
        t = ctx.catalog.lookup(target.text("db") or None, name, ctx.session.current_database)
        dropped = ctx.catalog.refresh(t)
    label = t.name if t.temporary else t.qualified_name
    return StatementResult(message=f"Refreshed {label}" + (" (cached blocks dropped)" if dropped else ""))
