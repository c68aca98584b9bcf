"""Hive's implicit conversions when rows are written into a table's declared types.

* text -> any primitive: parsed as LazySimpleSerDe would (bad values are NULL);
* numbers -> decimal(p,s): rounded HALF_UP to the scale, NULL when too large;
* everything else: Arrow's safe cast (an overflow is an error naming the column).
"""

from __future__ import annotations

import decimal

import pyarrow as pa
import pyarrow.compute as pc

from catalog.formats.textconv import parse_primitive
from catalog.types import HiveType, enforce_length, parse_hive_type

_TEXT = ("string", "varchar", "char")


def hive_cast(arr: pa.Array, hive_type: str | HiveType) -> pa.Array:
    h = parse_hive_type(hive_type) if isinstance(hive_type, str) else hive_type
    target_name = h.name
    src = arr.type
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_string(src) or pa.types.is_large_string(src):
        if target_name not in _TEXT and target_name != "binary" and not h.is_complex:
            return parse_primitive(arr.cast(pa.string()), h).array
        if target_name in ("varchar", "char"):
            return enforce_length(arr.cast(pa.string()), h)
    if target_name == "decimal" and (pa.types.is_integer(src) or pa.types.is_floating(src)):
        return parse_primitive(arr.cast(pa.string()), h).array
    if target_name == "decimal" and pa.types.is_decimal(src):
        return _decimal_to_decimal(arr, h)
    from catalog.types import to_arrow

    out = pc.cast(arr, to_arrow(h))
    if target_name in ("varchar", "char"):
        out = enforce_length(out, h)  # Hive truncates to the declared length (and CHAR ignores padding)
    return out


def _decimal_to_decimal(arr: pa.Array, h: HiveType) -> pa.Array:
    precision, scale = h.params
    target = pa.decimal128(precision, scale)
    if arr.type == target:
        return arr
    if arr.type.scale > scale:
        arr = pc.round(arr, scale, round_mode="half_up")
    wide = pc.cast(arr, pa.decimal128(38, scale))
    if precision < 38:
        limit = pa.scalar(decimal.Decimal(10) ** (precision - scale), pa.decimal128(38, scale))
        wide = pc.if_else(pc.less(pc.abs(wide), limit), wide, pa.scalar(None, wide.type))
    return wide.cast(target)


def partition_text(arr: pa.Array) -> pa.Array:
    """The directory text of typed partition values, one canonical form per value
    (so that PARTITION (y='007') and a dynamic 7 land in the same y=7/ directory)."""
    if pa.types.is_timestamp(arr.type):
        text = pc.strftime(arr, format="%Y-%m-%d %H:%M:%S")
        text = pc.replace_substring_regex(text, r"(\.[0-9]*?)0+$", r"\1")
        return pc.replace_substring_regex(text, r"\.$", "")
    return arr.cast(pa.string())
