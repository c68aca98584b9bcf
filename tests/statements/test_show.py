"""SHOW ..., DESCRIBE [EXTENDED|FORMATTED], ANALYZE ... COMPUTE STATISTICS, SET/RESET."""

import decimal

import duckdb
import pytest

from sql.statements import StatementError


@pytest.fixture
def s(session):
    session.execute("CREATE TABLE sales (id INT COMMENT 'key', amount DECIMAL(8,2), who STRING) "
                    "COMMENT 'sales table' PARTITIONED BY (day DATE) TBLPROPERTIES ('owner' = 'ops')")
    session.execute("INSERT INTO sales PARTITION (day) VALUES "
                    "(1, 10.50, 'a', '2021-01-01'), (2, NULL, 'b', '2021-01-01'), (3, 7.25, NULL, '2021-01-02'), "
                    "(4, 99.99, 'a', '2021-01-02')")
    session.execute("CREATE VIEW big_sales AS SELECT * FROM sales WHERE amount > 50")
    return session


def test_show_tables_and_columns(s):
    s.execute("CREATE TABLE other (x INT)")
    assert s.rows("SHOW TABLES") == [("big_sales",), ("other",), ("sales",)]
    assert s.rows("SHOW TABLES LIKE 's*|o*'") == [("other",), ("sales",)]
    assert s.rows("SHOW TABLES IN default 'big*'") == [("big_sales",)]
    assert s.rows("SHOW VIEWS") == [("big_sales",)]
    assert s.rows("SHOW COLUMNS IN sales") == [("id",), ("amount",), ("who",), ("day",)]
    assert s.rows("SHOW COLUMNS FROM sales IN default") == [("id",), ("amount",), ("who",), ("day",)]


def test_show_partitions_and_tblproperties(s):
    assert s.rows("SHOW PARTITIONS sales") == [("day=2021-01-01",), ("day=2021-01-02",)]
    assert s.rows("SHOW PARTITIONS default.sales PARTITION (day='2021-01-02')") == [("day=2021-01-02",)]
    props = dict(s.rows("SHOW TBLPROPERTIES sales"))
    assert props["owner"] == "ops" and "transient_lastDdlTime" in props
    assert s.rows("SHOW TBLPROPERTIES sales('owner')") == [("ops",)]
    assert "does not have property" in s.rows("SHOW TBLPROPERTIES sales('nope')")[0][0]


def test_describe_forms(s):
    plain = s.rows("DESCRIBE sales")
    assert plain[:4] == [("id", "int", "key"), ("amount", "decimal(8,2)", ""), ("who", "string", ""), ("day", "date", "")]
    assert ("# Partition Information", None, None) in plain
    ext = s.rows("DESCRIBE EXTENDED sales")
    detail = [r for r in ext if r[0] == "Detailed Table Information"][0][1]
    assert "tableType:MANAGED_TABLE" in detail and "owner" in detail
    fmt = s.rows("DESC FORMATTED sales")
    keys = {r[0] for r in fmt}
    assert {"# Detailed Table Information", "Location:", "Table Type:", "# Storage Information", "SerDe Library:"} <= keys
    assert ("Comment:", "sales table", None) in fmt
    view = s.rows("DESCRIBE FORMATTED big_sales")
    assert ("Table Type:", "VIRTUAL_VIEW", None) in view and any(r[0] == "View Original Text:" for r in view)
    part = s.rows("DESCRIBE FORMATTED sales PARTITION (day='2021-01-02')")
    assert any(r[0] == "Partition Value:" and "2021-01-02" in r[1] for r in part)


def test_analyze_statistics_match_duckdb(s):
    s.execute("ANALYZE TABLE sales COMPUTE STATISTICS")
    stats = s.catalog.statistics("default", "sales")
    assert stats.row_count == 4 and stats.total_bytes > 0 and stats.columns == {}
    s.execute("ANALYZE TABLE sales COMPUTE STATISTICS FOR COLUMNS")
    stats = s.catalog.statistics("default", "sales")
    data = s.execute("SELECT id, amount, who FROM sales")
    con = duckdb.connect()
    con.register("d", data)
    mn, mx, nulls, distinct = con.execute(
        "SELECT min(amount), max(amount), count(*) - count(amount), count(DISTINCT amount) FROM d").fetchone()
    a = stats.columns["amount"]
    assert (a.min, a.max, a.null_count, a.distinct_count) == (mn, mx, nulls, distinct)
    assert (stats.columns["who"].min, stats.columns["who"].max, stats.columns["who"].null_count) == ("a", "b", 1)
    day2 = s.catalog.statistics("default", "sales", "day=2021-01-02")
    assert day2.row_count == 2 and day2.columns["amount"].min == decimal.Decimal("7.25")


def test_analyze_one_partition_and_chosen_columns(s, reopen):
    s.execute("ANALYZE TABLE sales PARTITION (day='2021-01-01') COMPUTE STATISTICS FOR COLUMNS id")
    st = reopen().catalog.statistics("default", "sales", "day=2021-01-01")
    assert st.row_count == 2 and set(st.columns) == {"id"} and (st.columns["id"].min, st.columns["id"].max) == (1, 2)
    with pytest.raises(StatementError, match="Column nope not found in default.sales"):
        s.execute("ANALYZE TABLE sales COMPUTE STATISTICS FOR COLUMNS nope")


def test_writes_keep_row_counts_and_drop_stale_column_stats(s):
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (1), (2)")
    assert s.catalog.statistics("default", "t").row_count == 2
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS FOR COLUMNS")
    s.execute("INSERT INTO t VALUES (3)")
    st = s.catalog.statistics("default", "t")
    assert st.row_count == 3 and st.columns == {}
    s.execute("INSERT OVERWRITE TABLE t VALUES (9)")
    assert s.catalog.statistics("default", "t").row_count == 1


def test_set_and_reset(s):
    s.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    s.execute("SET lamna.text.strict = true")
    s.execute("SET my.key=a value with = sign")
    assert s.settings["my.key"] == "a value with = sign"
    assert ("lamna.text.strict", "true") in s.rows("SET")
    assert s.rows("SET my.key") == [("my.key", "a value with = sign")]
    assert s.rows("SET nope.key") == [("nope.key", "<undefined>")]
    s.execute("RESET my.key")
    assert "my.key" not in s.settings
    s.execute("RESET")
    assert s.settings == {}


def test_use_changes_unqualified_names(s):
    s.execute("CREATE DATABASE d2")
    s.execute("USE d2")
    s.execute("CREATE TABLE t (x INT)")
    assert s.rows("SHOW TABLES") == [("t",)]
    assert s.rows("SHOW TABLES IN default LIKE 'sales'") == [("sales",)]
    assert s.catalog.table_exists("d2", "t")
    s.execute("INSERT INTO default.sales PARTITION (day='2021-02-01') SELECT 5, 1.00, 'z'")
    assert (5,) in s.rows("SELECT id FROM default.sales")


def test_describe_column_and_database(s):
    s.execute("ANALYZE TABLE sales COMPUTE STATISTICS FOR COLUMNS id")
    rows = dict(s.rows("DESCRIBE FORMATTED sales id"))
    assert rows["data_type"] == "int" and rows["comment"] == "key"
    assert (rows["min"], rows["max"], rows["num_nulls"], rows["distinct_count"]) == ("1", "4", "0", "4")
    with pytest.raises(StatementError, match="Column nope not found in default.sales"):
        s.execute("DESCRIBE sales nope")
    s.execute("CREATE DATABASE d COMMENT 'dee' WITH DBPROPERTIES ('k' = 'v')")
    (row,) = s.rows("DESCRIBE DATABASE EXTENDED d")
    assert row[0] == "d" and row[1] == "dee" and "'k': 'v'" in row[5]


def test_analyze_noscan_records_sizes_only(s):
    s.execute("ANALYZE TABLE sales COMPUTE STATISTICS NOSCAN")
    st = s.catalog.statistics("default", "sales")
    assert st.row_count is None and st.total_bytes > 0


def test_cache_statements(s):
    assert "Cached default.sales" in s.execute("CACHE TABLE sales").message
    assert [r[0] for r in s.rows("SHOW CACHE")] == ["default.sales", "default.sales", "default.sales"]
    assert sorted(r[0] for r in s.rows("SELECT id FROM sales")) == [1, 2, 3, 4]
    s.execute("UNCACHE TABLE sales")
    s.execute("UNCACHE TABLE IF EXISTS nope")
    assert s.rows("SHOW CACHE") == []
    assert "on first use" in s.execute("CACHE LAZY TABLE sales").message
    assert "Uncached 1 table(s)" in s.execute("CLEAR CACHE").message
    with pytest.raises(StatementError, match="Table or view not found: default.nope"):
        s.execute("CACHE TABLE nope")
