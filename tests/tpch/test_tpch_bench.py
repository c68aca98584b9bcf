"""`bench`: engines in their own processes, validated, measured, reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tpch import report
from tpch.bench import BenchOptions, bench
from tpch.datadir import DataSet


def test_bench_compare_duckdb(parquet_data: DataSet, tmp_path: Path) -> None:
    opts = BenchOptions(
        sf=0.01,
        compare=("duckdb",),
        queries=(1, 6, 15),
        runs=1,
        data=parquet_data.root,
        warehouse=tmp_path / "warehouse",
        show=False,
        timeout=600,
    )
    rep = bench(opts)
    duck = rep.engine("duckdb")
    assert duck is not None and duck.status == "ok", duck
    assert [r.number for r in duck.runs] == [1, 6, 15]
    assert all(r.status == "ok" for r in duck.runs), [r.detail for r in duck.runs]
    assert duck.peak_rss_bytes and duck.peak_rss_bytes > 10 * 2**20
    lamna = rep.engine("lamna")
    assert lamna is not None and lamna.status in ("ok", "unavailable", "failed")
    written = report.write(rep, tmp_path / "results")
    assert "duckdb" in written.markdown.read_text()
    assert written.json.is_file()


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("LAMNA_TPCH_PYSPARK"),
    reason="starts a JVM (~1-2 min on 2 cores): set LAMNA_TPCH_PYSPARK=1 to run",
)
def test_bench_compare_pyspark(parquet_data: DataSet, tmp_path: Path) -> None:
    """PySpark in its own process over the same Parquet files (Q15's view included)."""
    pytest.importorskip("pyspark")
    opts = BenchOptions(
        sf=0.01,
        compare=("pyspark",),
        queries=(1, 15),
        runs=1,
        data=parquet_data.root,
        warehouse=tmp_path / "warehouse",
        show=False,
        timeout=600,
    )
    rep = bench(opts)
    spark = rep.engine("pyspark")
    assert spark is not None and spark.status == "ok", spark
    assert [r.status for r in spark.runs] == ["ok", "ok"], [r.detail for r in spark.runs]
    assert spark.peak_rss_bytes and spark.peak_rss_bytes > 100 * 2**20
