"""SQL types as Arrow types, and Hive/Spark coercion rules between them."""

from __future__ import annotations

import pyarrow as pa

BOOL = pa.bool_()
INT8 = pa.int8()
INT16 = pa.int16()
INT32 = pa.int32()
INT64 = pa.int64()
FLOAT32 = pa.float32()
FLOAT64 = pa.float64()
STRING = pa.string()
DATE = pa.date32()
TIMESTAMP = pa.timestamp("us")
INTERVAL = pa.month_day_nano_interval()
NULL = pa.null()

_INT_RANK = {INT8: 1, INT16: 2, INT32: 3, INT64: 4}
# Digits an integer type needs when widened to a decimal (Hive/Spark).
_INT_DIGITS = {INT8: 3, INT16: 5, INT32: 10, INT64: 20}
MAX_PRECISION = 38


class TypeError_(Exception):
    """Two types have no common type; the binder turns it into a BindError."""


def is_integer(t: pa.DataType) -> bool:
    return t in _INT_RANK


def is_decimal(t: pa.DataType) -> bool:
    return pa.types.is_decimal(t)


def is_floating(t: pa.DataType) -> bool:
    return pa.types.is_floating(t)


def is_numeric(t: pa.DataType) -> bool:
    return is_integer(t) or is_decimal(t) or is_floating(t)


def is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or t == pa.string_view()


def is_temporal(t: pa.DataType) -> bool:
    return pa.types.is_date(t) or pa.types.is_timestamp(t)


def decimal(precision: int, scale: int) -> pa.DataType:
    """A decimal type bounded like Spark's DecimalType.adjustPrecisionScale."""
    if precision > MAX_PRECISION:
        int_digits = precision - scale
        min_scale = min(scale, 6)
        scale = max(MAX_PRECISION - int_digits, min_scale)
        precision = MAX_PRECISION
    return pa.decimal128(max(precision, 1), max(scale, 0))


def as_decimal(t: pa.DataType) -> pa.DataType:
    if is_decimal(t):
        return t
    if is_integer(t):
        return pa.decimal128(_INT_DIGITS[t], 0)
    raise TypeError_(f"{t} is not exact")


def common_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """Hive's common type of two operands (for comparisons, CASE, UNION, IN)."""
    if a == b:
        return a
    if a == NULL:
        return b
    if b == NULL:
        return a
    if is_integer(a) and is_integer(b):
        return a if _INT_RANK[a] >= _INT_RANK[b] else b
    if is_floating(a) or is_floating(b):
        if is_numeric(a) and is_numeric(b):
            return FLOAT64
    if is_numeric(a) and is_numeric(b):
        da, db = as_decimal(a), as_decimal(b)
        scale = max(da.scale, db.scale)
        whole = max(da.precision - da.scale, db.precision - db.scale)
        return decimal(whole + scale, scale)
    if is_string(a) and is_string(b):
        return STRING
    if (is_string(a) and is_numeric(b)) or (is_numeric(a) and is_string(b)):
        return FLOAT64  # Hive compares strings with numbers as doubles
    if (is_string(a) and is_temporal(b)) or (is_temporal(a) and is_string(b)):
        return b if is_temporal(b) else a
    if is_temporal(a) and is_temporal(b):
        return TIMESTAMP
    if a == BOOL and b == BOOL:
        return BOOL
    raise TypeError_(f"no common type for {type_name(a)} and {type_name(b)}")


def arithmetic_type(op: str, a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """Result type of ``a op b`` for + - * / % with Hive/Spark rules."""
    if a == NULL:
        a = b if b != NULL else INT32
    if b == NULL:
        b = a
    if is_string(a):
        a = FLOAT64
    if is_string(b):
        b = FLOAT64
    if not (is_numeric(a) and is_numeric(b)):
        raise TypeError_(f"cannot apply '{op}' to {type_name(a)} and {type_name(b)}")
    if op == "/":
        if is_decimal(a) or is_decimal(b):
            if is_floating(a) or is_floating(b):
                return FLOAT64
            da, db = as_decimal(a), as_decimal(b)
            scale = max(6, da.scale + db.precision + 1)
            return decimal(da.precision - da.scale + db.scale + scale, scale)
        return FLOAT64
    if is_floating(a) or is_floating(b):
        return FLOAT64
    if is_integer(a) and is_integer(b):
        return common_type(a, b)
    da, db = as_decimal(a), as_decimal(b)
    p1, s1, p2, s2 = da.precision, da.scale, db.precision, db.scale
    if op in ("+", "-"):
        scale = max(s1, s2)
        return decimal(max(p1 - s1, p2 - s2) + scale + 1, scale)
    if op == "*":
        return decimal(p1 + p2 + 1, s1 + s2)
    if op == "%":
        scale = max(s1, s2)
        return decimal(min(p1 - s1, p2 - s2) + scale, scale)
    raise AssertionError(op)


def type_name(t: pa.DataType) -> str:
    """The Hive spelling of an Arrow type (for errors, DESCRIBE and EXPLAIN)."""
    if t == BOOL:
        return "boolean"
    names = {INT8: "tinyint", INT16: "smallint", INT32: "int", INT64: "bigint",
             FLOAT32: "float", FLOAT64: "double", DATE: "date", NULL: "void"}
    if t in names:
        return names[t]
    if is_string(t):
        return "string"
    if is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if t == INTERVAL:
        return "interval"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{type_name(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{type_name(t.key_type)},{type_name(t.item_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{type_name(f.type)}" for f in t) + ">"
    return str(t)


def normalize(t: pa.DataType) -> pa.DataType:
    """The engine's canonical physical type: views and large variants become plain."""
    if t == pa.string_view() or pa.types.is_large_string(t):
        return STRING
    if t == pa.binary_view() or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        return TIMESTAMP
    if pa.types.is_date64(t):
        return DATE
    if pa.types.is_large_list(t) or pa.types.is_list_view(t) if hasattr(pa.types, "is_list_view") else False:
        return pa.list_(normalize(t.value_type))
    if pa.types.is_list(t):
        return pa.list_(normalize(t.value_type))
    if pa.types.is_map(t):
        return pa.map_(normalize(t.key_type), normalize(t.item_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, normalize(f.type)) for f in t])
    if pa.types.is_dictionary(t):
        return normalize(t.value_type)
    return t


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, normalize(f.type)) for f in schema])
