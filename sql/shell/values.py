"""How one value looks in the shell: the same text whatever the backend produced it.

Embedded results arrive as Arrow-converted Python values, server results as psycopg's
Python values; both go through ``to_text`` so a script gives the same output either way.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from typing import Any

#: Type names (lower case, without parameters) that are shown right-aligned.
NUMERIC_TYPES = frozenset({
    "tinyint", "smallint", "int", "integer", "bigint", "float", "double", "real", "decimal",
    "numeric", "int2", "int4", "int8", "float4", "float8",
})

#: PostgreSQL type OIDs that psycopg reports, as the Hive type names the engine uses.
PG_TYPE_NAMES = {
    16: "boolean", 17: "binary", 18: "string", 19: "string", 20: "bigint", 21: "smallint",
    23: "int", 25: "string", 700: "float", 701: "double", 1042: "string", 1043: "string",
    1082: "date", 1083: "string", 1114: "timestamp", 1184: "timestamp", 1700: "decimal",
    114: "string", 3802: "string", 1000: "array<boolean>", 1005: "array<smallint>",
    1007: "array<int>", 1016: "array<bigint>", 1009: "array<string>", 1022: "array<double>",
}


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def is_numeric_type(type_name: str) -> bool:
    return type_name.split("(")[0].strip().lower() in NUMERIC_TYPES


def _float_text(v: float) -> str:
    """Java-like spelling of specials (Hive's), Python's shortest repr otherwise."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


def _nested(v: Any) -> Any:
    """A nested value as JSON-able data, in the spelling Hive prints for arrays/maps/structs."""
    if isinstance(v, dict):
        return {str(k): _nested(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):
            return {str(k): _nested(x) for k, x in v}  # Arrow maps arrive as key/value pairs
        return [_nested(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return _float_text(v)
    if isinstance(v, (decimal.Decimal, dt.date, dt.time, bytes)):
        return to_text(v)
    return v


def to_text(value: Any, null: str = "NULL") -> str:
    """The text of one value; ``null`` is what None becomes (formats differ)."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_nested(value), separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


def to_json(value: Any) -> str:
    """JSON text of one value: numbers stay numbers (decimals digit for digit), the rest text."""
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return format(value, "f")
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(_float_text(value))
    if value is None or isinstance(value, (bool, int, float, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_nested(value), separators=(",", ":"), ensure_ascii=False, default=str)
    return json.dumps(to_text(value), ensure_ascii=False)


def display_width(text: str) -> int:
    """Columns ``text`` occupies on a terminal (wide East Asian characters count two)."""
    try:
        from wcwidth import wcswidth
    except ImportError:  # prompt_toolkit brings wcwidth; plain len without it
        return len(text)
    width = wcswidth(text)
    return len(text) if width < 0 else width
