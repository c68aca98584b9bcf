"""Which queries another process could answer for a session.

A query server can hand a file-reading query to a process of its own (the server's
query processes), so that its planning, compiling and result handling never take the
interpreter lock from the short queries the server answers itself from its cache. That
is sound only for a query whose every name means the same to a fresh session of the
same warehouse, given this session's settings and current database. Names that do not:
temporary views and registered tables (they live in this process), functions registered
in this session, and tables cached here (the other process would read storage instead,
or build a cache copy of its own). A query reading none of the catalog's tables (VALUES,
a registered table) is short and stays where it is.

The check is syntactic and cheap: the query is parsed once per text with its literals
masked (kept in an LRU) and its names are resolved against the session and the catalog
each time, so a table cached or a temporary view created since is seen by the next check.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

_QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
#: Literals do not change which names a query uses: masked, the texts of one query with
#: other values (a point query's key) share one parse.
_LITERALS = re.compile(r"'(?:[^'\\]|\\.|'')*'|\b\d+(?:\.\d+)?\b")


def mask_literals(text: str) -> str:
    """``text`` with every string literal made ``''`` and every number ``0``: what a
    query names stays, what it compares with goes (one key for a query's every value)."""
    return _LITERALS.sub(_masked, text)


def _masked(literal: re.Match[str]) -> str:
    return "''" if literal.group(0).startswith("'") else "0"


#: How deep views over views are followed before the check gives up (and says no).
_MAX_VIEW_DEPTH = 8


#: What a name in a query is: a stored table read from storage here, a stored table
#: cached here, or anything else (a temporary view, a registered table, a session
#: function, an unknown name).
_STORED, _CACHED, _SESSION = "stored", "cached", "session"


@dataclass(frozen=True, slots=True)
class _Names:
    tables: tuple[tuple[str | None, str], ...]  # (database or None, table), CTE names left out
    #: every word of the text: a function the session registered may be called by any
    #: spelling sqlglot reads as a builtin (``substr``, ``pow``), so its name anywhere is enough
    words: frozenset[str]


def detachable(session: Any, text: str) -> bool:
    """True when ``text`` is one query over the catalog's stored tables (directly or
    through stored views), at least one of them not cached in this process, calling
    none of the session's own functions: a session of the same warehouse elsewhere, with
    this one's settings and current database, answers it with the same rows (reading
    from storage what is cached here)."""
    names = _names(mask_literals(text))
    catalog = session.catalog_if_open() if names is not None else None
    if catalog is None:
        return False
    kinds = _kinds(session, catalog, names, 0)
    return _SESSION not in kinds and _STORED in kinds


def _kinds(session: Any, catalog: Any, names: _Names, depth: int) -> set[str]:
    if names.words & (session.udfs.keys() | session.udafs.keys()):
        return {_SESSION}
    kinds: set[str] = set()
    for db, name in names.tables:
        kinds |= _kind(session, catalog, db, name, depth)
        if _SESSION in kinds:
            break
    return kinds


def _kind(session: Any, catalog: Any, db: str | None, name: str, depth: int) -> set[str]:
    if db is None and (name in session.temp_views or name in session.registered
                       or name in catalog.temp_views()):
        return {_SESSION}
    try:
        table = catalog.get_table(db or session.current_database, name)
    except Exception:  # noqa: BLE001 - unknown here: the session itself reports it
        return {_SESSION}
    if table.temporary or depth >= _MAX_VIEW_DEPTH:
        return {_SESSION}
    if not table.is_view:
        return {_CACHED if catalog.cache_level(table) is not None else _STORED}
    if catalog.cached_view_source(table) is not None:
        return {_CACHED}
    body = _names(table.view_sql)
    return {_SESSION} if body is None else _kinds(session, catalog, body, depth + 1)


@functools.lru_cache(maxsize=512)
def _names(text: str) -> _Names | None:
    """The stored tables one query names, and its words; None when ``text`` is not one
    query (or does not parse: the session reports that when it runs it)."""
    try:
        trees = [t for t in sqlglot.parse(text, read="hive") if t is not None]
    except Exception:  # noqa: BLE001 - sqlglot's tokenizer raises plain errors too
        return None
    if len(trees) != 1 or not isinstance(trees[0], _QUERY_TYPES):
        return None
    tables: list[tuple[str | None, str]] = []
    try:
        if not _collect_tables(trees[0], frozenset(), tables):
            return None
    except RecursionError:  # thousands of nested terms: not worth a process of its own
        return None
    return _Names(tuple(tables), frozenset(w.lower() for w in _WORD.findall(text)))


_WORD = re.compile(r"\w+")


def _collect_tables(node: exp.Expression, ctes: frozenset[str], out: list[tuple[str | None, str]]) -> bool:
    """Append the stored tables ``node`` reads to ``out``, with ``ctes`` the names of the
    common table expressions visible at ``node``; False for names the check does not
    handle (table functions, three-part names). A WITH's names are visible to its query
    and to the expressions after each one, not to the rest of the statement."""
    with_ = node.args.get("with_") or node.args.get("with")
    if isinstance(with_, exp.With):
        visible = set(ctes)
        for cte in with_.expressions:
            if not _collect_tables(cte.this, frozenset(visible), out):
                return False
            visible.add(cte.alias_or_name.lower())
        ctes = frozenset(visible)
    for child in node.iter_expressions():
        if child is with_:
            continue
        if isinstance(child, exp.Table):
            if not isinstance(child.this, exp.Identifier) or child.catalog:
                return False
            db, name = child.db.lower() or None, child.name.lower()
            if db is not None or name not in ctes:
                out.append((db, name))
        if not _collect_tables(child, ctes, out):
            return False
    return True
