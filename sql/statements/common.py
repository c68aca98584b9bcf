"""Shared pieces of statement execution: the session protocol, results, name and
partition-spec extraction from sqlglot nodes, sqlglot types -> Hive type text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
from sqlglot import exp

import catalog
from catalog.types import normalize_hive_type
from sql.statements.errors import Position, StatementError, node_position


class QueryOutput(Protocol):
    """What ``StatementSession.run_query`` returns: a schema, and rows as either
    ``batches()`` or an ``rdd`` of RecordBatch (preferred: written in parallel)."""

    @property
    def schema(self) -> pa.Schema: ...

    def batches(self) -> Iterator[pa.RecordBatch]: ...


@runtime_checkable
class StatementSession(Protocol):
    catalog: catalog.Catalog
    current_database: str
    settings: dict[str, str]
    rdd_context: Any  # rdd.Context

    def run_query(self, query: exp.Expression) -> QueryOutput: ...


@dataclass(frozen=True)
class StatementResult:
    """Rows to show (SHOW/DESCRIBE/SET), the affected row count, a message for the user."""

    table: pa.Table | None = None
    rowcount: int = -1
    message: str | None = None

    @property
    def schema(self) -> pa.Schema | None:
        """Schema of the rows to show (None for statements that return none)."""
        return self.table.schema if self.table is not None else None

    def batches(self) -> list[pa.RecordBatch]:
        return self.table.to_batches() if self.table is not None else []


@dataclass(frozen=True, slots=True)
class Ctx:
    """One statement's execution context."""

    session: StatementSession
    sql: str

    @property
    def catalog(self) -> catalog.Catalog:
        return self.session.catalog

    def pos(self, node: exp.Expression | None) -> Position:
        return node_position(node, self.sql)

    def word_pos(self, word: str) -> Position:
        """Where ``word`` first appears as a whole word (for nodes sqlglot left unplaced)."""
        import re

        from sql.statements.errors import offset_position

        m = re.search(rf"\b{re.escape(word)}\b", self.sql, re.IGNORECASE)
        return offset_position(self.sql, m.start()) if m else (1, 1)

    def error(self, message: str, node: exp.Expression | None) -> StatementError:
        return StatementError(message, *self.pos(node))

    def setting(self, key: str, default: str = "") -> str:
        return self.session.settings.get(key, default)

    def flag(self, key: str, default: bool = False) -> bool:
        v = self.session.settings.get(key)
        return default if v is None else v.strip().lower() in ("true", "1", "yes", "on")


def table_name(ctx: Ctx, node: exp.Expression) -> tuple[str, str]:
    """(database, table) of a ``Table`` node, defaulting to the current database."""
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        raise ctx.error("Expected a table name", node)
    if node.args.get("catalog"):
        raise ctx.error(f"Three-part names are not supported: {node.sql('hive')}", node)
    name = node.name
    db = node.text("db") or ctx.session.current_database
    if not name:
        raise ctx.error("Expected a table name", node)
    return db.lower(), name.lower()


def literal_text(ctx: Ctx, node: exp.Expression) -> str | None:
    """A partition value or property as text (strings, numbers, signs, NULL, booleans)."""
    if isinstance(node, exp.Literal):
        return node.this
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return "-" + node.this.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    raise ctx.error(f"Expected a constant, found {node.sql('hive')}", node)


def partition_spec(ctx: Ctx, node: exp.Expression | None, allow_dynamic: bool = False) -> list[tuple[str, str | None]]:
    """``PARTITION (k='v', k2)`` as ``[(k, 'v'), (k2, None)]``."""
    if node is None or node is False:
        return []
    out: list[tuple[str, str | None]] = []
    for e in node.expressions:
        if isinstance(e, exp.EQ):
            out.append((e.this.name.lower(), literal_text(ctx, e.expression)))
        elif isinstance(e, (exp.Column, exp.Identifier)) and allow_dynamic:
            out.append((e.name.lower(), None))
        else:
            raise ctx.error(f"Partition column {e.sql('hive')} needs a value", e)
    return out


def hive_type_of(ctx: Ctx, dtype: exp.DataType, where: exp.Expression | None = None) -> str:
    """sqlglot DataType -> canonical Hive type text (via the Hive rendering of it)."""
    text = dtype.sql(dialect="hive")
    try:
        return normalize_hive_type(text)
    except catalog.errors.HiveTypeError as e:
        raise ctx.error(str(e), where or dtype) from e


def comment_of(coldef: exp.ColumnDef) -> str | None:
    for c in coldef.args.get("constraints") or []:
        if isinstance(c.kind, exp.CommentColumnConstraint):
            return c.kind.this.this
    return None


def columns_of(ctx: Ctx, defs: list[exp.Expression]) -> tuple[catalog.Column, ...]:
    out = []
    for d in defs:
        if not isinstance(d, exp.ColumnDef) or d.args.get("kind") is None:
            raise ctx.error(f"Expected a column definition with a type, found {d.sql('hive')}", d)
        out.append(catalog.Column(d.name.lower(), hive_type_of(ctx, d.args["kind"], d), comment_of(d)))
    return tuple(out)


def result_table(names: list[str], rows: list[tuple[Any, ...]]) -> pa.Table:
    """A string table of ``rows`` (what SHOW/DESCRIBE print)."""
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    return pa.table(
        {n: pa.array([None if v is None else str(v) for v in col], pa.string()) for n, col in zip(names, cols)}
    )
