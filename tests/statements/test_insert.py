"""INSERT (static/dynamic partitions, VALUES, column lists, OVERWRITE), multi-insert,
LOAD DATA; every Hive type through a fresh warehouse and again after reopening."""

import datetime
import decimal
import glob
import gzip
import os

import duckdb
import pytest

from sql.statements import StatementError

ALL_TYPES = """CREATE TABLE all_types (
  ti TINYINT, si SMALLINT, i INT, bi BIGINT, b BOOLEAN, f FLOAT, d DOUBLE, dec DECIMAL(20,5),
  s STRING, vc VARCHAR(5), c CHAR(3), dt DATE, ts TIMESTAMP, bin BINARY,
  arr ARRAY<INT>, m MAP<STRING,BIGINT>, st STRUCT<x:INT, y:ARRAY<STRING>>
) STORED AS {fmt}"""

VALUES = """INSERT INTO all_types VALUES
 (1, 300, 70000, 9000000000, true, 1.5, 2.25, 123456789012345.12345, 'hello', 'abcdefg', 'xyz',
  '2021-03-04', '2021-03-04 05:06:07.123456', 'bytes', array(1, 2, 3), map('k', 10), named_struct('x', 1, 'y', array('a'))),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (-128, -32768, -2147483648, -9223372036854775808, false, -0.5, -1e300, -0.00001, '', '', '',
  '1970-01-01', '1970-01-01 00:00:00', '', array(), map(), named_struct('x', NULL, 'y', NULL))"""

EXPECTED = [
    (1, 300, 70000, 9000000000, True, 1.5, 2.25, decimal.Decimal("123456789012345.12345"), "hello", "abcde", "xyz",
     datetime.date(2021, 3, 4), datetime.datetime(2021, 3, 4, 5, 6, 7, 123456), b"bytes", [1, 2, 3], [("k", 10)],
     {"x": 1, "y": ["a"]}),
    (None,) * 17,
    (-128, -32768, -2147483648, -9223372036854775808, False, -0.5, -1e300, decimal.Decimal("-0.00001"), "", "", "",
     datetime.date(1970, 1, 1), datetime.datetime(1970, 1, 1), b"", [], [], {"x": None, "y": None}),
]


def _sorted(rows):
    return sorted(rows, key=lambda r: (r[0] is None, r[0] if r[0] is not None else 0))


@pytest.mark.parametrize("fmt", ["PARQUET", "ORC", "TEXTFILE", "JSONFILE"])
def test_every_type_round_trips_and_survives_reopen(session, reopen, fmt):
    session.execute(ALL_TYPES.format(fmt=fmt))
    assert session.execute(VALUES).rowcount == 3
    for s in (session, reopen()):
        assert _sorted(s.rows("SELECT * FROM all_types")) == _sorted(EXPECTED)


def test_parquet_files_read_by_duckdb_agree(session, warehouse):
    session.execute(ALL_TYPES.format(fmt="PARQUET"))
    session.execute(VALUES)
    files = glob.glob(os.path.join(warehouse, "default.db", "all_types", "*.parquet"))
    duck = duckdb.connect().execute(
        "SELECT i, dec, s, dt, ts, arr FROM read_parquet(?) ORDER BY i NULLS LAST", [files]).fetchall()
    ours = sorted(session.rows("SELECT i, dec, s, dt, ts, arr FROM all_types"),
                  key=lambda r: (r[0] is None, r[0] or 0))
    assert duck == ours


def test_insert_into_and_overwrite(session, reopen):
    session.execute("CREATE TABLE t (a INT, b STRING)")
    session.execute("INSERT INTO t VALUES (1, 'a')")
    session.execute("INSERT INTO TABLE t SELECT a + 1, b FROM t")
    assert sorted(session.rows("SELECT * FROM t")) == [(1, "a"), (2, "a")]
    assert session.execute("INSERT OVERWRITE TABLE t SELECT 9, 'z'").rowcount == 1
    assert reopen().rows("SELECT * FROM t") == [(9, "z")]
    session.execute("INSERT OVERWRITE TABLE t SELECT a, b FROM t WHERE a < 0")
    assert session.rows("SELECT * FROM t") == []


def test_static_dynamic_and_mixed_partitions(session, warehouse):
    session.execute("CREATE TABLE src (a INT, country STRING, city STRING)")
    session.execute("INSERT INTO src VALUES (1, 'fr', 'paris'), (2, 'fr', 'lyon'), (3, 'us', 'nyc'), (4, 'us', NULL)")
    session.execute("CREATE TABLE t (a INT) PARTITIONED BY (country STRING, city STRING)")
    session.execute("INSERT INTO t PARTITION (country='fr', city='nice') SELECT 10")
    session.execute("INSERT INTO t PARTITION (country='fr', city) SELECT a, city FROM src WHERE country = 'fr'")
    session.execute("INSERT INTO t PARTITION (country, city) SELECT a, country, city FROM src WHERE country = 'us'")
    assert session.rows("SHOW PARTITIONS t") == [
        ("country=fr/city=lyon",), ("country=fr/city=nice",), ("country=fr/city=paris",),
        ("country=us/city=__HIVE_DEFAULT_PARTITION__",), ("country=us/city=nyc",)]
    assert os.path.isdir(os.path.join(warehouse, "default.db", "t", "country=fr", "city=lyon"))
    assert session.rows("SHOW PARTITIONS t PARTITION (country='us')") == [
        ("country=us/city=__HIVE_DEFAULT_PARTITION__",), ("country=us/city=nyc",)]
    # dynamic OVERWRITE replaces only the partitions it writes
    session.execute("INSERT OVERWRITE TABLE t PARTITION (country='fr', city) SELECT 99, 'paris'")
    assert sorted(session.rows("SELECT a, country, city FROM t")) == [
        (2, "fr", "lyon"), (3, "us", "nyc"), (4, "us", None), (10, "fr", "nice"), (99, "fr", "paris")]
    session.execute("SET hive.exec.dynamic.partition.mode=strict")
    with pytest.raises(StatementError, match="strict mode"):
        session.execute("INSERT INTO t PARTITION (country, city) SELECT 1, 'x', 'y'")


def test_static_overwrite_of_empty_result_empties_the_partition(session):
    session.execute("CREATE TABLE t (a INT) PARTITIONED BY (p INT)")
    session.execute("INSERT INTO t PARTITION (p=1) VALUES (1), (2)")
    session.execute("INSERT INTO t PARTITION (p=2) VALUES (3)")
    session.execute("INSERT OVERWRITE TABLE t PARTITION (p=1) SELECT a FROM t WHERE a > 100")
    assert session.rows("SELECT a, p FROM t") == [(3, 2)]
    assert session.rows("SHOW PARTITIONS t") == [("p=1",), ("p=2",)]


def test_column_list_and_implicit_conversions(session):
    session.execute("CREATE TABLE t (a INT, b STRING, c DECIMAL(5,2), d DATE)")
    session.execute("INSERT INTO t (b, a) VALUES ('x', 1)")
    session.execute("INSERT INTO t VALUES ('42', 7, '3.14159', '2020-02-30')")  # Hive: bad text -> NULL
    session.execute("INSERT INTO t SELECT '5', 'q', 1.005, CAST('2021-01-02' AS DATE)")
    assert sorted(session.rows("SELECT * FROM t")) == [
        (1, "x", None, None), (5, "q", decimal.Decimal("1.01"), datetime.date(2021, 1, 2)),
        (42, "7", decimal.Decimal("3.14"), None)]


def test_multi_insert(session):
    session.execute("CREATE TABLE src (k INT, v STRING)")
    session.execute("INSERT INTO src VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    session.execute("CREATE TABLE small (k INT)")
    session.execute("CREATE TABLE big (k INT, v STRING) PARTITIONED BY (part STRING)")
    r = session.execute("""FROM src s
        INSERT OVERWRITE TABLE small SELECT s.k WHERE s.k < 2
        INSERT INTO TABLE big PARTITION (part='hi') SELECT s.k, s.v WHERE s.k >= 2""")
    assert r.rowcount == 3
    assert session.rows("SELECT * FROM small") == [(1,)]
    assert sorted(session.rows("SELECT * FROM big")) == [(2, "b", "hi"), (3, "c", "hi")]


def test_multi_insert_is_all_or_nothing(session):
    session.execute("CREATE TABLE src (k INT)")
    session.execute("INSERT INTO src VALUES (1), (2)")
    session.execute("CREATE TABLE a (k INT)")
    session.execute("CREATE TABLE b (k INT) PARTITIONED BY (p INT)")
    with pytest.raises(StatementError, match="not a partition column"):
        session.execute("FROM src INSERT INTO TABLE a SELECT k INSERT INTO TABLE b PARTITION (q=1) SELECT k")
    assert session.rows("SELECT * FROM a") == []
    session.inject_failure = True
    with pytest.raises(Exception, match="injected failure"):
        session.execute("FROM src INSERT INTO TABLE a SELECT k INSERT INTO TABLE b PARTITION (p=1) SELECT k")
    session.inject_failure = False
    assert session.rows("SELECT * FROM a") == [] and session.rows("SELECT * FROM b") == []


def test_insert_overwrite_failure_keeps_old_rows(session, warehouse):
    session.execute("CREATE TABLE t (a INT)")
    session.execute("INSERT INTO t VALUES (1), (2)")
    before = sorted(os.listdir(os.path.join(warehouse, "default.db", "t")))
    session.inject_failure = True
    with pytest.raises(Exception, match="injected failure"):
        session.execute("INSERT OVERWRITE TABLE t SELECT a * 10 FROM t")
    session.inject_failure = False
    assert sorted(session.rows("SELECT * FROM t")) == [(1,), (2,)]
    assert sorted(os.listdir(os.path.join(warehouse, "default.db", "t"))) == before


def test_load_data(session, tmp_path, warehouse):
    session.execute("CREATE TABLE t (a INT, b STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE")
    src = tmp_path / "in"
    src.mkdir()
    (src / "one.csv").write_text("1,a\n2,b\n")
    with gzip.open(src / "two.csv.gz", "wt") as f:
        f.write("3,c\n")
    session.execute(f"LOAD DATA LOCAL INPATH '{src}' INTO TABLE t")
    assert sorted(session.rows("SELECT * FROM t")) == [(1, "a"), (2, "b"), (3, "c")]
    assert os.path.exists(src / "one.csv")  # LOCAL copies
    session.execute(f"LOAD DATA LOCAL INPATH '{src / 'one.csv'}' INTO TABLE t")  # same name again: _copy_1
    assert sorted(os.listdir(os.path.join(warehouse, "default.db", "t"))) == ["one.csv", "one_copy_1.csv", "two.csv.gz"]
    moved = tmp_path / "moved.csv"
    moved.write_text("7,z\n")
    session.execute(f"LOAD DATA INPATH '{moved}' OVERWRITE INTO TABLE t")
    assert session.rows("SELECT * FROM t") == [(7, "z")]
    assert not moved.exists()  # without LOCAL the file moves


def test_load_data_into_partition_and_parquet_check(session, tmp_path):
    session.execute("CREATE TABLE p (a INT) PARTITIONED BY (d STRING) STORED AS TEXTFILE")
    f = tmp_path / "x.txt"
    f.write_text("5\n6\n")
    session.execute(f"LOAD DATA LOCAL INPATH '{f}' INTO TABLE p PARTITION (d='2020')")
    assert sorted(session.rows("SELECT * FROM p")) == [(5, "2020"), (6, "2020")]
    with pytest.raises(StatementError, match="missing column d"):
        session.execute(f"LOAD DATA LOCAL INPATH '{f}' INTO TABLE p")
    session.execute("CREATE TABLE q (a INT) STORED AS PARQUET")
    with pytest.raises(StatementError, match="not a Parquet file"):
        session.execute(f"LOAD DATA LOCAL INPATH '{f}' INTO TABLE q")


def test_external_text_table_reads_bad_rows_as_null_then_strict(session, tmp_path):
    d = tmp_path / "ext"
    d.mkdir()
    (d / "f").write_text("1,ok\nnope,x\n3,fine\n")
    session.execute(f"CREATE EXTERNAL TABLE e (a INT, b STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
                    f"LOCATION '{d}'")
    assert sorted(session.rows("SELECT * FROM e"), key=str) == [(1, "ok"), (3, "fine"), (None, "x")]
    assert sum(session.bad_fields) == 1
    session.execute("SET lamna.text.strict=true")
    from catalog.errors import DataFormatError

    with pytest.raises(DataFormatError, match="line 2, column a"):
        session.rows("SELECT * FROM e")


def test_insert_overwrite_directory(session, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("stale\n")
    session.execute("CREATE TABLE t (a INT, b STRING)")
    session.execute("INSERT INTO t VALUES (1, 'x'), (2, NULL)")
    r = session.execute(f"INSERT OVERWRITE LOCAL DIRECTORY '{out}' ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
                        "SELECT a, b FROM t")
    assert r.rowcount == 2
    files = [f for f in os.listdir(out) if not f.startswith(".")]
    assert "old.txt" not in files
    assert sorted("".join((out / f).read_text() for f in files).splitlines()) == ["1,x", "2,\\N"]
    session.execute(f"INSERT OVERWRITE DIRECTORY '{out}' STORED AS PARQUET SELECT a FROM t")
    got = duckdb.connect().execute(f"SELECT * FROM read_parquet('{out}/*.parquet') ORDER BY 1").fetchall()
    assert got == [(1,), (2,)]


def test_static_and_dynamic_partition_values_share_one_canonical_directory(session, warehouse):
    session.execute("CREATE TABLE t (a INT) PARTITIONED BY (y INT, ts TIMESTAMP, ok BOOLEAN)")
    session.execute("INSERT INTO t PARTITION (y='007', ts='2020-01-01 10:00:00.500', ok='TRUE') VALUES (1)")
    session.execute("INSERT INTO t PARTITION (y, ts, ok) SELECT 2, 7, CAST('2020-01-01 10:00:00.5' AS TIMESTAMP), true")
    assert session.rows("SHOW PARTITIONS t") == [("y=7/ts=2020-01-01 10%3A00%3A00.5/ok=true",)]
    assert sorted(session.rows("SELECT a, y, ok FROM t")) == [(1, 7, True), (2, 7, True)]


def test_max_dynamic_partitions_guard(session, warehouse):
    session.execute("CREATE TABLE t (a INT) PARTITIONED BY (k INT)")
    session.execute("SET hive.exec.max.dynamic.partitions=3")
    with pytest.raises(StatementError, match="would touch 5 partitions, more than hive.exec.max.dynamic.partitions=3"):
        session.execute("INSERT INTO t PARTITION (k) VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)")
    assert session.rows("SHOW PARTITIONS t") == []
    assert [n for n in os.listdir(os.path.join(warehouse, "default.db", "t")) if not n.startswith(".lamna-trash")] == []
    session.execute("SET hive.exec.max.dynamic.partitions=0")
    session.execute("INSERT INTO t PARTITION (k) VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)")
    assert len(session.rows("SHOW PARTITIONS t")) == 5


@pytest.mark.parametrize("stored", ["TEXTFILE", "CSV"])
def test_writes_into_tables_with_headers_keep_every_row(session, stored):
    session.execute(f"CREATE TABLE h (a INT, b STRING) STORED AS {stored} TBLPROPERTIES ('skip.header.line.count'='1')")
    session.execute("INSERT INTO h VALUES (1, 'x'), (2, 'y')")
    session.execute("INSERT INTO h VALUES (3, 'z')")
    assert sorted(session.rows("SELECT * FROM h")) == [(1, "x"), (2, "y"), (3, "z")]
