"""Each format written by the catalog, read back by the catalog and by an independent
reader (pyarrow / DuckDB) of the same files."""

import datetime
import decimal
import glob
import os

import duckdb
import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest

from catalog import MANAGED, Column, StorageFormat, Table
from catalog.source import read_all

PRIMITIVE = [("ti", "tinyint"), ("si", "smallint"), ("i", "int"), ("bi", "bigint"), ("b", "boolean"),
             ("f", "float"), ("d", "double"), ("dec", "decimal(20,4)"), ("s", "string"), ("vc", "varchar(8)"),
             ("dt", "date"), ("ts", "timestamp")]
COMPLEX = [("arr", "array<int>"), ("m", "map<string,double>"), ("st", "struct<a:string,b:array<bigint>>")]


def _data(with_complex):
    n = 50
    cols = {
        "ti": pa.array([i % 100 - 50 if i % 9 else None for i in range(n)], pa.int8()),
        "si": pa.array([i * 300 for i in range(n)], pa.int16()),
        "i": pa.array([i * 70000 for i in range(n)], pa.int32()),
        "bi": pa.array([i * 10**12 for i in range(n)], pa.int64()),
        "b": pa.array([i % 3 == 0 for i in range(n)]),
        "f": pa.array([i / 4 for i in range(n)], pa.float32()),
        "d": pa.array([i / 3 for i in range(n)], pa.float64()),
        "dec": pa.array([decimal.Decimal(f"{i}.{i:04d}") for i in range(n)], pa.decimal128(20, 4)),
        "s": pa.array([None if i % 5 == 0 else f"s{i}" for i in range(n)]),
        "vc": pa.array([f"v{i}" for i in range(n)]),
        "dt": pa.array([datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in range(n)]),
        "ts": pa.array([datetime.datetime(2020, 1, 1, 12, 0, 0, i * 1000) for i in range(n)], pa.timestamp("us")),
    }
    if with_complex:
        cols["arr"] = pa.array([[i, i + 1] if i % 4 else None for i in range(n)], pa.list_(pa.int32()))
        cols["m"] = pa.array([[("k", i / 2)] for i in range(n)], pa.map_(pa.string(), pa.float64()))
        cols["st"] = pa.array([{"a": f"a{i}", "b": [i]} for i in range(n)],
                              pa.struct([("a", pa.string()), ("b", pa.list_(pa.int64()))]))
    return pa.table(cols)


FORMATS = [("parquet", True), ("orc", True), ("textfile", True), ("json", True), ("csv", False)]


@pytest.mark.parametrize("fmt,with_complex", FORMATS)
def test_write_then_read(cat, warehouse, fmt, with_complex):
    cols = PRIMITIVE + (COMPLEX if with_complex else [])
    cat.create_table(Table("default", "t", MANAGED, tuple(Column(n, t) for n, t in cols),
                           storage=StorageFormat(format=fmt)))
    data = _data(with_complex)
    cat.write("default", "t", data)
    back = read_all(cat.scan_source("default", "t"))
    assert back.equals(data), (back.to_pylist()[:2], data.to_pylist()[:2])

    files = glob.glob(os.path.join(warehouse, "default.db", "t", "*"))
    assert files
    independent = _independent(fmt, files[0], data.schema, with_complex)
    assert independent.equals(data.select(independent.schema.names).cast(independent.schema))


def _independent(fmt, path, schema, with_complex):
    if fmt == "parquet":
        return pq.read_table(path).cast(schema)
    if fmt == "orc":
        return orc.read_table(path).cast(schema)
    con = duckdb.connect()
    duck_types = {"ti": "TINYINT", "si": "SMALLINT", "i": "INT", "bi": "BIGINT", "b": "BOOLEAN", "f": "FLOAT",
                  "d": "DOUBLE", "dec": "DECIMAL(20,4)", "s": "VARCHAR", "vc": "VARCHAR", "dt": "DATE",
                  "ts": "TIMESTAMP"}
    if fmt == "json":
        if with_complex:
            duck_types.update({"arr": "INT[]", "m": "MAP(VARCHAR, DOUBLE)", "st": "STRUCT(a VARCHAR, b BIGINT[])"})
        t = con.execute("SELECT * FROM read_json(?, format='newline_delimited', columns=?)",
                        [path, duck_types]).to_arrow_table()
        return t.cast(pa.schema([schema.field(n) for n in t.schema.names]))
    if fmt == "csv":
        t = con.execute("SELECT * FROM read_csv(?, header=false, columns=?, auto_detect=false)",
                        [path, duck_types]).to_arrow_table()
        return t.cast(schema)
    # delimited text: DuckDB can split fields on \x01; complex columns are not its business
    all_types = dict(duck_types)
    if with_complex:
        all_types.update({"arr": "VARCHAR", "m": "VARCHAR", "st": "VARCHAR"})
    t = con.execute("SELECT * FROM read_csv(?, delim=chr(1), header=false, nullstr='\\N', quote='', escape='', "
                    "columns=?, auto_detect=false)", [path, all_types]).to_arrow_table()
    t = t.select(list(duck_types))
    return t.cast(pa.schema([schema.field(n) for n in t.schema.names]))


def test_text_file_layout_is_hive_lazy_simple(cat, warehouse):
    cat.create_table(Table("default", "t", MANAGED, (Column("i", "int"), Column("l", "array<string>"),
                                                     Column("m", "map<string,int>"), Column("s", "string")),
                           storage=StorageFormat(format="textfile")))
    cat.write("default", "t", pa.table({"i": pa.array([1, None], pa.int32()), "l": [["a", "b"], []],
                                        "m": pa.array([[("k", 1), ("j", 2)], None], pa.map_(pa.string(), pa.int32())),
                                        "s": ["x", None]}))
    (path,) = glob.glob(os.path.join(warehouse, "default.db", "t", "*"))
    assert open(path, "rb").read() == b"1\x01a\x02b\x01k\x031\x02j\x032\x01x\n\\N\x01\x01\\N\x01\\N\n"


@pytest.mark.parametrize("fmt,prop,value,check", [
    ("parquet", "parquet.compression", "ZSTD", lambda p: pq.ParquetFile(p).metadata.row_group(0).column(0).compression == "ZSTD"),
    ("orc", "orc.compress", "SNAPPY", lambda p: orc.ORCFile(p).compression == "SNAPPY"),
])
def test_codec_table_properties(cat, warehouse, fmt, prop, value, check):
    cat.create_table(Table("default", "t", MANAGED, (Column("a", "int"),), storage=StorageFormat(format=fmt),
                           properties=((prop, value),)))
    cat.write("default", "t", pa.table({"a": pa.array([1, 2], pa.int32())}))
    (path,) = glob.glob(os.path.join(warehouse, "default.db", "t", "*"))
    assert check(path)


def test_varchar_truncates_whatever_the_source_type(cat):
    cat.create_table(Table("default", "v", MANAGED, (Column("s", "varchar(2)"),)))
    cat.write("default", "v", pa.table({"s": pa.array([12345, 6], pa.int64())}))
    assert sorted(read_all(cat.scan_source("default", "v")).column("s").to_pylist()) == ["12", "6"]
