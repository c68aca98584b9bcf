"""`lamna tpch bench`: generate, load, run every engine in its own process, validate, report.

Each engine runs in a child process (`python -m tpch.worker`), one after the other, so
they never compete for the two cores and each one's peak memory is its own: the parent
reaps the child with wait4 and reads its maximum resident set size, and the child adds
what its own children (PySpark's JVM) used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

import tpch
from tpch import engines
from tpch.datadir import default_data_dir
from tpch.errors import TpchError
from tpch.generate import ensure
from tpch.load import default_database
from tpch.queries import SPECS
from tpch.reference import Reference
from tpch.report import EngineReport, Report
from tpch.runner import QueryRun
from tpch.validate import Verdict, compare
from tpch.worker import Job, WorkerResult


@dataclass(frozen=True)
class BenchOptions:
    sf: float
    compare: tuple[str, ...] = ()
    queries: tuple[int, ...] = tuple(range(1, 23))
    runs: int = 3
    data: Path | None = None
    data_format: str = "parquet"
    load_as: str = "parquet"
    warehouse: Path | None = None
    database: str | None = None
    validate: bool = True
    timeout: float = 3600.0
    show: bool = True


def _project_env() -> dict[str, str]:
    """The child must import this very tpch (and sql) even when not installed."""
    env = dict(os.environ)
    root = str(Path(tpch.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def run_child(job: Job, timeout: float) -> tuple[WorkerResult | None, int, str]:
    """Run a worker; (its result or None, peak RSS in bytes, error text)."""
    with tempfile.TemporaryDirectory() as tmp:
        job_path = Path(tmp) / "job.json"
        job.write(job_path)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tpch.worker", str(job_path)], env=_project_env()
        )
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return None, usage.ru_maxrss * 1024, f"timed out after {timeout:.0f} s"
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        peak = usage.ru_maxrss * 1024
        result_path = Path(job.result_path)
        if not result_path.is_file():
            return None, peak, f"worker exited with status {proc.returncode} and no result"
        import json

        body = json.loads(result_path.read_text())
        result = WorkerResult(**body)
        # wait4's figure is max(worker, its reaped children); the worker's own figures
        # let us add the JVM of PySpark to the Python driver instead (an upper bound of
        # their joint peak, since the two need not peak at the same moment).
        own = result.peak_rss_self + result.peak_rss_children
        return result, max(peak, own), ""


def _engine_report(
    name: str,
    result: WorkerResult | None,
    peak: int,
    error: str,
    wall: float,
    answers: Path,
    reference: Reference | None,
) -> EngineReport:
    if result is None or not result.ok:
        reason = error or (result.error if result else "unknown failure")
        return EngineReport(
            name, status="failed", reason=reason, peak_rss_bytes=peak or None, wall_seconds=wall
        )
    runs = []
    for r in result.runs:
        verdict = None
        path = answers / f"q{r['number']:02d}.parquet"
        if reference is not None and r["error"] is None and path.is_file():
            try:
                verdict = compare(
                    SPECS[r["number"]], reference.answer(r["number"]), pq.read_table(path)
                )
            except TpchError as e:
                verdict = Verdict(False, str(e))
        runs.append(QueryRun(r["number"], tuple(r["times"]), r["rows"], r["error"], verdict))
    return EngineReport(
        name,
        tuple(runs),
        peak_rss_bytes=peak or None,
        load_seconds=result.load_seconds,
        wall_seconds=wall,
        cache_seconds=result.cache_seconds,
        cache=result.cache,
    )


def bench(opts: BenchOptions) -> Report:
    """Run the whole pipeline; returns the report (the caller writes it)."""
    for name in opts.compare:
        if name not in engines.ENGINES or name == "lamna":
            raise TpchError(f"unknown engine {name!r} for --compare: use duckdb, pyspark or both")
    data = opts.data or default_data_dir(opts.sf, opts.data_format)
    ds = ensure(opts.sf, data, opts.data_format, show=opts.show)
    reference = Reference(ds) if opts.validate else None
    database = opts.database or default_database(ds.sf)
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("lamna",) + tuple(opts.compare):
            why = engines.available(name)
            if why is not None:
                reports.append(EngineReport(name, status="unavailable", reason=why))
                print(f"{name}: skipped, {why}", file=sys.stderr)
                continue
            answers = Path(tmp) / name
            job = Job(
                engine=name,
                data_root=str(ds.root),
                sf=ds.sf,
                format=ds.format,
                queries=opts.queries,
                runs=opts.runs,
                answers_dir=str(answers),
                result_path=str(Path(tmp) / f"{name}.json"),
                database=database,
                warehouse=str(opts.warehouse) if opts.warehouse else None,
                load_as=opts.load_as if name == "lamna" else None,
                mode="cached" if opts.load_as == "cached" else "files",
                show=opts.show,
            )
            started = time.perf_counter()
            result, peak, error = run_child(job, opts.timeout)
            wall = time.perf_counter() - started
            reports.append(_engine_report(name, result, peak, error, wall, answers, reference))
    return Report(
        sf=ds.sf,
        data_format=ds.format,
        load_as=opts.load_as,
        runs=opts.runs,
        queries=opts.queries,
        engines=tuple(reports),
        reference=reference.source if reference else "",
    )
