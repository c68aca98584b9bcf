import pyarrow as pa
import pytest

from catalog.errors import HiveTypeError
from catalog.types import (
    format_hive_type,
    from_arrow,
    normalize_hive_type,
    parse_hive_type,
    to_arrow,
)

CASES = [
    ("TINYINT", "tinyint", pa.int8()),
    ("smallint", "smallint", pa.int16()),
    ("INT", "int", pa.int32()),
    ("integer", "int", pa.int32()),
    ("BIGINT", "bigint", pa.int64()),
    ("BOOLEAN", "boolean", pa.bool_()),
    ("FLOAT", "float", pa.float32()),
    ("DOUBLE", "double", pa.float64()),
    ("DOUBLE PRECISION", "double", pa.float64()),
    ("DECIMAL", "decimal(10,0)", pa.decimal128(10, 0)),
    ("DECIMAL(38, 18)", "decimal(38,18)", pa.decimal128(38, 18)),
    ("STRING", "string", pa.string()),
    ("VARCHAR(10)", "varchar(10)", pa.string()),
    ("CHAR(3)", "char(3)", pa.string()),
    ("DATE", "date", pa.date32()),
    ("TIMESTAMP", "timestamp", pa.timestamp("us")),
    ("BINARY", "binary", pa.binary()),
    ("ARRAY<INT>", "array<int>", pa.list_(pa.int32())),
    ("MAP<STRING, DECIMAL(10,2)>", "map<string,decimal(10,2)>", pa.map_(pa.string(), pa.decimal128(10, 2))),
    (
        "STRUCT<a:INT, `b c`:ARRAY<STRUCT<x:DATE>>>",
        "struct<a:int,`b c`:array<struct<x:date>>>",
        pa.struct([("a", pa.int32()), ("b c", pa.list_(pa.struct([("x", pa.date32())])))]),
    ),
    (
        "array<map<int,array<varchar(5)>>>",
        "array<map<int,array<varchar(5)>>>",
        pa.list_(pa.map_(pa.int32(), pa.list_(pa.string()))),
    ),
]


@pytest.mark.parametrize("text,canonical,arrow", CASES)
def test_parse_format_and_arrow(text, canonical, arrow):
    t = parse_hive_type(text)
    assert format_hive_type(t) == canonical
    assert normalize_hive_type(canonical) == canonical  # canonical text is a fixed point
    assert to_arrow(text) == arrow


@pytest.mark.parametrize("text,canonical,arrow", [c for c in CASES if not c[1].startswith(("varchar", "char", "array<map<int,array<varchar"))])
def test_from_arrow_inverts_to_arrow(text, canonical, arrow):
    assert format_hive_type(from_arrow(arrow)) == canonical


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("ARRAY<INT", "expected '>'"),
        ("MAP<INT>", "expected ','"),
        ("MAP<ARRAY<INT>,INT>", "map keys must be a primitive"),
        ("STRUCT<a INT>", "expected ':'"),
        ("STRUCT<a:INT,a:INT>", "duplicate struct field"),
        ("DECIMAL(40,2)", "precision 40"),
        ("DECIMAL(5,6)", "scale 6"),
        ("VARCHAR", "needs exactly one length"),
        ("FOO", "unknown type 'FOO'"),
        ("INT INT", "unexpected 'INT'"),
        ("", "empty type"),
        ("ARRAY<INT>>", "unexpected '>'"),
    ],
)
def test_bad_types_are_named(text, fragment):
    with pytest.raises(HiveTypeError) as e:
        parse_hive_type(text)
    assert fragment in str(e.value)
    assert repr(text) in str(e.value)


def test_wider_arrow_types_map_to_hive_types_that_hold_them():
    assert format_hive_type(from_arrow(pa.uint32())) == "bigint"
    assert format_hive_type(from_arrow(pa.uint64())) == "decimal(20,0)"
    assert format_hive_type(from_arrow(pa.large_string())) == "string"
    assert format_hive_type(from_arrow(pa.timestamp("ns", tz="UTC"))) == "timestamp"
    with pytest.raises(HiveTypeError):
        from_arrow(pa.time64("us"))
