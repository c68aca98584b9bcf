"""ANALYZE ... COMPUTE STATISTICS [FOR COLUMNS], MSCK REPAIR TABLE, SET and RESET."""

from __future__ import annotations

import re

from sqlglot import exp

from sql.statements.common import (
    Ctx,
    StatementResult,
    partition_spec,
    result_table,
    table_name,
)
from sql.statements.errors import located
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
        from sql.statements.errors import StatementError

        raise StatementError(f"Invalid SET key {key!r}", 1, text.upper().find("SET") + 5)
    settings[key] = value
    return StatementResult()


def reset(ctx: Ctx, toks: Tokens) -> StatementResult:
    toks.expect("RESET")
    if toks.at_end():
        ctx.session.settings.clear()
        return StatementResult()
    key = toks.rest_text()
    ctx.session.settings.pop(key, None)
    return StatementResult()


def cache(ctx: Ctx, node: exp.Cache) -> StatementResult:
    """CACHE [LAZY] TABLE t (CACHE TABLE t AS SELECT is not supported: cache a table)."""
    if node.args.get("expression") is not None:
        raise ctx.error("CACHE TABLE ... AS SELECT is not supported; create the table, then CACHE TABLE it", node)
    db, name = table_name(ctx, node.this)
    with located(ctx.pos(node.this)):
        nbytes = ctx.catalog.cache_table(db, name, lazy=bool(node.args.get("lazy")),
                                         rdd_context=getattr(ctx.session, "rdd_context", None))
    if node.args.get("lazy"):
        return StatementResult(message=f"{db}.{name} will be cached on first use")
    if nbytes is None:
        return StatementResult(message=f"{db}.{name} is marked cached but does not fit the cache budget")
    return StatementResult(message=f"Cached {db}.{name} ({nbytes} bytes in memory)")


def uncache(ctx: Ctx, node: exp.Uncache) -> StatementResult:
    db, name = table_name(ctx, node.this)
    with located(ctx.pos(node.this)):
        ctx.catalog.uncache_table(db, name, if_exists=bool(node.args.get("exists")))
    return StatementResult()


def clear_cache(ctx: Ctx, toks: Tokens) -> StatementResult:
    toks.expect("CLEAR", "CACHE")
    toks.expect_end()
    names = ctx.catalog.clear_cache()
    return StatementResult(message=f"Uncached {len(names)} table(s)")
