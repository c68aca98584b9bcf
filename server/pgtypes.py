"""Arrow ↔ PostgreSQL types: OIDs, type modifiers, and the text and binary value formats.

Results go out column-at-a-time: ``column_encoder(arrow_type, fmt)`` gives a function
from an Arrow array to a list of ``bytes | None`` (NULL), so a batch becomes DataRows
without a per-value type dispatch. Parameters come in as ``bytes`` with an OID and a
format and become SQL literals (the engine has no bind variables yet).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

# OIDs from PostgreSQL's pg_type.dat.
BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT2VECTOR, INT4, REGPROC, TEXT, OID = 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26
OIDVECTOR, JSON_OID, FLOAT4, FLOAT8, UNKNOWN = 30, 114, 700, 701, 705
BPCHAR, VARCHAR, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC = 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1700
REGCLASS, REGTYPE = 2205, 2206
INT2_ARRAY, INT4_ARRAY, TEXT_ARRAY, OID_ARRAY, CHAR_ARRAY, NAME_ARRAY = 1005, 1007, 1009, 1028, 1002, 1003
INT8_ARRAY, FLOAT8_ARRAY = 1016, 1022


@dataclass(frozen=True, slots=True)
class PgType:
    oid: int
    name: str
    size: int  # typlen: -1 variable
    array_oid: int = 0
    category: str = "U"


#: The types we report; pg_type is built from this table too.
TYPES: tuple[PgType, ...] = (
    PgType(BOOL, "bool", 1, 1000, "B"),
    PgType(BYTEA, "bytea", -1, 1001, "U"),
    PgType(CHAR, "char", 1, CHAR_ARRAY, "Z"),
    PgType(NAME, "name", 64, NAME_ARRAY, "S"),
    PgType(INT8, "int8", 8, INT8_ARRAY, "N"),
    PgType(INT2, "int2", 2, INT2_ARRAY, "N"),
    PgType(INT2VECTOR, "int2vector", -1, 1006, "A"),
    PgType(INT4, "int4", 4, INT4_ARRAY, "N"),
    PgType(REGPROC, "regproc", 4, 1008, "N"),
    PgType(TEXT, "text", -1, TEXT_ARRAY, "S"),
    PgType(OID, "oid", 4, OID_ARRAY, "N"),
    PgType(OIDVECTOR, "oidvector", -1, 1013, "A"),
    PgType(JSON_OID, "json", -1, 199, "U"),
    PgType(FLOAT4, "float4", 4, 1021, "N"),
    PgType(FLOAT8, "float8", 8, FLOAT8_ARRAY, "N"),
    PgType(UNKNOWN, "unknown", -2, 0, "X"),
    PgType(BPCHAR, "bpchar", -1, 1014, "S"),
    PgType(VARCHAR, "varchar", -1, 1015, "S"),
    PgType(DATE, "date", 4, 1182, "D"),
    PgType(TIME, "time", 8, 1183, "D"),
    PgType(TIMESTAMP, "timestamp", 8, 1115, "D"),
    PgType(TIMESTAMPTZ, "timestamptz", 8, 1185, "D"),
    PgType(INTERVAL, "interval", 16, 1187, "T"),
    PgType(NUMERIC, "numeric", -1, 1231, "N"),
    PgType(REGCLASS, "regclass", 4, 2210, "N"),
    PgType(REGTYPE, "regtype", 4, 2211, "N"),
    PgType(1000, "_bool", -1, 0, "A"), PgType(1001, "_bytea", -1, 0, "A"),
    PgType(INT2_ARRAY, "_int2", -1, 0, "A"), PgType(INT4_ARRAY, "_int4", -1, 0, "A"),
    PgType(INT8_ARRAY, "_int8", -1, 0, "A"), PgType(TEXT_ARRAY, "_text", -1, 0, "A"),
    PgType(OID_ARRAY, "_oid", -1, 0, "A"), PgType(1015, "_varchar", -1, 0, "A"),
    PgType(1021, "_float4", -1, 0, "A"), PgType(FLOAT8_ARRAY, "_float8", -1, 0, "A"),
    PgType(1231, "_numeric", -1, 0, "A"), PgType(1182, "_date", -1, 0, "A"),
    PgType(1115, "_timestamp", -1, 0, "A"), PgType(CHAR_ARRAY, "_char", -1, 0, "A"),
    PgType(NAME_ARRAY, "_name", -1, 0, "A"),
)
BY_OID = {t.oid: t for t in TYPES}

PG_EPOCH = dt.date(2000, 1, 1)
_PG_EPOCH_DAYS = PG_EPOCH.toordinal()
_PG_EPOCH_TS = dt.datetime(2000, 1, 1)


@dataclass(frozen=True, slots=True)
class ColumnType:
    """What RowDescription says about one column."""

    oid: int
    size: int
    modifier: int = -1


def column_type(t: pa.DataType) -> ColumnType:
    """The PostgreSQL type a column of Arrow type ``t`` is reported as."""
    if pa.types.is_boolean(t):
        return ColumnType(BOOL, 1)
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return ColumnType(INT2, 2)
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return ColumnType(INT4, 4)
    if pa.types.is_integer(t):
        return ColumnType(INT8, 8)
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return ColumnType(FLOAT4, 4)
    if pa.types.is_float64(t):
        return ColumnType(FLOAT8, 8)
    if pa.types.is_decimal(t):
        return ColumnType(NUMERIC, -1, ((t.precision << 16) | t.scale) + 4)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return ColumnType(TEXT, -1)
    if pa.types.is_date(t):
        return ColumnType(DATE, 4)
    if pa.types.is_timestamp(t):
        return ColumnType(TIMESTAMPTZ if t.tz else TIMESTAMP, 8)
    if pa.types.is_time(t):
        return ColumnType(TIME, 8)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return ColumnType(BYTEA, -1)
    return ColumnType(TEXT, -1)  # null, arrays, maps, structs: text (JSON-like)


_HIVE_SIMPLE = {"boolean": ColumnType(BOOL, 1), "tinyint": ColumnType(INT2, 2), "smallint": ColumnType(INT2, 2),
                "int": ColumnType(INT4, 4), "integer": ColumnType(INT4, 4), "bigint": ColumnType(INT8, 8),
                "float": ColumnType(FLOAT4, 4), "double": ColumnType(FLOAT8, 8), "string": ColumnType(TEXT, -1),
                "date": ColumnType(DATE, 4), "timestamp": ColumnType(TIMESTAMP, 8),
                "binary": ColumnType(BYTEA, -1)}


@functools.lru_cache(maxsize=1024)
def hive_type_oid(hive: str) -> ColumnType:
    """The PostgreSQL type of a catalog column given as Hive type text (every result
    column of every query asks: the few type texts there are are remembered)."""
    h = hive.strip().lower()
    base = h.split("(")[0].split("<")[0].strip()
    if base in _HIVE_SIMPLE:
        return _HIVE_SIMPLE[base]
    if base in ("varchar", "char"):
        n = _type_args(h)
        oid = VARCHAR if base == "varchar" else BPCHAR
        return ColumnType(oid, -1, n[0] + 4 if n else -1)
    if base in ("decimal", "numeric"):
        args = _type_args(h) or [10, 0]
        p, s = args[0], args[1] if len(args) > 1 else 0
        return ColumnType(NUMERIC, -1, ((p << 16) | s) + 4)
    return ColumnType(TEXT, -1)


def _type_args(h: str) -> list[int]:
    if "(" not in h:
        return []
    try:
        return [int(x) for x in h[h.index("(") + 1:h.index(")")].split(",")]
    except ValueError:
        return []


def format_type(oid: int, modifier: int) -> str:
    """PostgreSQL's ``format_type(oid, typmod)`` for the types we report."""
    names = {BOOL: "boolean", INT2: "smallint", INT4: "integer", INT8: "bigint", FLOAT4: "real",
             FLOAT8: "double precision", TEXT: "text", DATE: "date", BYTEA: "bytea", OID: "oid", NAME: "name",
             TIMESTAMP: "timestamp without time zone", TIMESTAMPTZ: "timestamp with time zone",
             CHAR: '"char"', TIME: "time without time zone"}
    if oid == NUMERIC:
        if modifier >= 4:
            m = modifier - 4
            return f"numeric({m >> 16},{m & 0xFFFF})"
        return "numeric"
    if oid == VARCHAR:
        return f"character varying({modifier - 4})" if modifier >= 4 else "character varying"
    if oid == BPCHAR:
        return f"character({modifier - 4})" if modifier >= 4 else "character"
    if oid in names:
        return names[oid]
    t = BY_OID.get(oid)
    return t.name if t else "???"


# ---------------------------------------------------------------- result encoding

Encoder = Callable[[pa.Array], list[bytes | None]]


def _per_value(fn: Callable[[Any], bytes]) -> Encoder:
    def encode(arr: pa.Array) -> list[bytes | None]:
        return [None if v is None else fn(v) for v in arr.to_pylist()]
    return encode


def _float_text(v: float) -> bytes:
    if math.isnan(v):
        return b"NaN"
    if math.isinf(v):
        return b"Infinity" if v > 0 else b"-Infinity"
    r = repr(v)
    return r.encode("ascii")


def _ts_text(v: dt.datetime) -> bytes:
    s = v.strftime("%Y-%m-%d %H:%M:%S")
    if v.microsecond:
        s += f".{v.microsecond:06d}".rstrip("0")
    if v.tzinfo is not None:
        off = v.utcoffset() or dt.timedelta(0)
        minutes = int(off.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        s += f"{sign}{abs(minutes) // 60:02d}"
        if minutes % 60:
            s += f":{abs(minutes) % 60:02d}"
    return s.encode("ascii")


def _to_jsonable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # a map's pairs
            return {str(k): _to_jsonable(x) for k, x in v}
        return [_to_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _to_jsonable(x) for k, x in v.items()}
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    return v


def _nested_text(v: Any) -> bytes:
    return json.dumps(_to_jsonable(v), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _decimal_text(v: decimal.Decimal) -> bytes:
    return format(v, "f").encode("ascii")


def text_encoder(t: pa.DataType) -> Encoder:
    if pa.types.is_boolean(t):
        return _per_value(lambda v: b"t" if v else b"f")
    if pa.types.is_integer(t):
        return _per_value(lambda v: str(v).encode("ascii"))
    if pa.types.is_floating(t):
        return _per_value(_float_text)
    if pa.types.is_decimal(t):
        return _per_value(_decimal_text)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _per_value(lambda v: v.encode("utf-8"))
    if pa.types.is_date(t):
        return _per_value(lambda v: v.isoformat().encode("ascii"))
    if pa.types.is_timestamp(t):
        return _per_value(_ts_text)
    if pa.types.is_time(t):
        return _per_value(lambda v: v.isoformat().encode("ascii"))
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return _per_value(lambda v: b"\\x" + v.hex().encode("ascii"))
    if pa.types.is_null(t):
        return lambda arr: [None] * len(arr)
    return _per_value(_nested_text)


def numeric_binary(v: decimal.Decimal) -> bytes:
    """NUMERIC's binary form: base-10000 digits with a weight, a sign and a display scale."""
    if v.is_nan():
        return struct.pack("!hhhh", 0, 0, 0xC000 - 0x10000, 0)
    sign, digits, exponent = v.as_tuple()
    assert isinstance(exponent, int)
    dscale = max(0, -exponent)
    text = "".join(map(str, digits))
    # Pad so the decimal point falls on a base-10000 boundary.
    int_len = len(text) + exponent  # digits before the point
    frac = text[max(int_len, 0):] if exponent < 0 else ""
    whole = text[:int_len] if int_len > 0 else ""
    if exponent > 0:
        whole = text + "0" * exponent
    if int_len < 0:
        frac = "0" * (-int_len) + text
    whole = whole.lstrip("0")
    whole = "0" * (-len(whole) % 4) + whole
    frac = frac + "0" * (-len(frac) % 4)
    groups = [int(whole[i:i + 4]) for i in range(0, len(whole), 4)] + [int(frac[i:i + 4]) for i in range(0, len(frac), 4)]
    weight = len(whole) // 4 - 1
    while groups and groups[0] == 0:  # strip leading zero groups
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    flag = 0x4000 if sign else 0
    return struct.pack(f"!hhHh{len(groups)}h", len(groups), weight, flag, dscale, *groups)


def binary_encoder(t: pa.DataType) -> Encoder:
    """Binary format for the common types; anything else falls back to its text bytes."""
    if pa.types.is_boolean(t):
        return _per_value(lambda v: b"\x01" if v else b"\x00")
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return _per_value(lambda v: struct.pack("!h", v))
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return _per_value(lambda v: struct.pack("!i", v))
    if pa.types.is_integer(t):
        return _per_value(lambda v: struct.pack("!q", v))
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return _per_value(lambda v: struct.pack("!f", v))
    if pa.types.is_float64(t):
        return _per_value(lambda v: struct.pack("!d", v))
    if pa.types.is_decimal(t):
        return _per_value(numeric_binary)
    if pa.types.is_date(t):
        return _per_value(lambda v: struct.pack("!i", v.toordinal() - _PG_EPOCH_DAYS))
    if pa.types.is_timestamp(t):
        def ts(v: dt.datetime) -> bytes:
            if v.tzinfo is not None:
                v = v.astimezone(dt.UTC).replace(tzinfo=None)
            delta = v - _PG_EPOCH_TS
            return struct.pack("!q", (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)
        return _per_value(ts)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return _per_value(bytes)
    return text_encoder(t)


def column_encoder(t: pa.DataType, fmt: int) -> Encoder:
    return binary_encoder(t) if fmt == 1 else text_encoder(t)


# ---------------------------------------------------------------- parameters

class ParameterError(ValueError):
    """A parameter value that does not decode as its declared type (SQLSTATE 22P02)."""


def _str_literal(s: str) -> str:
    # Hive string literals take backslash escapes; double the backslash, escape the quote.
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def decode_parameter(value: bytes | None, oid: int, fmt: int) -> str:
    """One parameter as a SQL literal of the engine's dialect."""
    if value is None:
        return "NULL"
    try:
        if fmt == 1:
            return _binary_literal(value, oid)
        text = value.decode("utf-8")
    except (struct.error, UnicodeDecodeError, ValueError) as ex:
        raise ParameterError(f"invalid binary value for parameter of type {oid}: {ex}") from None
    return _text_literal(text, oid)


def _text_literal(text: str, oid: int) -> str:
    try:
        if oid in (INT2, INT4, INT8, OID):
            n = int(text)
            return str(n) if -(2 ** 31) <= n < 2 ** 31 else f"{n}L"
        if oid in (FLOAT4, FLOAT8):
            f = float(text)
            kind = "FLOAT" if oid == FLOAT4 else "DOUBLE"
            return f"CAST({repr(f) if math.isfinite(f) else _str_literal(text)} AS {kind})"
        if oid == NUMERIC:
            d = decimal.Decimal(text)
            return f"{d}BD" if d.is_finite() else "NULL"
        if oid == BOOL:
            low = text.strip().lower()
            if low in ("t", "true", "on", "yes", "1", "y"):
                return "TRUE"
            if low in ("f", "false", "off", "no", "0", "n"):
                return "FALSE"
            raise ParameterError(f"invalid input syntax for type boolean: {text!r}")
        if oid == DATE:
            return f"DATE '{dt.date.fromisoformat(text.strip()).isoformat()}'"
        if oid in (TIMESTAMP, TIMESTAMPTZ):
            v = dt.datetime.fromisoformat(text.strip())
            if v.tzinfo is not None:
                v = v.astimezone(dt.UTC).replace(tzinfo=None)
            return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
        if oid == BYTEA:
            raw = bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode("utf-8")
            return "X'" + raw.hex() + "'"
    except (ValueError, decimal.InvalidOperation) as ex:
        if isinstance(ex, ParameterError):
            raise
        raise ParameterError(f"invalid input syntax for parameter of type {oid}: {text!r}") from None
    return _str_literal(text)


def _binary_literal(b: bytes, oid: int) -> str:
    if oid == BOOL:
        return "TRUE" if b != b"\x00" else "FALSE"
    if oid == INT2:
        return str(struct.unpack("!h", b)[0])
    if oid in (INT4, OID):
        return str(struct.unpack("!i", b)[0])
    if oid == INT8:
        n = struct.unpack("!q", b)[0]
        return str(n) if -(2 ** 31) <= n < 2 ** 31 else f"{n}L"
    if oid == FLOAT4:
        return _text_literal(repr(struct.unpack("!f", b)[0]), FLOAT4)
    if oid == FLOAT8:
        return _text_literal(repr(struct.unpack("!d", b)[0]), FLOAT8)
    if oid == DATE:
        days = struct.unpack("!i", b)[0]
        return f"DATE '{dt.date.fromordinal(_PG_EPOCH_DAYS + days).isoformat()}'"
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        us = struct.unpack("!q", b)[0]
        return f"TIMESTAMP '{(_PG_EPOCH_TS + dt.timedelta(microseconds=us)).isoformat(sep=' ')}'"
    if oid == NUMERIC:
        return f"{numeric_from_binary(b)}BD"
    if oid == BYTEA:
        return "X'" + b.hex() + "'"
    if oid in (TEXT, VARCHAR, BPCHAR, NAME, UNKNOWN, 0, JSON_OID):
        return _str_literal(b.decode("utf-8"))
    raise ParameterError(f"binary format is not supported for parameters of type {oid}")


def numeric_from_binary(b: bytes) -> decimal.Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", b)
    if sign == 0xC000:
        return decimal.Decimal("NaN")
    digits = struct.unpack_from(f"!{ndigits}h", b, 8)
    value = decimal.Decimal(0)
    for i, d in enumerate(digits):
        value += decimal.Decimal(d).scaleb(4 * (weight - i))
    value = value.quantize(decimal.Decimal(1).scaleb(-dscale)) if dscale else value.to_integral_value()
    return -value if sign == 0x4000 else value
