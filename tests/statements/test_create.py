"""CREATE TABLE (every clause), LIKE, CTAS, views, DROP, databases and USE; each
checked in the live session and again after reopening the warehouse."""

import os

import pyarrow.parquet as pq
import pytest

from catalog import EXTERNAL, MANAGED, VIEW
from sql.errors import ProgrammingError
from sql.statements import StatementError

FULL = """
CREATE EXTERNAL TABLE IF NOT EXISTS logs (
  id BIGINT COMMENT 'row id',
  msg VARCHAR(100),
  tags ARRAY<STRING>,
  attrs MAP<STRING, INT>,
  who STRUCT<name: STRING, age: TINYINT>
)
COMMENT 'web logs'
PARTITIONED BY (dt DATE COMMENT 'day', hr INT)
CLUSTERED BY (id) SORTED BY (id DESC) INTO 8 BUCKETS
ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'
  COLLECTION ITEMS TERMINATED BY ',' MAP KEYS TERMINATED BY ':'
  LINES TERMINATED BY '\\n' NULL DEFINED AS 'NULL'
STORED AS TEXTFILE
LOCATION '{loc}'
TBLPROPERTIES ('creator' = 'me', 'skip.header.line.count' = '1')
"""


def test_create_with_every_clause_persists(session, reopen, tmp_path):
    session.execute(FULL.format(loc=tmp_path / "logs"))
    for s in (session, reopen()):
        t = s.catalog.get_table("default", "logs")
        assert t.kind == EXTERNAL and t.comment == "web logs"
        assert [(c.name, c.type, c.comment) for c in t.columns] == [
            ("id", "bigint", "row id"), ("msg", "varchar(100)", None), ("tags", "array<string>", None),
            ("attrs", "map<string,int>", None), ("who", "struct<name:string,age:tinyint>", None)]
        assert [(c.name, c.type, c.comment) for c in t.partition_columns] == [("dt", "date", "day"), ("hr", "int", None)]
        assert t.bucket_columns == ("id",) and t.sort_columns == (("id", "DESC"),) and t.num_buckets == 8
        st = t.storage
        assert (st.format, st.field_delim, st.escape, st.collection_delim, st.map_key_delim, st.null_format) == (
            "textfile", "\t", "\\", ",", ":", "NULL")
        assert t.location == str(tmp_path / "logs")
        assert t.props == {"creator": "me", "skip.header.line.count": "1"}
    # IF NOT EXISTS: a second time is a no-op with a message
    assert "already exists" in session.execute(FULL.format(loc=tmp_path / "x")).message


def test_show_create_table_round_trips(session, tmp_path):
    session.execute(FULL.format(loc=tmp_path / "logs"))
    ddl = "\n".join(r[0] for r in session.rows("SHOW CREATE TABLE logs"))
    original = session.catalog.get_table("default", "logs")
    session.execute("DROP TABLE logs")
    session.execute(ddl)
    again = session.catalog.get_table("default", "logs")
    import dataclasses

    assert dataclasses.replace(again, created=0) == dataclasses.replace(original, created=0)


@pytest.mark.parametrize("stored,fmt", [("PARQUET", "parquet"), ("ORC", "orc"), ("JSONFILE", "json"),
                                        ("CSV", "csv"), ("TEXTFILE", "textfile")])
def test_stored_as(session, stored, fmt):
    session.execute(f"CREATE TABLE t (a INT) STORED AS {stored}")
    assert session.catalog.get_table("default", "t").storage.format == fmt


def test_managed_default_is_parquet_and_serde_forms(session):
    session.execute("CREATE TABLE p (a INT)")
    assert session.catalog.get_table("default", "p").storage.format == "parquet"
    session.execute("CREATE TABLE c (a INT) ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' "
                    "WITH SERDEPROPERTIES ('separatorChar' = ';') STORED AS TEXTFILE")
    t = session.catalog.get_table("default", "c")
    assert t.storage.format == "csv" and t.storage.serde_options["separatorChar"] == ";"
    session.execute("CREATE TABLE j (a INT) ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'")
    assert session.catalog.get_table("default", "j").storage.format == "json"
    session.execute("CREATE TABLE d (a INT) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    assert session.catalog.get_table("default", "d").storage.format == "textfile"
    session.execute("SET hive.default.fileformat=ORC")
    session.execute("CREATE TABLE o (a INT)")
    assert session.catalog.get_table("default", "o").storage.format == "orc"


def test_create_like(session, tmp_path):
    session.execute(FULL.format(loc=tmp_path / "logs"))
    session.execute("CREATE TABLE copy LIKE logs")
    src, t = session.catalog.get_table("default", "logs"), session.catalog.get_table("default", "copy")
    assert t.kind == MANAGED and t.columns == src.columns and t.partition_columns == src.partition_columns
    assert t.storage == src.storage and t.location != src.location
    session.execute(f"CREATE EXTERNAL TABLE IF NOT EXISTS copy2 LIKE logs LOCATION '{tmp_path / 'c2'}'")
    assert session.catalog.get_table("default", "copy2").location == str(tmp_path / "c2")


def test_ctas_writes_parquet_and_survives_reopen(session, reopen, warehouse):
    session.execute("CREATE TABLE src (a INT, b STRING, c DECIMAL(10,2))")
    session.execute("INSERT INTO src VALUES (1, 'x', 1.5), (2, 'y', NULL), (3, NULL, 3.25)")
    r = session.execute("CREATE TABLE dst STORED AS PARQUET AS SELECT a, b, c FROM src WHERE a > 1")
    assert r.rowcount == 2
    t = reopen().catalog.get_table("default", "dst")
    assert [(c.name, c.type) for c in t.columns] == [("a", "int"), ("b", "string"), ("c", "decimal(10,2)")]
    root = os.path.join(warehouse, "default.db", "dst")
    files = [os.path.join(root, f) for f in os.listdir(root) if f.endswith(".parquet")]
    assert sorted(a for f in files for a in pq.read_table(f).column("a").to_pylist()) == [2, 3]
    assert sorted(reopen().rows("SELECT a, b FROM dst")) == [(2, "y"), (3, None)]


def test_ctas_partitioned(session):
    session.execute("CREATE TABLE src (a INT, p STRING)")
    session.execute("INSERT INTO src VALUES (1, 'x'), (2, 'y'), (3, 'x')")
    session.execute("CREATE TABLE dst PARTITIONED BY (p) AS SELECT a, p FROM src")
    assert session.rows("SHOW PARTITIONS dst") == [("p=x",), ("p=y",)]
    assert sorted(session.rows("SELECT a, p FROM dst")) == [(1, "x"), (2, "y"), (3, "x")]


def test_failed_ctas_leaves_no_table(session, warehouse):
    session.execute("CREATE TABLE src (a INT)")
    session.execute("INSERT INTO src VALUES (1), (2), (3), (4)")
    session.inject_failure = True
    with pytest.raises(Exception, match="injected failure"):
        session.execute("CREATE TABLE dst AS SELECT a FROM src")
    assert not session.catalog.table_exists("default", "dst")
    assert not os.path.exists(os.path.join(warehouse, "default.db", "dst"))


def test_views(session, reopen):
    session.execute("CREATE TABLE src (a INT, b STRING)")
    session.execute("INSERT INTO src VALUES (1, 'x'), (2, 'y')")
    session.execute("CREATE VIEW v (n COMMENT 'number', s) COMMENT 'my view' AS SELECT a, b FROM src WHERE a > 1")
    t = reopen().catalog.get_table("default", "v")
    assert t.kind == VIEW and [c.name for c in t.columns] == ["n", "s"] and t.columns[0].comment == "number"
    assert "src" in t.view_sql
    assert session.rows("SELECT * FROM v") == [(2, "y")]
    session.execute("CREATE OR REPLACE VIEW v AS SELECT b FROM src")
    assert session.rows("SELECT * FROM v ORDER BY b") == [("x",), ("y",)]
    session.execute("CREATE TEMPORARY VIEW tv AS SELECT a FROM src")
    assert sorted(session.rows("SELECT * FROM tv")) == [(1,), (2,)]
    assert not reopen().catalog.table_exists("default", "tv")  # temporary: this session only
    session.execute("DROP VIEW tv")
    session.execute("DROP VIEW IF EXISTS v")
    assert not session.catalog.table_exists("default", "v")


def test_drop_managed_deletes_data_external_keeps_it(session, warehouse, tmp_path):
    session.execute("CREATE TABLE m (a INT)")
    session.execute("INSERT INTO m VALUES (1)")
    ext = tmp_path / "ext"
    session.execute(f"CREATE EXTERNAL TABLE e (a INT) LOCATION '{ext}'")
    session.execute("INSERT INTO e VALUES (1)")
    assert os.listdir(ext)
    session.execute("DROP TABLE m PURGE")
    session.execute("DROP TABLE e")
    assert not os.path.exists(os.path.join(warehouse, "default.db", "m"))
    assert os.listdir(ext)
    session.execute("DROP TABLE IF EXISTS m")


def test_databases_and_use(session, reopen, tmp_path):
    session.execute(f"CREATE DATABASE IF NOT EXISTS sales COMMENT 'sales data' LOCATION '{tmp_path / 'sales'}' "
                    "WITH DBPROPERTIES ('owner' = 'ops')")
    session.execute("CREATE SCHEMA hr")
    assert session.rows("SHOW DATABASES") == [("default",), ("hr",), ("sales",)]
    assert session.rows("SHOW DATABASES LIKE 's*'") == [("sales",)]
    session.execute("USE sales")
    assert session.current_database == "sales"
    session.execute("CREATE TABLE t (a INT)")
    assert session.catalog.get_table("sales", "t").location == str(tmp_path / "sales" / "t")
    assert reopen().catalog.get_database("sales").properties == (("owner", "ops"),)
    with pytest.raises(StatementError, match="not empty"):
        session.execute("DROP DATABASE sales")
    session.execute("DROP DATABASE sales CASCADE")
    assert session.current_database == "default"
    session.execute("DROP SCHEMA IF EXISTS hr")
    session.execute("DROP DATABASE IF EXISTS nothing")
    assert reopen().rows("SHOW DATABASES") == [("default",)]
    assert issubclass(StatementError, ProgrammingError)


def test_hive_delimiter_forms(session, tmp_path):
    session.execute(f"CREATE EXTERNAL TABLE a (x INT, y STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY '44' "
                    f"LOCATION '{tmp_path / 'a'}'")
    assert session.catalog.get_table("default", "a").storage.field_delim == ","
    session.execute(f"CREATE EXTERNAL TABLE b (x INT) ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\001' "
                    f"LOCATION '{tmp_path / 'b'}' TBLPROPERTIES ('serialization.null.format' = '')")
    t = session.catalog.get_table("default", "b")
    assert t.storage.field_delim == "\x01" and t.storage.null_format == ""
    with pytest.raises(StatementError, match="LINES TERMINATED BY supports only newline"):
        session.execute("CREATE TABLE c (x INT) ROW FORMAT DELIMITED LINES TERMINATED BY ';' STORED AS TEXTFILE")
