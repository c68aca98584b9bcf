"""Delimited text (LazySimpleSerDe semantics), CSV and JSON reading, checked against
DuckDB reading the same files."""

import bz2
import gzip
import os

import duckdb
import pyarrow as pa
import pytest

from catalog import EXTERNAL, Column, StorageFormat, Table
from catalog.errors import DataFormatError
from catalog.source import read_all


class Counter:
    def __init__(self):
        self.n = 0

    def add(self, k):
        self.n += k


def _external(cat, name, location, columns, storage=StorageFormat(format="textfile"), props=()):
    cat.create_table(Table("default", name, EXTERNAL, tuple(Column(n, t) for n, t in columns),
                           storage=storage, location=str(location), properties=props))


def _rows(n):
    lines = []
    for i in range(n):
        s = "\\N" if i % 7 == 0 else f"name {i}"
        lines.append(f"{i}\x01{s}\x01{i * 1.5}\x01{i % 100}.25\x012021-01-{(i % 28) + 1:02d}\x01"
                     f"2021-01-01 10:00:{i % 60:02d}.5\x01{'true' if i % 2 else 'false'}")
    return "\n".join(lines) + "\n"


COLS = [("id", "bigint"), ("s", "string"), ("f", "double"), ("d", "decimal(10,2)"),
        ("dt", "date"), ("ts", "timestamp"), ("b", "boolean")]


def _duck(path):
    con = duckdb.connect()
    types = {"id": "BIGINT", "s": "VARCHAR", "f": "DOUBLE", "d": "DECIMAL(10,2)", "dt": "DATE",
             "ts": "TIMESTAMP", "b": "BOOLEAN"}
    return con.execute(
        "SELECT * FROM read_csv(?, delim=chr(1), header=false, nullstr='\\N', quote='', escape='', "
        "columns=?, auto_detect=false) ORDER BY id", [path, types]
    ).to_arrow_table()


def test_primitive_types_match_duckdb(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "part-0").write_text(_rows(500))
    _external(cat, "t", d, COLS)
    ours = read_all(cat.scan_source("default", "t")).sort_by("id")
    theirs = _duck(str(d / "part-0"))
    assert ours.to_pylist() == theirs.cast(ours.schema).to_pylist()


def test_line_aligned_splits_read_every_row_once(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "part-0").write_text(_rows(3000))
    _external(cat, "t", d, COLS)
    whole = read_all(cat.scan_source("default", "t")).sort_by("id")
    src = cat.scan_source("default", "t", split_bytes=997)  # boundaries land mid-line
    splits = src.splits()
    assert len(splits) > 50
    assert all(s.length is not None for s in splits)
    pieces = read_all(src).sort_by("id")
    assert pieces.equals(whole)
    assert pieces.num_rows == 3000


@pytest.mark.parametrize("ext,opener", [(".gz", gzip.open), (".bz2", bz2.open), (".zst", None)])
def test_compressed_text_is_transparent(cat, tmp_path, ext, opener):
    d = tmp_path / "ext"
    d.mkdir()
    body = _rows(200).encode()
    path = d / f"part-0{ext}"
    if opener is None:
        with pa.CompressedOutputStream(str(path), "zstd") as out:
            out.write(body)
    else:
        with opener(path, "wb") as out:
            out.write(body)
    _external(cat, "t", d, COLS)
    src = cat.scan_source("default", "t", split_bytes=100)
    assert len(src.splits()) == 1  # a compressed file is one split
    plain = tmp_path / "plain.txt"
    plain.write_bytes(body)
    assert read_all(src).sort_by("id").to_pylist() == _duck(str(plain)).cast(src.schema).to_pylist()


def test_complex_types_with_hive_delimiters(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text(
        "1\x01a\x02b\x01k1\x031\x02k2\x032\x01x\x021\x032\x01\x31\x03\x32\x02\x33\x03\x34\n"
        "2\x01\\N\x01\\N\x01\\N\x01\\N\n"
        "3\x01c\n"
    )
    _external(cat, "t", d, [("id", "int"), ("arr", "array<string>"), ("m", "map<string,int>"),
                            ("st", "struct<n:string,l:array<int>>"), ("aa", "array<array<int>>")])
    rows = read_all(cat.scan_source("default", "t")).sort_by("id").to_pylist()
    assert rows[0] == {"id": 1, "arr": ["a", "b"], "m": [("k1", 1), ("k2", 2)],
                       "st": {"n": "x", "l": [1, 2]}, "aa": [[1, 2], [3, 4]]}
    assert rows[1] == {"id": 2, "arr": None, "m": None, "st": None, "aa": None}
    assert rows[2] == {"id": 3, "arr": ["c"], "m": None, "st": None, "aa": None}  # missing fields: NULL


def test_custom_delimiters_null_format_and_escapes(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text("1,a\\,b,x|y,NULL\n2,,p,q:1\n")
    storage = StorageFormat(format="textfile", field_delim=",", collection_delim="|", map_key_delim=":",
                            null_format="NULL", escape="\\")
    _external(cat, "t", d, [("id", "int"), ("s", "string"), ("l", "array<string>"), ("m", "map<string,int>")],
              storage)
    rows = read_all(cat.scan_source("default", "t")).sort_by("id").to_pylist()
    assert rows == [
        {"id": 1, "s": "a,b", "l": ["x", "y"], "m": None},
        {"id": 2, "s": "", "l": ["p"], "m": [("q", 1)]},
    ]


BAD = "1\x01ok\x012020-01-01\nx\x01fine\x012020-01-02\n3\x01also\x012020-02-30\n4\x01last\x012020-03-01\n"


def test_bad_fields_become_null_and_are_counted(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text(BAD)
    _external(cat, "t", d, [("id", "int"), ("s", "string"), ("dt", "date")])
    counter = Counter()
    rows = read_all(cat.scan_source("default", "t", bad_fields=counter)).to_pylist()
    assert [r["id"] for r in rows] == [1, None, 3, 4]
    assert [r["dt"] for r in rows][2] is None
    assert counter.n == 2


def test_strict_mode_names_file_line_and_column(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text(BAD)
    _external(cat, "t", d, [("id", "int"), ("s", "string"), ("dt", "date")])
    with pytest.raises(DataFormatError) as e:
        read_all(cat.scan_source("default", "t", strict=True))
    msg = str(e.value)
    assert str(d / "f") in msg and "line 2" in msg and "column id" in msg and "'x'" in msg


def test_strict_mode_line_numbers_inside_later_splits(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    lines = [f"{i}\x01v" for i in range(400)]
    lines[321] = "oops\x01v"
    (d / "f").write_text("\n".join(lines) + "\n")
    _external(cat, "t", d, [("id", "int"), ("s", "string")])
    with pytest.raises(DataFormatError, match="line 322, column id"):
        read_all(cat.scan_source("default", "t", strict=True, split_bytes=256))


def test_header_lines_skipped(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text("id,name\n1,a\n2,b\n")
    _external(cat, "t", d, [("id", "int"), ("name", "string")], StorageFormat(format="csv", field_delim=","),
              props=(("skip.header.line.count", "1"),))
    assert read_all(cat.scan_source("default", "t")).to_pylist() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def test_csv_quoting_matches_duckdb(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f.csv").write_text('1,"a, b",2.5\n2,"say ""hi""",\n3,,7\n')
    _external(cat, "t", d, [("id", "int"), ("s", "string"), ("x", "double")], StorageFormat(format="csv", field_delim=","))
    ours = read_all(cat.scan_source("default", "t")).sort_by("id")
    theirs = duckdb.connect().execute(
        "SELECT * FROM read_csv(?, header=false, columns={'id':'INT','s':'VARCHAR','x':'DOUBLE'}) ORDER BY id",
        [str(d / "f.csv")]).to_arrow_table()
    assert ours.to_pylist() == theirs.cast(ours.schema).to_pylist()


def test_csv_ragged_rows_counted_or_strict(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f.csv").write_text("1,a\n2\n3,c\n")
    _external(cat, "t", d, [("id", "int"), ("s", "string")], StorageFormat(format="csv", field_delim=","))
    counter = Counter()
    assert [r["id"] for r in read_all(cat.scan_source("default", "t", bad_fields=counter)).to_pylist()] == [1, 3]
    assert counter.n == 1
    with pytest.raises(DataFormatError, match="line 2"):
        read_all(cat.scan_source("default", "t", strict=True))


def test_json_lines_match_duckdb_and_bad_values(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f.json").write_text(
        '{"id": 1, "s": "a", "l": [1, 2], "st": {"x": 1.5}, "m": {"k": 1}}\n'
        '{"ID": 2, "s": null, "extra": true}\n'
        '{"id": 3, "s": "c", "l": [], "st": null, "m": {}}\n'
    )
    cols = [("id", "int"), ("s", "string"), ("l", "array<bigint>"), ("st", "struct<x:double>"), ("m", "map<string,int>")]
    _external(cat, "t", d, cols, StorageFormat(format="json"))
    ours = read_all(cat.scan_source("default", "t")).sort_by("id").to_pylist()
    assert ours[0] == {"id": 1, "s": "a", "l": [1, 2], "st": {"x": 1.5}, "m": [("k", 1)]}
    assert ours[1]["id"] == 2 and ours[1]["s"] is None
    duck = duckdb.connect().execute(
        "SELECT id, s FROM read_json(?, format='newline_delimited', columns={'id':'INT','s':'VARCHAR'}) ORDER BY id",
        [str(d / "f.json")]).fetchall()
    # DuckDB matches keys case-sensitively ("ID" -> NULL); Hive's JsonSerDe, and we, do not
    assert [(r["id"], r["s"]) for r in ours if r["id"] != 2] == [r for r in duck if r[0] is not None]

    (d / "g.json").write_text('{"id": "seven", "s": "x"}\n')
    counter = Counter()
    rows = read_all(cat.scan_source("default", "t", bad_fields=counter)).to_pylist()
    assert counter.n == 1 and {"id": None, "s": "x", "l": None, "st": None, "m": None} in rows
    with pytest.raises(DataFormatError, match=r"g\.json, line 1, column id"):
        read_all(cat.scan_source("default", "t", strict=True))


def test_unreadable_file_is_named(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    _external(cat, "t", d, [("id", "int")], StorageFormat(format="parquet"))
    with pytest.raises(DataFormatError, match="broken.parquet"):
        read_all(cat.scan_source("default", "t"))
    (d / "broken.parquet").unlink()
    (d / "bad.json").write_text("{not json\n")
    _external(cat, "j", d, [("id", "int")], StorageFormat(format="json"))
    with pytest.raises(DataFormatError, match=r"bad\.json, line 1"):
        read_all(cat.scan_source("default", "j"))


def test_hidden_files_are_not_data(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text("1\n")
    (d / "_SUCCESS").write_text("")
    (d / ".f.crc").write_text("garbage\n")
    os.makedirs(d / ".lamna-staging-x")
    (d / ".lamna-staging-x" / "p").write_text("99\n")
    _external(cat, "t", d, [("id", "int")])
    assert read_all(cat.scan_source("default", "t")).column("id").to_pylist() == [1]


def test_texts_arrow_accepts_but_hive_does_not(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text("0x1F\x012020-01-01 10\n+7\x012020-01-01 10:11:12\n")
    _external(cat, "t", d, [("i", "int"), ("ts", "timestamp")])
    counter = Counter()
    rows = read_all(cat.scan_source("default", "t", bad_fields=counter)).to_pylist()
    assert [r["i"] for r in rows] == [None, 7]
    assert rows[0]["ts"] is None and rows[1]["ts"].second == 12
    assert counter.n == 2


def test_tpch_tbl_files_match_duckdb(cat, tmp_path):
    """dbgen's pipe-delimited .tbl files as an external table (a trailing '|' included)."""
    import shutil
    import subprocess
    import sys

    gen = os.path.join(os.path.dirname(sys.executable), "tpchgen-cli")
    if not os.path.exists(gen) and shutil.which("tpchgen-cli") is None:
        pytest.skip("tpchgen-cli not installed")
    subprocess.run([gen if os.path.exists(gen) else "tpchgen-cli", "-s", "0.001", "--tables=lineitem",
                    f"--output-dir={tmp_path}"], check=True, capture_output=True)
    d = tmp_path / "li"
    d.mkdir()
    os.rename(tmp_path / "lineitem.tbl", d / "lineitem.tbl")
    cols = [("l_orderkey", "bigint"), ("l_partkey", "bigint"), ("l_suppkey", "bigint"), ("l_linenumber", "int"),
            ("l_quantity", "decimal(15,2)"), ("l_extendedprice", "decimal(15,2)"), ("l_discount", "decimal(15,2)"),
            ("l_tax", "decimal(15,2)"), ("l_returnflag", "char(1)"), ("l_linestatus", "char(1)"),
            ("l_shipdate", "date"), ("l_commitdate", "date"), ("l_receiptdate", "date"),
            ("l_shipinstruct", "char(25)"), ("l_shipmode", "char(10)"), ("l_comment", "varchar(44)")]
    _external(cat, "lineitem", d, cols, StorageFormat(format="textfile", field_delim="|"))
    counter = Counter()
    ours = read_all(cat.scan_source("default", "lineitem", bad_fields=counter, split_bytes=100_000))
    assert counter.n == 0
    duck_cols = {n: {"bigint": "BIGINT", "int": "INT", "date": "DATE"}.get(t, "DECIMAL(15,2)" if t.startswith("dec")
                                                                          else "VARCHAR") for n, t in cols}
    duck_cols["extra_field"] = "VARCHAR"
    theirs = duckdb.connect().execute(
        "SELECT * EXCLUDE (extra_field) FROM read_csv(?, delim='|', header=false, quote='', auto_detect=false, columns=?)",
        [str(d / "lineitem.tbl"), duck_cols]).to_arrow_table()
    keys = [("l_orderkey", "ascending"), ("l_linenumber", "ascending")]
    assert ours.num_rows > 5000
    assert ours.sort_by(keys).equals(theirs.cast(ours.schema).sort_by(keys))


def test_json_keys_match_case_insensitively(cat, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f.json").write_text('{"ID": 1, "Name": "a"}\n{"ID": 2, "Name": "b"}\n')
    _external(cat, "t", d, [("id", "int"), ("name", "string")], StorageFormat(format="json"))
    assert read_all(cat.scan_source("default", "t")).to_pylist() == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def test_nanosecond_timestamps_in_parquet_are_truncated_to_micros(cat, tmp_path):
    import pyarrow.parquet as pq

    d = tmp_path / "ext"
    d.mkdir()
    pq.write_table(pa.table({"ts": pa.array([1_600_000_000_123_456_789], pa.timestamp("ns"))}), d / "f.parquet",
                   use_deprecated_int96_timestamps=True)
    _external(cat, "t", d, [("ts", "timestamp")], StorageFormat(format="parquet"))
    (v,) = read_all(cat.scan_source("default", "t")).column("ts").to_pylist()
    assert v.microsecond == 123456


def _count_rows(source, split):
    return sum(b.num_rows for b in source.read_split(split))


@pytest.mark.parametrize("master", ["local[2]", "local-cluster[2]"])
def test_bad_field_counts_reach_the_driver_through_an_accumulator(cat, tmp_path, master):
    import functools

    from rdd import Context

    d = tmp_path / "ext"
    d.mkdir()
    for i in range(3):
        (d / f"f{i}").write_text(BAD)
    _external(cat, "t", d, [("id", "int"), ("s", "string"), ("dt", "date")])
    ctx = Context(master)
    try:
        acc = ctx.accumulator(0)
        src = cat.scan_source("default", "t", bad_fields=acc)
        rows = ctx.parallelize(src.splits(), 3).map(functools.partial(_count_rows, src)).sum()
        assert rows == 12 and acc.value == 6
    finally:
        ctx.stop()


@pytest.mark.parametrize("fmt", ["textfile", "csv", "json"])
def test_compressed_files_are_parsed_in_line_aligned_chunks(cat, tmp_path, fmt):
    d = tmp_path / "ext"
    d.mkdir()
    if fmt == "json":
        body = "".join(f'{{"i": {i}, "s": "v{i}"}}\n' for i in range(5000))
        body = body.replace('{"i": 4321,', '{"i": "bad",')
    else:
        sep = "," if fmt == "csv" else "\x01"
        body = "".join(f"{i}{sep}v{i}\n" for i in range(5000)).replace(f"4321{sep}", f"bad{sep}")
    with gzip.open(d / "f.gz", "wt") as f:
        f.write(body)
    storage = StorageFormat(format=fmt, field_delim="," if fmt == "csv" else "\x01")
    _external(cat, "t", d, [("i", "int"), ("s", "string")], storage)
    counter = Counter()
    src = cat.scan_source("default", "t", bad_fields=counter, split_bytes=4096)  # many chunks
    batches = [b for s in src.splits() for b in src.read_split(s)]
    assert len(batches) > 5
    ids = sorted(i for b in batches for i in b.column("i").to_pylist() if i is not None)
    assert ids == [i for i in range(5000) if i != 4321] and counter.n == 1
    with pytest.raises(DataFormatError, match="line 4322, column i"):
        read_all(cat.scan_source("default", "t", strict=True, split_bytes=4096))
