"""Time of day and time zones: hour / minute / second of timestamps, dates and strings,
trunc(date, fmt), date_trunc(fmt, ts), from_utc_timestamp and to_utc_timestamp.

All vectorized: Arrow's temporal kernels (``floor_temporal``, ``local_timestamp``,
``assume_timezone``) over whole columns, one call per distinct time zone of a batch.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.casts import cast_kernel
from planner.functions.registry import (
    FunctionError,
    Value,
    check_argument,
    register,
    sig,
)
from planner.functions.vectors import broadcast, restore

_TIME_ONLY = r"^\s*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$"


def _as_timestamp(v: Value) -> Value:
    """A timestamp of a timestamp, a date (midnight) or a string: 'yyyy-MM-dd[ HH:mm:ss]'
    or a bare time 'HH:mm:ss' (Hive's hour('12:58:59') is 12)."""
    if T.is_string(v.type):
        time_only = pc.match_substring_regex(v, _TIME_ONLY)
        v = pc.if_else(time_only, pc.binary_join_element_wise("1970-01-01 ", pc.utf8_trim_whitespace(v), ""), v)
        return cast_kernel(v, T.TIMESTAMP)
    return cast_kernel(v, T.TIMESTAMP) if v.type != T.TIMESTAMP else v


def _time_part(fn: object) -> object:
    return lambda v: pc.cast(fn(_as_timestamp(v)), T.INT32)  # type: ignore[operator]


def _time_part_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 1:
        raise FunctionError(f"expects 1 argument, got {len(args)}")
    t = args[0]
    check_argument(0, "timestamp", t)
    return [t if t != T.NULL else T.TIMESTAMP], T.INT32


register("hour", _time_part_resolve, _time_part(pc.hour))
register("minute", _time_part_resolve, _time_part(pc.minute))
register("second", _time_part_resolve, _time_part(pc.second))

# ---------------------------------------------------------------- truncation

#: trunc's formats (Hive; WEEK as Spark's) and date_trunc's (Spark), as Arrow units
_TRUNC_UNITS = {"YEAR": "year", "YYYY": "year", "YY": "year", "QUARTER": "quarter", "Q": "quarter",
                "MONTH": "month", "MON": "month", "MM": "month", "WEEK": "week"}
_DATE_TRUNC_UNITS = {**_TRUNC_UNITS, "DAY": "day", "DD": "day", "HOUR": "hour", "MINUTE": "minute",
                     "SECOND": "second", "MILLISECOND": "millisecond", "MICROSECOND": "microsecond"}


def _floor_by_format(values: Value, fmt: Value, units: dict[str, str]) -> Value:
    """``values`` floored to the unit ``fmt`` names (one Arrow call per distinct format);
    NULL for a format that is not one of ``units`` (Hive, Spark)."""
    (vals, fmts), scalar = broadcast(values, fmt)
    encoded = pc.dictionary_encode(pc.utf8_upper(pc.utf8_trim_whitespace(fmts)))
    codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)
    out = pa.nulls(len(vals), vals.type)
    for code, name in enumerate(encoded.dictionary.to_pylist()):
        unit = units.get(name)
        if unit is None:
            continue
        rows = codes == code
        floored = pc.floor_temporal(vals, unit=unit, week_starts_monday=True)
        out = pc.if_else(pa.array(rows), floored, out)
    return restore(out, scalar)


register("trunc", sig("date", "string", result=T.DATE), lambda d, f: _floor_by_format(d, f, _TRUNC_UNITS))
register("date_trunc", sig("string", "timestamp", result=T.TIMESTAMP),
         lambda f, ts: _floor_by_format(ts, f, _DATE_TRUNC_UNITS))

# ---------------------------------------------------------------- time zones

#: java.util.TimeZone's three-letter IDs (Hive resolves zones with TimeZone.getTimeZone)
_JAVA_SHORT_IDS = {
    "ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo", "BST": "Asia/Dhaka",
    "CAT": "Africa/Harare", "CNT": "America/St_Johns", "CST": "America/Chicago", "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa", "ECT": "Europe/Paris", "EST": "-05:00", "HST": "-10:00",
    "IET": "America/Indiana/Indianapolis", "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "MIT": "Pacific/Apia",
    "MST": "-07:00", "NET": "Asia/Yerevan", "NST": "Pacific/Auckland", "PLT": "Asia/Karachi",
    "PNT": "America/Phoenix", "PRT": "America/Puerto_Rico", "PST": "America/Los_Angeles",
    "SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh", "UTC": "UTC", "GMT": "UTC", "Z": "UTC",
}
_OFFSET = re.compile(r"^(?:GMT|UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def zone_name(zone: str) -> str:
    """A time zone as Arrow names it: IANA names as they are, Java's short IDs mapped,
    'GMT+8' / '+08:00' as offsets; an unknown zone is UTC, as Java's getTimeZone."""
    zone = zone.strip()
    if zone.upper() in _JAVA_SHORT_IDS:
        return _JAVA_SHORT_IDS[zone.upper()]
    m = _OFFSET.match(zone.upper())
    if m:
        sign, hours, minutes = m.groups()
        return f"{sign}{int(hours):02d}:{minutes or '00'}"
    try:
        pa.array([0], pa.timestamp("us", tz=zone)).cast(pa.timestamp("us"))
        pc.local_timestamp(pa.array([0], pa.timestamp("us", tz=zone)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return "UTC"
    return zone


def _shift_zone(ts: Value, zone: Value, from_utc: bool) -> Value:
    """Wall-clock time in ``zone`` of a UTC timestamp (from_utc) or the UTC timestamp of
    a wall-clock time in ``zone``; per distinct zone of the batch."""
    (values, zones), scalar = broadcast(ts, zone)
    encoded = pc.dictionary_encode(zones)
    codes = np.asarray(pc.fill_null(encoded.indices, -1), dtype=np.int64)
    out = pa.nulls(len(values), T.TIMESTAMP)
    for code, name in enumerate(encoded.dictionary.to_pylist()):
        tz = zone_name(name)
        if from_utc:
            shifted = pc.local_timestamp(values.cast(pa.timestamp("us", tz=tz)))
        else:
            shifted = _to_utc(values, tz)
        out = pc.if_else(pa.array(codes == code), shifted, out)
    return restore(out, scalar)


def _to_utc(local: pa.Array, tz: str) -> pa.Array:
    """The UTC time of wall-clock times in ``tz``. A time read twice (clocks set back)
    is its earlier reading; a time that does not exist (clocks set forward) is read with
    the offset before the change, as java.util.TimeZone does (02:30 in a gap is 03:30)."""
    earliest = pc.assume_timezone(local, timezone=tz, ambiguous="earliest", nonexistent="earliest")
    utc = earliest.cast(T.INT64)
    back = pc.local_timestamp(earliest).cast(T.INT64)  # != local only inside a gap
    offset = pc.subtract(back, utc)
    shifted = pc.subtract(local.cast(T.INT64), offset)
    return pc.if_else(pc.equal(back, local.cast(T.INT64)), utc, shifted).cast(T.TIMESTAMP)


register("from_utc_timestamp", sig("timestamp", "string", result=T.TIMESTAMP),
         lambda ts, tz: _shift_zone(ts, tz, from_utc=True))
register("to_utc_timestamp", sig("timestamp", "string", result=T.TIMESTAMP),
         lambda ts, tz: _shift_zone(ts, tz, from_utc=False))
