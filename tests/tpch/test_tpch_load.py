"""Load plans (DDL text) and their execution through a PEP 249 connection."""

from __future__ import annotations


import pytest

from tpch import schema
from tpch.datadir import DataSet
from tpch.engines import LamnaEngine
from tpch.errors import TpchError
from tpch.load import STAGE_SUFFIX, default_database, load, plan
from tpch.queries import load_all
from tpch.reference import stored_answer
from tpch.validate import compare


def test_external_tbl_ddl_text(tbl_data: DataSet) -> None:
    ddl = schema.external_tbl_ddl(schema.table("lineitem"), tbl_data.table_dir("lineitem"))
    assert ddl.startswith("CREATE EXTERNAL TABLE lineitem (")
    assert "l_extendedprice DECIMAL(15,2)" in ddl
    assert "l_shipdate DATE" in ddl
    assert "l_orderkey BIGINT" in ddl
    assert "ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'" in ddl
    assert f"LOCATION '{tbl_data.table_dir('lineitem')}'" in ddl
    assert "_trailing" not in ddl


def test_every_column_has_a_tpch_type() -> None:
    allowed = ("BIGINT", "INT", "DATE", "DECIMAL(15,2)", "CHAR(", "VARCHAR(")
    for t in schema.TABLES:
        for c in t.columns:
            assert c.type.startswith(allowed), (t.name, c)
    assert [len(t.columns) for t in schema.TABLES] == [3, 4, 7, 8, 9, 5, 9, 16]


def test_default_database_names() -> None:
    assert default_database(1) == "tpch_sf1"
    assert default_database(0.01) == "tpch_sf0_01"


def test_plan_external_tbl(tbl_data: DataSet) -> None:
    sqls = [s.sql for s in plan(tbl_data, "external-tbl", "db")]
    assert sqls[:2] == ["CREATE DATABASE IF NOT EXISTS db", "USE db"]
    assert sum(s.startswith("CREATE EXTERNAL TABLE") for s in sqls) == 8
    assert (
        sum(s.startswith("ANALYZE TABLE") and s.endswith("COMPUTE STATISTICS") for s in sqls) == 8
    )
    assert not any(s.startswith("CACHE") for s in sqls)


def test_plan_parquet_uses_ctas_and_drops_staging(tbl_data: DataSet) -> None:
    sqls = [s.sql for s in plan(tbl_data, "parquet", "db")]
    assert "CREATE TABLE orders STORED AS PARQUET AS SELECT * FROM orders" + STAGE_SUFFIX in sqls
    assert (
        sqls.index(
            "DROP TABLE IF EXISTS orders" + STAGE_SUFFIX,
            sqls.index(
                "CREATE TABLE orders STORED AS PARQUET AS SELECT * FROM orders" + STAGE_SUFFIX
            ),
        )
        > 0
    )
    assert sum(s.startswith("CREATE TABLE") for s in sqls) == 8


def test_plan_cached_loads_parquet_and_leaves_caching_to_the_run(parquet_data: DataSet) -> None:
    # CACHE TABLE lasts as long as its process: the run caches (and times the build)
    sqls = [s.sql for s in plan(parquet_data, "cached", "db")]
    assert sqls == [s.sql for s in plan(parquet_data, "parquet", "db")]
    assert not [s for s in sqls if s.startswith("CACHE TABLE")]
    assert any("STORED AS PARQUET\nLOCATION" in s for s in sqls)


def test_plan_errors(parquet_data: DataSet) -> None:
    with pytest.raises(TpchError, match="needs .tbl files"):
        plan(parquet_data, "external-tbl", "db")
    with pytest.raises(TpchError, match="unknown --as"):
        plan(parquet_data, "orc", "db")


@pytest.fixture
def lamna_sql():
    import sql

    return sql


@pytest.mark.parametrize("how", ["external-tbl", "parquet", "cached"])
def test_load_then_run_through_pep249(tbl_data: DataSet, lamna_sql, how: str, tmp_path) -> None:
    result = load(tbl_data, how, warehouse=tmp_path, show=False)
    assert result.database == "tpch_sf0_01"
    engine = LamnaEngine(result.database, tmp_path, "cached" if how == "cached" else "files")
    engine.prepare()
    if how == "cached":  # the build is timed apart; the cache holds every row, in less than Arrow
        stats = engine.cache_stats
        counts = [engine._conn.cursor().execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in schema.TABLE_NAMES]
        assert engine.cache_seconds > 0 and stats["rows"] == sum(counts)
        assert 0 < stats["memory_bytes"] < stats["raw_bytes"] and stats["parquet_bytes"] > 0
    try:
        for q in load_all((1, 6, 11, 15, 22), sf=0.01):
            verdict = compare(q.spec, stored_answer(q.number), engine.execute(q))
            assert verdict.ok, f"{q.name}: {verdict.message}"
    finally:
        engine.close()
    with lamna_sql.connect(warehouse=str(tmp_path)) as conn:
        cursor = conn.cursor()
        cursor.execute("SHOW TABLES IN tpch_sf0_01")
        assert {row[-1] for row in cursor.fetchall()} >= {"lineitem", "orders", "nation"}


def test_engine_error_becomes_one_line(tbl_data: DataSet, lamna_sql, tmp_path) -> None:
    def broken(warehouse):
        conn = lamna_sql.connect(warehouse=str(warehouse))

        class Bad:
            def cursor(self):
                c = conn.cursor()

                def execute(statement):
                    raise RuntimeError("ParseError: no EXTERNAL here\nsecond line")

                c.execute = execute
                return c

            def close(self):
                pass

        return Bad()

    with pytest.raises(TpchError) as info:
        load(tbl_data, "external-tbl", warehouse=tmp_path, show=False, connect=broken)
    assert "\n" not in str(info.value)
    assert "Lamna rejected" in str(info.value)
