"""CHAR(n), VARCHAR(n) and BINARY as Hive stores them, through the real engine.

* CHAR(n): text files hold the value padded to n; the engine holds it without the
  padding (what Hive compares, hashes and measures), so comparisons ignore trailing
  spaces as in Hive. Longer values are cut to n.
* VARCHAR(n): values are cut to n characters on every write and on read.
* BINARY in delimited text: base64 in the file, bytes in the table; plain text that is
  not base64 reads as its own bytes (Hive's ``decodeIfNeeded``).
"""

from __future__ import annotations

import base64
import glob
import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sql


@pytest.fixture
def conn(tmp_path):
    c = sql.connect(warehouse=str(tmp_path / "wh"))
    yield c
    c.close()


def _rows(conn, query):
    cur = conn.cursor()
    cur.execute(query)
    return cur.fetchall()


def _data_files(tmp_path, table):
    return sorted(f for f in glob.glob(str(tmp_path / "wh" / "default.db" / table / "**" / "*"), recursive=True)
                  if os.path.isfile(f) and not os.path.basename(f).startswith((".", "_")))


NAMES = ["ab", "abc  ", "x", "", "abcdefgh", None, "héllo wörld"]


@pytest.mark.parametrize("fmt", ["TEXTFILE", "PARQUET", "ORC", "JSONFILE", "CSV"])
def test_char_is_cut_to_n_and_compared_without_padding(conn, tmp_path, fmt):
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE c (id INT, c CHAR(5)) STORED AS {fmt}")
    cur.execute("CREATE TABLE src (id INT, s STRING) STORED AS PARQUET")
    cur.execute("INSERT INTO src VALUES " + ", ".join(
        f"({i}, {'NULL' if v is None else repr(v)})" for i, v in enumerate(NAMES)))
    cur.execute("INSERT INTO c SELECT id, s FROM src")
    duck = duckdb.connect()
    duck.register("src", pa.table({"id": pa.array(range(len(NAMES)), pa.int32()), "s": pa.array(NAMES, pa.string())}))
    expected_value = "rtrim(substr(s, 1, 5), ' ')"
    assert sorted(_rows(conn, "SELECT id, c, length(c) FROM c"), key=lambda r: r[0]) == \
        duck.execute(f"SELECT id, {expected_value}, length({expected_value}) FROM src ORDER BY id").fetchall()
    # Hive compares CHAR without its trailing spaces: 'abc  ' equals 'abc'
    assert _rows(conn, "SELECT id FROM c WHERE c = 'abc' ORDER BY id") == [(1,)]
    assert _rows(conn, "SELECT id FROM c WHERE c IN ('ab', 'abcde') ORDER BY id") == [(0,), (4,)]
    assert _rows(conn, "SELECT count(*) FROM c a JOIN c b ON a.c = b.c") == \
        duck.execute("SELECT count(*) FROM src a JOIN src b ON rtrim(substr(a.s, 1, 5), ' ') = "
                     "rtrim(substr(b.s, 1, 5), ' ')").fetchall()


def test_text_files_hold_char_padded_and_read_back_stripped(conn, tmp_path):
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (c CHAR(4), v VARCHAR(3)) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
                "STORED AS TEXTFILE")
    cur.execute("INSERT INTO t VALUES ('a', 'abcdef'), ('abcdefg', 'x '), (NULL, NULL), ('', '')")
    [path] = _data_files(tmp_path, "t")
    with open(path, encoding="utf-8") as f:
        lines = sorted(f.read().splitlines())
    assert lines == sorted(["a   |abc", "abcd|x ", "\\N|\\N", "    |"])
    assert sorted(_rows(conn, "SELECT c, v FROM t"), key=str) == sorted(
        [("a", "abc"), ("abcd", "x "), (None, None), ("", "")], key=str)


def test_hand_written_text_is_cut_to_the_declared_lengths(conn, tmp_path):
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / "data.txt").write_text("ab|a long value\nabcdefgh  |short\nz    |\n", encoding="utf-8")
    cur = conn.cursor()
    cur.execute(f"CREATE EXTERNAL TABLE e (c CHAR(3), v VARCHAR(6)) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
                f"LOCATION '{ext}'")
    assert _rows(conn, "SELECT c, v, length(c) FROM e ORDER BY c") == [
        ("ab", "a long", 2), ("abc", "short", 3), ("z", "", 1)]


def test_varchar_is_cut_on_insert_select_and_on_read_of_foreign_parquet(conn, tmp_path):
    cur = conn.cursor()
    cur.execute("CREATE TABLE src (s STRING)")
    cur.execute("INSERT INTO src VALUES ('abcdefgh'), ('héllo wörld'), ('ab'), (NULL)")
    for fmt in ("PARQUET", "TEXTFILE", "ORC"):
        cur.execute(f"CREATE TABLE v_{fmt} (v VARCHAR(4)) STORED AS {fmt}")
        cur.execute(f"INSERT INTO v_{fmt} SELECT s FROM src")
        assert sorted(_rows(conn, f"SELECT v FROM v_{fmt}"), key=str) == sorted(
            [("abcd",), ("héll",), ("ab",), (None,)], key=str)
    ext = tmp_path / "pq"
    ext.mkdir()
    pq.write_table(pa.table({"v": ["toolongvalue", "ok"], "c": ["x         ", "yy"]}), str(ext / "f.parquet"))
    cur.execute(f"CREATE EXTERNAL TABLE fp (v VARCHAR(4), c CHAR(3)) STORED AS PARQUET LOCATION '{ext}'")
    assert sorted(_rows(conn, "SELECT v, c FROM fp")) == [("ok", "yy"), ("tool", "x")]


BYTES = [b"\x01field\x01delims\x01", b"new\nline\r\n", b"", None, bytes(range(256)), b"plain", b"|,\t\\N"]


def test_binary_in_text_is_base64_in_the_file_and_round_trips(conn, tmp_path):
    cur = conn.cursor()
    cur.execute("CREATE TABLE b (id INT, bin BINARY, arr ARRAY<BINARY>) STORED AS TEXTFILE")
    conn.session.register_arrow("raw_bytes", pa.table({
        "id": pa.array(range(len(BYTES)), pa.int32()), "bin": pa.array(BYTES, pa.binary()),
        "arr": pa.array([None if v is None else [v, v] for v in BYTES], pa.list_(pa.binary()))}))
    cur.execute("INSERT INTO b SELECT id, bin, arr FROM raw_bytes")
    got = sorted(_rows(conn, "SELECT id, bin, arr FROM b"))
    assert got == [(i, v, None if v is None else [v, v]) for i, v in enumerate(BYTES)]
    # the file: one line per row, fields base64 (so no raw delimiter or newline leaks in)
    [path] = _data_files(tmp_path, "b")
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(BYTES) + 1
    by_id = {int(line.split(b"\x01")[0]): line.split(b"\x01")[1] for line in lines[:-1]}
    for i, v in enumerate(BYTES):
        assert by_id[i] == (b"\\N" if v is None else base64.b64encode(v))
    # and what we wrote is what DuckDB decodes from the same text
    duck = duckdb.connect().execute(
        "SELECT from_base64(column1) FROM read_csv(?, delim='\x01', header=false, columns={'column0': 'INT', "
        "'column1': 'VARCHAR', 'column2': 'VARCHAR'}, nullstr='\\N', quote='') WHERE column1 <> '' ORDER BY column0",
        [path]).fetchall()
    assert [r[0] for r in duck] == [v for v in BYTES if v]


def test_hand_written_binary_text_follows_hives_decode_if_needed(conn, tmp_path):
    ext = tmp_path / "bin"
    ext.mkdir()
    # base64 ("aGk=" is "hi"), base64 without its padding, and text that is not base64
    (ext / "f.txt").write_bytes(b"1,aGk=\n2,aGk\n3,not base64!\n4,\n")
    cur = conn.cursor()
    cur.execute(f"CREATE EXTERNAL TABLE hb (id INT, b BINARY) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
                f"LOCATION '{ext}'")
    assert _rows(conn, "SELECT id, b FROM hb ORDER BY id") == [
        (1, b"hi"), (2, b"hi"), (3, b"not base64!"), (4, b"")]


def test_parquet_written_by_us_is_trusted_only_under_the_type_it_was_written_for(conn, tmp_path):
    cur = conn.cursor()
    cur.execute("CREATE TABLE p (v VARCHAR(6), c CHAR(4)) STORED AS PARQUET")
    cur.execute("INSERT INTO p VALUES ('abcdefgh', 'xy  ')")
    [path] = _data_files(tmp_path, "p")
    assert pq.read_table(path).to_pylist() == [{"v": "abcdef", "c": "xy"}]  # stored cut, CHAR unpadded (Hive's Parquet)
    assert _rows(conn, "SELECT v, c FROM p") == [("abcdef", "xy")]
    cur.execute("ALTER TABLE p CHANGE COLUMN v v VARCHAR(3)")
    cur.execute("ALTER TABLE p CHANGE COLUMN c c CHAR(1)")
    assert _rows(conn, "SELECT v, c FROM p") == [("abc", "x")]
