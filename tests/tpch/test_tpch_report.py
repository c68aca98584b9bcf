"""Tables and reports: the numbers, the files, the chart."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tpch import report
from tpch.report import EngineReport, Report, geomean_ratio
from tpch.runner import QueryRun
from tpch.validate import Verdict


def _runs(times: dict[int, float], status_ok: bool = True) -> tuple[QueryRun, ...]:
    return tuple(
        QueryRun(n, (t, t * 1.1, t * 0.9), 4, None, Verdict(status_ok, "" if status_ok else "bad"))
        for n, t in times.items()
    )


def _report() -> Report:
    lamna = EngineReport(
        "lamna", _runs({1: 2.0, 2: 8.0}), peak_rss_bytes=300 * 2**20, load_seconds=1.5
    )
    duck = EngineReport("duckdb", _runs({1: 1.0, 2: 2.0}), peak_rss_bytes=100 * 2**20)
    spark = EngineReport("pyspark", status="unavailable", reason="pyspark is not installed")
    return Report(
        sf=1.0,
        data_format="parquet",
        load_as="parquet",
        runs=3,
        queries=(1, 2),
        engines=(lamna, duck, spark),
        reference="DuckDB on the same data",
    )


def test_query_run_numbers() -> None:
    r = QueryRun(1, (3.0, 1.0, 2.0), 4)
    assert r.median == 2.0 and r.best == 1.0 and r.status == "-"
    assert QueryRun(2, (), None, "RuntimeError: boom").status == "error"


def test_geomean_ratio() -> None:
    rep = _report()
    g = geomean_ratio(rep.engine("lamna"), rep.engine("duckdb"))
    assert g == pytest.approx(math.sqrt(2.0 * 4.0))


def test_run_table() -> None:
    text = report.run_table(
        list(_report().engine("lamna").runs) + [QueryRun(3, (), None, "NotImplementedError: joins")]
    )
    lines = text.splitlines()
    assert lines[0].split() == ["query", "median", "s", "min", "s", "rows", "validation"]
    assert lines[2].split()[:5] == ["q01", "2.000", "1.800", "4", "ok"]
    assert "error: NotImplementedError: joins" in text
    assert lines[-1].split()[:2] == ["total", "10.000"]
    assert "2/3 valid" in lines[-1]


def test_write_report_files(tmp_path: Path) -> None:
    written = report.write(_report(), tmp_path / "out")
    md = written.markdown.read_text()
    assert "| q01 | 2.000 | 1.000 | 2.00x | ok | ok |" in md
    assert "geometric-mean ratio lamna/duckdb: **2.83x**" in md
    assert "pyspark: unavailable (pyspark is not installed)" in md
    assert "peak memory 300 MiB (resident" in md
    body = json.loads(written.json.read_text())
    assert body["engines"][0]["geomean_ratio_to_duckdb"] == pytest.approx(2.828, rel=1e-3)
    assert body["engines"][0]["queries"][0]["median"] == 2.0
    assert body["machine"]["cpus"] >= 1
    pytest.importorskip("matplotlib")
    assert written.chart is not None
    assert written.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![median seconds per query](chart.png)" in md


def test_cached_mode_reports_the_cache_build_and_its_memory() -> None:
    rep = _report()
    cached = EngineReport("lamna", _runs({1: 1.0, 2: 2.0}), cache_seconds=4.25,
                          cache={"memory_bytes": 30 * 2**20, "disk_bytes": 0, "rows": 100,
                                 "raw_bytes": 60 * 2**20, "parquet_bytes": 20 * 2**20})
    rep = Report(sf=1.0, data_format="parquet", load_as="cached", runs=3, queries=(1, 2),
                 engines=(cached, rep.engine("duckdb")))
    text = report.to_markdown(rep)
    assert ("lamna: cache built in 4.250 s (not counted in the query times); cache 30.0 MiB in memory, "
            "Parquet on disk 20.0 MiB, raw Arrow 60.0 MiB (Arrow/cache 2.00x, cache/Parquet 1.50x)") in text
    assert report.to_json(rep)["engines"][0]["cache"]["raw_bytes"] == 60 * 2**20
