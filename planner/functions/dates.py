"""Date and time functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    check_argument,
    fixed,
    register,
    sig,
)
from planner.functions.vectors import broadcast, restore

_EPOCH = dt.date(1970, 1, 1)


def _date_add(d: Value, n: Value) -> Value:
    days = pc.cast(pc.cast(d, T.DATE), T.INT32)
    return pc.cast(pc.cast(pc.add(days, pc.cast(n, T.INT32)), T.INT32), T.DATE)


def _date_sub(d: Value, n: Value) -> Value:
    return _date_add(d, pc.negate(pc.cast(n, T.INT32)))


register("date_add", fixed([T.DATE, T.INT32], T.DATE), _date_add)
register("date_sub", fixed([T.DATE, T.INT32], T.DATE), _date_sub)
register("datediff", fixed([T.DATE, T.DATE], T.INT32),
         lambda a, b: pc.cast(pc.subtract(pc.cast(a, T.INT32), pc.cast(b, T.INT32)), T.INT32))


def _add_months(d: Value, n: Value) -> Value:
    """Add months, clamping the day to the end of the month (Hive add_months)."""
    if isinstance(d, pa.Scalar):
        if not d.is_valid:
            return pa.scalar(None, T.DATE)
        return _add_months(pa.array([d.as_py()], T.DATE), n)[0]
    if len(d) == 0:
        return pa.array([], T.DATE)
    if isinstance(d, pa.ChunkedArray):
        d = d.combine_chunks()
    mask = pc.is_null(d)
    if not isinstance(n, pa.Scalar):
        mask = pc.or_(mask, pc.is_null(n))
        n = pc.fill_null(n, 0)
    elif not n.is_valid:
        return pa.nulls(len(d), T.DATE)
    d = pc.fill_null(d, pa.scalar(0, T.INT32).cast(T.DATE))
    y, m, day = pc.year(d), pc.month(d), pc.day(d)
    total = pc.add(pc.add(pc.multiply(pc.cast(y, T.INT64), 12), pc.subtract(pc.cast(m, T.INT64), 1)),
                   pc.cast(n, T.INT64))
    ny = pc.divide(total, 12)
    # floor division for negatives
    nm = pc.subtract(total, pc.multiply(ny, 12))
    neg = pc.less(nm, 0)
    ny = pc.if_else(neg, pc.subtract(ny, 1), ny)
    nm = pc.if_else(neg, pc.add(nm, 12), nm)
    first = _make_date(ny, pc.add(nm, 1), 1)
    nxt = _make_date(pc.if_else(pc.equal(nm, 11), pc.add(ny, 1), ny),
                     pc.if_else(pc.equal(nm, 11), 1, pc.add(nm, 2)), 1)
    month_len = pc.subtract(pc.cast(nxt, T.INT32), pc.cast(first, T.INT32))
    dd = pc.min_element_wise(pc.cast(day, T.INT32), month_len)
    out = pc.cast(pc.cast(pc.add(pc.cast(first, T.INT32), pc.subtract(pc.cast(dd, T.INT32), 1)), T.INT32), T.DATE)
    return pc.if_else(mask, pa.scalar(None, T.DATE), out)


def _make_date(y: Value, m: Value, d: Any) -> Value:
    """Vectorized (y, m, d) → date32 via days-from-civil."""
    def arr(v: Any) -> np.ndarray:
        if isinstance(v, pa.Scalar):
            v = v.as_py()
        elif hasattr(v, "to_numpy"):
            v = v.to_numpy(zero_copy_only=False)
        return np.atleast_1d(np.asarray(v, dtype=np.int64))
    y, m, d = arr(y), arr(m), arr(d)
    n = max(len(y), len(m), len(d))
    y, m, d = (np.broadcast_to(x, (n,)) for x in (y, m, d))
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return pa.array(days.astype(np.int32)).cast(T.DATE)


register("add_months", fixed([T.DATE, T.INT32], T.DATE), _add_months)


def _date_add_interval(d: Value, iv: Value) -> Value:
    v = iv.as_py()
    months, days, nanos = v.months, v.days, v.nanoseconds
    if pa.types.is_timestamp(d.type):
        out = d
        if months:
            date_part = _add_months(pc.cast(d, T.DATE), pa.scalar(months))
            tod = pc.subtract(pc.cast(d, pa.int64()), pc.multiply(pc.cast(pc.cast(pc.cast(d, T.DATE), T.TIMESTAMP), pa.int64()), 1))
            out = pc.cast(pc.add(pc.cast(pc.cast(date_part, T.TIMESTAMP), pa.int64()), tod), T.TIMESTAMP)
        us = days * 86_400_000_000 + nanos // 1000
        return pc.cast(pc.add(pc.cast(out, pa.int64()), us), T.TIMESTAMP) if us else out
    out = d
    if months:
        out = _add_months(out, pa.scalar(months))
    if days:
        out = _date_add(out, pa.scalar(days))
    return out


def _interval_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if T.is_string(t):
        t = T.DATE
    return [t, T.INTERVAL], t


register("date_add_interval", _interval_resolve, _date_add_interval)


def _date_part(fn: Any) -> Any:
    return lambda d: pc.cast(fn(d), T.INT32)


def _date_arg(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if T.is_string(t):
        t = T.DATE
    return [t], T.INT32


for _n, _f in (("year", pc.year), ("month", pc.month), ("day dayofmonth", pc.day),
               ("quarter", pc.quarter), ("weekofyear", pc.iso_week), ("dayofyear", pc.day_of_year)):
    register(_n, _date_arg, _date_part(_f))
register("dayofweek", _date_arg, lambda d: pc.cast(pc.add(pc.day_of_week(d, count_from_zero=True, week_start=7), 1), T.INT32))


def _to_date(s: Value) -> Value:
    if T.is_string(s.type):
        return pc.cast(pc.utf8_slice_codeunits(s, 0, 10), T.DATE)
    return pc.cast(s, T.DATE)


register("to_date", fixed([None], T.DATE), _to_date)
register("current_date", fixed([], T.DATE), lambda: pa.scalar(dt.date.today(), T.DATE), deterministic=False)
register("current_timestamp now", fixed([], T.TIMESTAMP),
         lambda: pa.scalar(dt.datetime.now(), T.TIMESTAMP), deterministic=False)


def _from_unixtime(secs: Value, fmt: Value | None = None) -> Value:
    ts = pc.cast(pc.cast(secs, T.INT64), pa.timestamp("s"))
    f = "%Y-%m-%d %H:%M:%S" if fmt is None else _java_fmt(fmt.as_py())
    return pc.strftime(ts, format=f)


def _java_fmt(f: str) -> str:
    """A Java SimpleDateFormat pattern as strftime (sqlglot may have converted it already)."""
    if "%" in f:
        return f.replace("strict", "")
    for a, b in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")):
        f = f.replace(a, b)
    return f


register("from_unixtime", lambda a: ([T.INT64] + [T.STRING] * (len(a) - 1), T.STRING), _from_unixtime)


def _unix_timestamp(v: Value | None = None, fmt: Value | None = None) -> Value:
    if v is None:
        return pa.scalar(int(dt.datetime.now().timestamp()), T.INT64)
    if T.is_string(v.type):
        f = "%Y-%m-%d %H:%M:%S" if fmt is None else _java_fmt(fmt.as_py())
        v = pc.strptime(v, format=f, unit="us", error_is_null=True)
    return pc.cast(pc.divide(pc.cast(pc.cast(v, T.TIMESTAMP), T.INT64), 1_000_000), T.INT64)


register("unix_timestamp", lambda a: (list(a), T.INT64), _unix_timestamp, deterministic=False)
def _date_format(d: Value, f: Value) -> Value:
    """Formatted to whole seconds (Arrow's strftime prints fractions of finer units)."""
    seconds = pc.floor_temporal(pc.cast(d, T.TIMESTAMP), unit="second")
    return pc.strftime(pc.cast(seconds, pa.timestamp("s")), format=_java_fmt(f.as_py()))


register("date_format", fixed([None, T.STRING], T.STRING), _date_format)
def _last_day(d: Value) -> Value:
    return _date_sub(_add_months(_date_sub(d, pc.subtract(pc.cast(pc.day(d), T.INT32), 1)), pa.scalar(1)), pa.scalar(1))


register("last_day", fixed([T.DATE], T.DATE), _last_day)


# ---------------------------------------------------------------- next_day, months_between

#: day-of-week names Hive's next_day accepts (two or three letters or the whole name)
_DAYS = {name: i for i, day in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                           "sunday")) for name in (day[:2], day[:3], day)}


def _next_day(d: Value, day: Value) -> Value:
    """The first date after ``d`` that falls on ``day`` (Hive; NULL for an unknown day)."""
    (dates, names), scalar = broadcast(d, day)
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(names))
    target = pc.index_in(lowered, value_set=pa.array(list(_DAYS)))
    target = pc.take(pa.array(list(_DAYS.values()), T.INT32), target)
    weekday = np.asarray(pc.fill_null(pc.day_of_week(dates), 0), dtype=np.int64)  # Monday 0
    ahead = (np.asarray(pc.fill_null(target, 0), dtype=np.int64) - weekday - 1) % 7 + 1  # 1..7 days
    days = pa.array(ahead.astype(np.int32), mask=np.asarray(pc.is_null(target), dtype=bool))
    return restore(_date_add(dates, days), scalar)


register("next_day", sig("date", "string", result=T.DATE), _next_day)


def _months_between(a: Value, b: Value, round_off: Value | None = None) -> Value:
    """Hive's months_between: whole months when both days of month are equal or both
    are the last of their months, else the difference plus the remaining seconds over
    31 days, rounded to 8 decimals (unless round_off is false, as Spark)."""
    (x, y), scalar = broadcast(a, b)
    whole = []
    for t in (x, y):
        us = np.asarray(pc.fill_null(pc.cast(t, T.INT64), 0), dtype=np.int64)
        date = pc.cast(pc.cast(t, T.DATE), T.DATE)
        month = pc.add(pc.multiply(pc.cast(pc.year(date), T.INT64), 12), pc.cast(pc.month(date), T.INT64))
        day = np.asarray(pc.fill_null(pc.day(date), 1), dtype=np.int64)
        last = np.asarray(pc.fill_null(pc.equal(date, _last_day(date)), False), dtype=bool)
        seconds = (day - 1) * 86400 + np.mod(us, 86_400_000_000) // 1_000_000
        whole.append((np.asarray(pc.fill_null(month, 0), dtype=np.int64), day, last, seconds))
    (m1, d1, last1, s1), (m2, d2, last2, s2) = whole
    months = (m1 - m2).astype(np.float64)
    exact = (d1 == d2) | (last1 & last2)
    out = np.where(exact, months, months + (s1 - s2) / (31 * 86400.0))
    if round_off is None or (isinstance(round_off, pa.Scalar) and round_off.as_py() is not False):
        out = _round_half_up(out, 8)
    nulls = np.asarray(pc.or_(pc.is_null(x), pc.is_null(y)), dtype=bool)
    return restore(pa.array(out, mask=nulls), scalar)


def _round_half_up(values: np.ndarray, digits: int) -> np.ndarray:
    """As BigDecimal.valueOf(v).setScale(digits, HALF_UP): rounding the shortest decimal
    text of each double, half away from zero."""
    return np.asarray(pc.round(pa.array(values), ndigits=digits, round_mode="half_towards_infinity"))


def _months_between_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) not in (2, 3):
        raise FunctionError(f"expects 2 or 3 arguments, got {len(args)}")
    want = [check_argument(0, "timestamp", args[0]), check_argument(1, "timestamp", args[1])]
    if len(args) == 3:
        if args[2] not in (T.BOOL, T.NULL):
            raise FunctionError(f"argument 3 must be a boolean, got {T.type_name(args[2])}")
        want.append(T.BOOL)
    return want, T.FLOAT64


register("months_between", _months_between_resolve, _months_between)
