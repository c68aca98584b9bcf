"""Typed, immutable expressions over resolved columns.

A column is identified by its ``id`` (unique within a query); names are kept only for
printing and for the final result schema. ``Column.key`` is the field name the column
has in the Arrow batches flowing between physical operators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pyarrow as pa

from planner import types as T


@dataclass(frozen=True, slots=True)
class Column:
    """A column produced by a plan node."""

    id: int
    name: str
    type: pa.DataType = field(compare=True)

    @property
    def key(self) -> str:
        return f"c{self.id}"

    def ref(self) -> ColumnRef:
        return ColumnRef(column=self)

    def __str__(self) -> str:
        return f"{self.name}#{self.id}"


@dataclass(frozen=True, slots=True)
class ColumnRef:
    column: Column

    @property
    def type(self) -> pa.DataType:
        return self.column.type

    def __str__(self) -> str:
        return str(self.column)


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    type: pa.DataType

    def __str__(self) -> str:
        if self.value is None:
            return "NULL"
        if T.is_string(self.type):
            return "'" + str(self.value).replace("'", "''") + "'"
        if self.type == T.DATE:
            return f"DATE '{self.value}'"
        if T.is_decimal(self.type):
            return f"{self.value}BD"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Call:
    """A scalar function or operator; ``name`` is a key of planner.functions.SCALARS."""

    name: str
    args: tuple[Expr, ...]
    type: pa.DataType
    # A user-defined function (vectorized over Arrow arrays) when ``name`` is not built in.
    udf: Any = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.name in _INFIX and len(self.args) == 2:
            return f"({self.args[0]} {_INFIX[self.name]} {self.args[1]})"
        return f"{self.name}({', '.join(map(str, self.args))})"


_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "mod": "%",
          "eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
          "and": "AND", "or": "OR", "int_div": "DIV", "eq_null_safe": "<=>"}


@dataclass(frozen=True, slots=True)
class Case:
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr
    type: pa.DataType

    def __str__(self) -> str:
        body = " ".join(f"WHEN {c} THEN {v}" for c, v in self.whens)
        return f"CASE {body} ELSE {self.default} END"


@dataclass(frozen=True, slots=True)
class Cast:
    arg: Expr
    type: pa.DataType

    def __str__(self) -> str:
        return f"CAST({self.arg} AS {T.type_name(self.type)})"


@dataclass(frozen=True, slots=True)
class AggCall:
    """An aggregate function call; lives only in ``Aggregate.aggregates``."""

    name: str
    args: tuple[Expr, ...]
    distinct: bool
    type: pa.DataType
    params: tuple[Any, ...] = ()

    def __str__(self) -> str:
        d = "DISTINCT " if self.distinct else ""
        return f"{self.name}({d}{', '.join(map(str, self.args)) or '*'})"


@dataclass(frozen=True, slots=True)
class SortKey:
    expr: Expr
    ascending: bool = True
    nulls_first: bool = True

    def __str__(self) -> str:
        return (f"{self.expr} {'ASC' if self.ascending else 'DESC'} "
                f"NULLS {'FIRST' if self.nulls_first else 'LAST'}")


@dataclass(frozen=True, slots=True)
class Frame:
    """A window frame; bounds are signed offsets (negative = PRECEDING), None = unbounded,
    0 = current row. ROWS offsets are ints; RANGE offsets are in the units of the one
    ORDER BY key: a number (int, Decimal or float; days for a DATE key, seconds for a
    TIMESTAMP key, as Hive) or, for DATE/TIMESTAMP keys, an interval (``pa.MonthDayNano``,
    every field of one sign)."""

    kind: str  # "rows" | "range"
    start: Any
    end: Any

    def __str__(self) -> str:
        def b(v: Any, side: str) -> str:
            if v is None:
                return f"UNBOUNDED {side}"
            if offset_sign(v) == 0:
                return "CURRENT ROW"
            if isinstance(v, pa.MonthDayNano):
                text = f"INTERVAL '{abs(v.months)}-{abs(v.days)}-{abs(v.nanoseconds)}' MONTH-DAY-NANO"
            else:
                text = str(abs(v))
            return f"{text} {'PRECEDING' if offset_sign(v) < 0 else 'FOLLOWING'}"
        return f"{self.kind.upper()} BETWEEN {b(self.start, 'PRECEDING')} AND {b(self.end, 'FOLLOWING')}"


def offset_sign(v: Any) -> int:
    """-1, 0 or 1: the direction of a frame offset (a number or a ``pa.MonthDayNano``)."""
    if isinstance(v, pa.MonthDayNano):
        total = v.months or v.days or v.nanoseconds
        return (total > 0) - (total < 0)
    return (v > 0) - (v < 0)


@dataclass(frozen=True, slots=True)
class WindowCall:
    """A window function; lives only in ``Window.functions``."""

    name: str
    args: tuple[Expr, ...]
    partition_by: tuple[Expr, ...]
    order_by: tuple[SortKey, ...]
    frame: Frame | None
    type: pa.DataType
    distinct: bool = False

    def __str__(self) -> str:
        parts = []
        if self.partition_by:
            parts.append("PARTITION BY " + ", ".join(map(str, self.partition_by)))
        if self.order_by:
            parts.append("ORDER BY " + ", ".join(map(str, self.order_by)))
        if self.frame:
            parts.append(str(self.frame))
        return f"{self.name}({', '.join(map(str, self.args))}) OVER ({' '.join(parts)})"


@dataclass(frozen=True, slots=True)
class ScalarSubquery:
    plan: Any  # LogicalPlan; one output column
    type: pa.DataType

    def __str__(self) -> str:
        return "scalar-subquery(" + _one_line(self.plan) + ")"


@dataclass(frozen=True, slots=True)
class Exists:
    plan: Any

    @property
    def type(self) -> pa.DataType:
        return T.BOOL

    def __str__(self) -> str:
        return "exists(" + _one_line(self.plan) + ")"


@dataclass(frozen=True, slots=True)
class InSubquery:
    arg: Expr
    plan: Any

    @property
    def type(self) -> pa.DataType:
        return T.BOOL

    def __str__(self) -> str:
        return f"{self.arg} IN (" + _one_line(self.plan) + ")"


Expr: TypeAlias = (ColumnRef | Literal | Call | Case | Cast | AggCall | WindowCall
                   | ScalarSubquery | Exists | InSubquery)
SUBQUERIES = (ScalarSubquery, Exists, InSubquery)


def _one_line(plan: Any) -> str:
    return plan.explain_line()


def children(e: Expr) -> tuple[Expr, ...]:
    match e:
        case ColumnRef() | Literal() | ScalarSubquery() | Exists():
            return ()
        case Call(args=args) | AggCall(args=args):
            return args
        case Case(whens=whens, default=default):
            return tuple(x for w in whens for x in w) + (default,)
        case Cast(arg=arg):
            return (arg,)
        case WindowCall():
            return e.args + e.partition_by + tuple(k.expr for k in e.order_by)
        case InSubquery(arg=arg):
            return (arg,)
    raise AssertionError(e)


def with_children(e: Expr, kids: tuple[Expr, ...]) -> Expr:
    match e:
        case ColumnRef() | Literal() | ScalarSubquery() | Exists():
            return e
        case Call():
            return Call(name=e.name, args=kids, type=e.type, udf=e.udf)
        case AggCall():
            return AggCall(name=e.name, args=kids, distinct=e.distinct, type=e.type, params=e.params)
        case Case():
            n = len(e.whens)
            whens = tuple((kids[2 * i], kids[2 * i + 1]) for i in range(n))
            return Case(whens=whens, default=kids[2 * n], type=e.type)
        case Cast():
            return Cast(arg=kids[0], type=e.type)
        case WindowCall():
            na, npart = len(e.args), len(e.partition_by)
            order = tuple(SortKey(k, o.ascending, o.nulls_first)
                          for k, o in zip(kids[na + npart:], e.order_by))
            return WindowCall(name=e.name, args=kids[:na], partition_by=kids[na:na + npart],
                              order_by=order, frame=e.frame, type=e.type, distinct=e.distinct)
        case InSubquery():
            return InSubquery(arg=kids[0], plan=e.plan)
    raise AssertionError(e)


def transform(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Rewrite top-down: ``fn`` returns a replacement (not visited further) or None."""
    r = fn(e)
    if r is not None:
        return r
    kids = children(e)
    if not kids:
        return e
    new = tuple(transform(k, fn) for k in kids)
    if all(a is b for a, b in zip(new, kids)):
        return e
    return with_children(e, new)


def transform_up(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """Rewrite bottom-up: ``fn`` sees each node after its children were rewritten."""
    kids = children(e)
    if kids:
        new = tuple(transform_up(k, fn) for k in kids)
        if not all(a is b for a, b in zip(new, kids)):
            e = with_children(e, new)
    return fn(e)


def walk(e: Expr) -> Iterator[Expr]:
    yield e
    for k in children(e):
        yield from walk(k)


def column_ids(e: Expr) -> set[int]:
    """Ids of columns ``e`` reads, including outer columns read by its subqueries."""
    out: set[int] = set()
    for x in walk(e):
        if isinstance(x, ColumnRef):
            out.add(x.column.id)
        elif isinstance(x, SUBQUERIES):
            from planner.logical import free_column_ids
            out |= free_column_ids(x.plan)
    return out


def has_subquery(e: Expr) -> bool:
    return any(isinstance(x, SUBQUERIES) for x in walk(e))


def replace_columns(e: Expr, mapping: dict[int, Expr]) -> Expr:
    if not mapping:
        return e

    def fn(x: Expr) -> Expr | None:
        if isinstance(x, ColumnRef) and x.column.id in mapping:
            return mapping[x.column.id]
        return None
    return transform(e, fn)


def conjuncts(e: Expr | None) -> list[Expr]:
    if e is None:
        return []
    if isinstance(e, Call) and e.name == "and":
        return conjuncts(e.args[0]) + conjuncts(e.args[1])
    return [e]


def disjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Call) and e.name == "or":
        return disjuncts(e.args[0]) + disjuncts(e.args[1])
    return [e]


def and_all(parts: list[Expr]) -> Expr | None:
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = Call("and", (out, p), T.BOOL)
    return out


def or_all(parts: list[Expr]) -> Expr:
    out = parts[0]
    for p in parts[1:]:
        out = Call("or", (out, p), T.BOOL)
    return out


def lit(value: Any, type_: pa.DataType | None = None) -> Literal:
    if type_ is None:
        type_ = pa.scalar(value).type if value is not None else T.NULL
    return Literal(value=value, type=type_)


TRUE = Literal(True, T.BOOL)
FALSE = Literal(False, T.BOOL)
