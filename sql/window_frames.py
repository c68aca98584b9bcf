"""Window frames: sqlglot's ``WindowSpec`` → ``Frame``, checked against the ORDER BY.

ROWS offsets count rows. RANGE offsets are distances in the units of the single ORDER BY
key (Hive, Spark, DuckDB): numbers for numeric keys; for a DATE key a number of days or
an interval, for a TIMESTAMP key a number of seconds or an interval. A frame without
``BETWEEN`` ends at the current row (``ROWS 2 PRECEDING``).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from sqlglot import exp

from planner import types as T
from planner.expressions import Frame, Literal, SortKey, offset_sign
from sql.errors import BindError

#: the aggregates whose DISTINCT form window frames compute (min/max ignore it)
DISTINCT_WINDOW_AGGREGATES = ("count", "sum", "avg", "min", "max")


def _err(msg: str, node: exp.Expression | None) -> BindError:
    from sql.binder import err
    return err(msg, node)


def bind_frame(spec: exp.Expression | None, order_by: tuple[SortKey, ...],
               interval: Callable[[exp.Interval], Literal], window: exp.Expression) -> Frame | None:
    """The frame ``spec`` of ``window`` describes (None: the default frame), or a
    ``BindError`` placed at the offending offset (else at the window)."""
    if spec is None or spec.args.get("kind") is None and spec.args.get("start") is None:
        return None
    kind = (spec.args.get("kind") or "rows").lower()
    start_node, start_side = spec.args.get("start"), (spec.args.get("start_side") or "").upper()
    end_node, end_side = spec.args.get("end"), (spec.args.get("end_side") or "").upper()
    if end_node is None:  # ``ROWS 2 PRECEDING`` = BETWEEN 2 PRECEDING AND CURRENT ROW
        end_node, end_side = "CURRENT ROW", ""
    if _is_unbounded(start_node) and start_side == "FOLLOWING":
        raise _err("a window frame cannot start at UNBOUNDED FOLLOWING", window)
    if _is_unbounded(end_node) and end_side == "PRECEDING":
        raise _err("a window frame cannot end at UNBOUNDED PRECEDING", window)
    key = order_by[0].expr.type if len(order_by) == 1 else None
    start = _offset(start_node, start_side, kind, key, interval, window)
    end = _offset(end_node, end_side, kind, key, interval, window)
    frame = Frame(kind=kind, start=start, end=end)
    offsets = [v for v in (start, end) if v is not None and not _is_zero(v)]
    if kind == "range" and offsets and len(order_by) != 1:
        raise _err(f"RANGE with an offset needs exactly one ORDER BY expression, not {len(order_by)}", window)
    return frame


def _is_unbounded(v: Any) -> bool:
    return isinstance(v, str) and v.upper() == "UNBOUNDED"


def _is_zero(v: Any) -> bool:
    return offset_sign(v) == 0


def _offset(v: Any, side: str, kind: str, key: pa.DataType | None,
            interval: Callable[[exp.Interval], Literal], window: exp.Expression) -> Any:
    """A signed offset (negative = PRECEDING); None = UNBOUNDED; 0 = CURRENT ROW."""
    if isinstance(v, str):
        word = v.upper()
        if word == "UNBOUNDED":
            return None
        if word == "CURRENT ROW":
            return 0
        raise _err(f"bad window frame bound {v}", window)
    sign = -1 if side == "PRECEDING" else 1
    if isinstance(v, exp.Neg) or (isinstance(v, exp.Literal) and str(v.this).startswith("-")):
        raise _err(f"a window frame offset must not be negative: {v.sql(dialect='hive')}", v)
    if isinstance(v, exp.Interval):
        if kind != "range":
            raise _err("ROWS frame offsets must be integers, not intervals", v)
        if key is not None and not T.is_temporal(key):
            raise _err(f"an interval offset needs a DATE or TIMESTAMP ORDER BY key, not {T.type_name(key)}", v)
        value = interval(v).value
        if min(value.months, value.days, value.nanoseconds) < 0:
            raise _err(f"a window frame offset must not be negative: {v.sql(dialect='hive')}", v)
        return pa.MonthDayNano([sign * value.months, sign * value.days, sign * value.nanoseconds])
    if not isinstance(v, exp.Literal) or v.is_string:
        raise _err(f"a window frame offset must be a constant number or interval: {v.sql(dialect='hive')}", v)
    number = _number(str(v.this))
    if kind == "rows":
        if not isinstance(number, int):
            raise _err(f"ROWS frame offsets must be integers: {v.this}", v)
        return sign * number
    if key is not None:
        if key == T.DATE and not isinstance(number, int):
            raise _err(f"a DATE key's RANGE offset is a whole number of days: {v.this}", v)
        if not (T.is_numeric(key) or T.is_temporal(key)):
            raise _err(f"RANGE offsets need a numeric, DATE or TIMESTAMP ORDER BY key, not {T.type_name(key)}", v)
    return sign * number


def _number(text: str) -> int | decimal.Decimal | float:
    if "e" in text.lower():
        return float(text)
    d = decimal.Decimal(text)
    return int(d) if d == d.to_integral_value() and "." not in text else d
