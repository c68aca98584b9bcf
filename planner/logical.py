"""Logical plan nodes: immutable, typed, printable.

Each node's ``schema`` is the tuple of ``Column``s it produces. Expressions refer to
columns by id, so a node may only reference columns of its children's schemas (or,
inside a subquery, of an enclosing query: those are its free columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias, assert_never

from catalog.scan import ScanSource
from planner import types as T
from planner.expressions import (
    AggCall,
    Column,
    Expr,
    SortKey,
    WindowCall,
    column_ids,
)
from planner.memo import memoized


@dataclass(frozen=True, slots=True, kw_only=True)
class Scan:
    """Read ``fields`` of ``source`` as ``columns``; ``filters`` were pushed into it."""

    table: str
    source: ScanSource = field(compare=False)
    source_id: int  # identity of the source for equality (sources need not be hashable)
    columns: tuple[Column, ...]
    fields: tuple[str, ...]
    filters: tuple[Expr, ...] = ()
    limit: int | None = None

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.columns

    def children(self) -> tuple[LogicalPlan, ...]:
        return ()

    def explain_line(self) -> str:
        s = f"Scan {self.table} [{', '.join(map(str, self.columns))}]"
        if self.filters:
            s += " filters=[" + ", ".join(map(str, self.filters)) + "]"
        if self.limit is not None:
            s += f" limit={self.limit}"
        return s


@dataclass(frozen=True, slots=True, kw_only=True)
class Values:
    """Literal rows (``VALUES`` and ``SELECT`` without ``FROM``)."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.columns

    def children(self) -> tuple[LogicalPlan, ...]:
        return ()

    def explain_line(self) -> str:
        return f"Values [{', '.join(map(str, self.columns))}] rows={len(self.rows)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    input: LogicalPlan
    condition: Expr

    def __post_init__(self) -> None:
        assert self.condition.type in (T.BOOL, T.NULL), f"filter on {self.condition.type}"

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.input.schema

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return f"Filter {self.condition}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    input: LogicalPlan
    exprs: tuple[tuple[Column, Expr], ...]

    @property
    def schema(self) -> tuple[Column, ...]:
        return tuple(c for c, _ in self.exprs)

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        def one(c: Column, e: Expr) -> str:
            return str(c) if _is_ref_to(e, c) else f"{e} AS {c}"
        return "Project [" + ", ".join(one(c, e) for c, e in self.exprs) + "]"


def _is_ref_to(e: Expr, c: Column) -> bool:
    from planner.expressions import ColumnRef
    return isinstance(e, ColumnRef) and e.column == c


@dataclass(frozen=True, slots=True, kw_only=True)
class Aggregate:
    """Group by ``keys`` and compute ``aggregates``.

    With ``grouping_sets`` (indexes into ``keys``), rows are produced for each set with
    the other keys NULL, and ``grouping_id`` (if set) holds Hive's GROUPING__ID bitmask.
    """

    input: LogicalPlan
    keys: tuple[tuple[Column, Expr], ...]
    aggregates: tuple[tuple[Column, AggCall], ...]
    grouping_sets: tuple[tuple[int, ...], ...] | None = None
    grouping_id: Column | None = None

    @property
    def schema(self) -> tuple[Column, ...]:
        extra = (self.grouping_id,) if self.grouping_id is not None else ()
        return tuple(c for c, _ in self.keys) + extra + tuple(c for c, _ in self.aggregates)

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        keys = ", ".join(str(c) if _is_ref_to(e, c) else f"{e} AS {c}" for c, e in self.keys)
        aggs = ", ".join(f"{a} AS {c}" for c, a in self.aggregates)
        s = f"Aggregate keys=[{keys}] aggs=[{aggs}]"
        if self.grouping_sets is not None:
            s += f" sets={list(map(list, self.grouping_sets))}"
        return s


JOIN_KINDS = ("inner", "left", "right", "full", "semi", "anti", "cross")


@dataclass(frozen=True, slots=True, kw_only=True)
class Join:
    """``semi``/``anti`` keep only left columns. ``null_aware`` anti joins implement
    NOT IN: any NULL on the right, or a NULL left key, rejects the left row."""

    left: LogicalPlan
    right: LogicalPlan
    kind: str
    condition: Expr | None = None
    null_aware: bool = False
    hint: str | None = None

    def __post_init__(self) -> None:
        assert self.kind in JOIN_KINDS, self.kind

    @property
    def schema(self) -> tuple[Column, ...]:
        if self.kind in ("semi", "anti"):
            return self.left.schema
        return self.left.schema + self.right.schema

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.left, self.right)

    def explain_line(self) -> str:
        s = f"Join {self.kind}"
        if self.null_aware:
            s += " null-aware"
        if self.condition is not None:
            s += f" on {self.condition}"
        if self.hint:
            s += f" hint={self.hint}"
        return s


@dataclass(frozen=True, slots=True, kw_only=True)
class Sort:
    """ORDER BY (global) or, with ``local``, Hive's SORT BY (within each partition)."""

    input: LogicalPlan
    keys: tuple[SortKey, ...]
    local: bool = False

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.input.schema

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return ("SortWithinPartitions " if self.local else "Sort ") + ", ".join(map(str, self.keys))


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    input: LogicalPlan
    limit: int | None
    offset: int = 0

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.input.schema

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return f"Limit {self.limit}" + (f" offset {self.offset}" if self.offset else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Union:
    """UNION ALL: input ``i``'s j-th column becomes ``columns[j]``."""

    inputs: tuple[LogicalPlan, ...]
    columns: tuple[Column, ...]

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.columns

    def children(self) -> tuple[LogicalPlan, ...]:
        return self.inputs

    def explain_line(self) -> str:
        return f"Union [{', '.join(map(str, self.columns))}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """Append one column per window function; all share one PARTITION BY/ORDER BY."""

    input: LogicalPlan
    functions: tuple[tuple[Column, WindowCall], ...]

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.input.schema + tuple(c for c, _ in self.functions)

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return "Window [" + ", ".join(f"{w} AS {c}" for c, w in self.functions) + "]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Generate:
    """LATERAL VIEW [OUTER] explode/posexplode/inline: one input row → many rows."""

    input: LogicalPlan
    function: str
    arg: Expr
    outer: bool
    columns: tuple[Column, ...]

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.input.schema + self.columns

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        o = " OUTER" if self.outer else ""
        return f"Generate{o} {self.function}({self.arg}) AS [{', '.join(map(str, self.columns))}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Repartition:
    """DISTRIBUTE BY: hash-partition rows by ``keys`` (no ordering)."""

    input: LogicalPlan
    keys: tuple[Expr, ...]

    @property
    def schema(self) -> tuple[Column, ...]:
        return self.input.schema

    def children(self) -> tuple[LogicalPlan, ...]:
        return (self.input,)

    def explain_line(self) -> str:
        return "Repartition " + ", ".join(map(str, self.keys))


LogicalPlan: TypeAlias = (Scan | Values | Filter | Project | Aggregate | Join | Sort | Limit
                          | Union | Window | Generate | Repartition)


def with_children(node: LogicalPlan, kids: tuple[LogicalPlan, ...]) -> LogicalPlan:
    if all(a is b for a, b in zip(kids, node.children())):
        return node
    match node:
        case Scan() | Values():
            return node
        case Filter() | Project() | Aggregate() | Sort() | Limit() | Window() | Generate() | Repartition():
            return replace(node, input=kids[0])
        case Join():
            return replace(node, left=kids[0], right=kids[1])
        case Union():
            return replace(node, inputs=tuple(kids))
        case _:
            assert_never(node)


def expressions(node: LogicalPlan) -> list[Expr]:
    """Every expression a node evaluates (for column-reference analysis)."""
    match node:
        case Scan():
            return list(node.filters)
        case Values() | Union() | Limit():
            return []
        case Filter():
            return [node.condition]
        case Project():
            return [e for _, e in node.exprs]
        case Aggregate():
            return [e for _, e in node.keys] + [a for _, a in node.aggregates]
        case Join():
            return [node.condition] if node.condition is not None else []
        case Sort():
            return [k.expr for k in node.keys]
        case Window():
            return [w for _, w in node.functions]
        case Generate():
            return [node.arg]
        case Repartition():
            return list(node.keys)
        case _:
            assert_never(node)


def transform_up(node: LogicalPlan, fn: Any) -> LogicalPlan:
    kids = tuple(transform_up(k, fn) for k in node.children())
    return fn(with_children(node, kids))


def transform_down(node: LogicalPlan, fn: Any) -> LogicalPlan:
    node = fn(node)
    kids = tuple(transform_down(k, fn) for k in node.children())
    return with_children(node, kids)


@memoized
def produced_ids(node: LogicalPlan) -> frozenset[int]:
    out = {c.id for c in node.schema}
    for k in node.children():
        out |= produced_ids(k)
    return frozenset(out)


@memoized
def free_column_ids(node: LogicalPlan) -> frozenset[int]:
    """Columns the subtree reads that no node inside it produces (outer references)."""
    used: set[int] = set()
    for e in expressions(node):
        used |= column_ids(e)
    for k in node.children():
        used |= free_column_ids(k)
    return frozenset(used - produced_ids(node))


def explain(node: LogicalPlan, indent: int = 0) -> str:
    from planner.expressions import SUBQUERIES, walk
    lines = ["  " * indent + node.explain_line()]
    for e in expressions(node):
        for x in walk(e):
            if isinstance(x, SUBQUERIES):
                lines.append("  " * (indent + 1) + "Subquery:")
                lines.append(explain(x.plan, indent + 2))
    for k in node.children():
        lines.append(explain(k, indent + 1))
    return "\n".join(lines)

