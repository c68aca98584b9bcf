"""Executing HiveQL statements that define, load and change tables (issue 3).

The session calls ``execute_statement(statement, sql_text, session)`` for every parsed
statement; ``None`` back means "a query: plan it yourself". ``statement`` is what
``sqlglot.parse_one(sql_text, read="hive")`` gave (``None`` if it failed to parse, in
which case the Hive forms sqlglot cannot parse are recognised from ``sql_text``).
``sql_text`` must be the text the statement was parsed from: error positions
(line:column) are computed from the offsets sqlglot recorded in it.

Modules: ``ddl`` (CREATE/DROP/USE/TRUNCATE), ``alter``, ``dml`` (INSERT, multi-insert,
LOAD DATA), ``show`` (SHOW, DESCRIBE), ``admin`` (ANALYZE, MSCK, SET, RESET),
``admin`` also CACHE/UNCACHE TABLE, CLEAR CACHE and REFRESH TABLE; ``tokens`` (parser for the Command forms), ``errors`` (positioned PEP 249 errors).
"""

from __future__ import annotations

import re

from sqlglot import exp

from sql.statements import admin, alter, ddl, dml, show
from sql.statements.common import Ctx, QueryOutput, StatementResult, StatementSession
from sql.statements.errors import (
    StatementDataError,
    StatementError,
    StatementNotSupported,
    StatementOperationalError,
)
from sql.statements.tokens import Tokens

__all__ = [
    "QueryOutput",
    "StatementDataError",
    "StatementError",
    "StatementNotSupported",
    "StatementOperationalError",
    "StatementResult",
    "StatementSession",
    "execute_statement",
    "is_statement",
]

_LEADING = re.compile(r"^\s*(?:(?:--[^\n]*\n)|(?:/\*.*?\*/)|\s)*", re.DOTALL)
_TEXT_FORMS = ("SHOW", "MSCK", "ALTER", "CREATE", "RESET", "SET", "DESCRIBE", "DESC")


def _first_word(text: str) -> str:
    body = text[_LEADING.match(text).end():]  # type: ignore[union-attr]
    m = re.match(r"[A-Za-z]+", body)
    return m.group(0).upper() if m else ""


def is_statement(statement: exp.Expression | None, sql_text: str) -> bool:
    """Whether ``execute_statement`` would handle this (rather than the query planner)."""
    if statement is None or isinstance(statement, exp.Command):
        return _first_word(sql_text) in _TEXT_FORMS + ("USE", "DROP", "INSERT", "LOAD", "ANALYZE", "TRUNCATE", "FROM")
    return isinstance(statement, (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Insert,
                                  exp.MultitableInserts, exp.LoadData, exp.Describe, exp.Analyze, exp.Set,
                                  exp.Use, exp.Cache, exp.Uncache, exp.Refresh)) \
        or _first_word(sql_text) in ("RESET", "CLEAR")


def execute_statement(statement: exp.Expression | None, sql_text: str, session: StatementSession) -> StatementResult | None:
    ctx = Ctx(session, sql_text)
    word = _first_word(sql_text)
    if word == "RESET":
        return admin.reset(ctx, Tokens(sql_text))
    if word == "CLEAR":
        return admin.clear_cache(ctx, Tokens(sql_text))
    if word == "SET" and (statement is None or isinstance(statement, (exp.Set, exp.Command))):
        return admin.set_text(ctx, sql_text)
    if statement is None or isinstance(statement, exp.Command):
        return _text_form(ctx, word, sql_text, statement)
    if isinstance(statement, exp.Create):
        kind = (statement.args.get("kind") or "").upper()
        if kind == "TABLE":
            return ddl.create_table(ctx, statement)
        if kind == "VIEW":
            return ddl.create_view(ctx, statement)
        if kind in ("DATABASE", "SCHEMA"):
            return ddl.create_database(ctx, statement)
        raise StatementNotSupported(f"CREATE {kind} is not supported", *ctx.pos(statement))
    if isinstance(statement, exp.Drop):
        return ddl.drop(ctx, statement)
    if isinstance(statement, exp.Use):
        return ddl.use(ctx, statement)
    if isinstance(statement, exp.TruncateTable):
        return ddl.truncate(ctx, statement)
    if isinstance(statement, exp.Alter):
        return alter.alter(ctx, statement)
    if isinstance(statement, exp.Insert):
        return dml.insert(ctx, statement)
    if isinstance(statement, exp.MultitableInserts):
        return dml.multi_insert(ctx, statement)
    if isinstance(statement, exp.LoadData):
        return dml.load_data(ctx, statement)
    if isinstance(statement, exp.Describe):
        return show.describe(ctx, statement)
    if isinstance(statement, exp.Analyze):
        return admin.analyze(ctx, statement)
    if isinstance(statement, exp.Cache):
        return admin.cache(ctx, statement)
    if isinstance(statement, exp.Uncache):
        return admin.uncache(ctx, statement)
    if isinstance(statement, exp.Refresh):
        return admin.refresh(ctx, statement)
    return None


def _text_form(ctx: Ctx, word: str, sql_text: str, statement: exp.Expression | None) -> StatementResult | None:
    toks = Tokens(sql_text)
    if word == "SHOW":
        return show.show(ctx, toks)
    if word == "MSCK":
        return admin.msck(ctx, toks)
    if word == "ALTER":
        return alter.alter_text(ctx, toks)
    if word == "CREATE" and (toks.is_kw("DATABASE", ahead=1) or toks.is_kw("SCHEMA", ahead=1)):
        return ddl.create_database_text(ctx, toks)
    if word in ("DESCRIBE", "DESC"):
        return show.describe_text(ctx, toks)
    if statement is None:
        return None  # not ours; the session reports its own parse error
    raise StatementNotSupported(f"Unsupported statement: {sql_text.strip()[:60]}", 1, 1)
