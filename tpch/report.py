"""Results as a terminal table, report.md, report.json and a PNG bar chart.

Every compared figure is a ratio between engines measured in the same run (never
against numbers from another day), and the headline is the geometric mean of the
per-query ratios to DuckDB, the convention for benchmark suites whose queries differ in
length by orders of magnitude.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tpch.datadir import sf_label
from tpch.runner import QueryRun

_LOAD_AS = ("external-tbl", "parquet", "cached")


@dataclass(frozen=True)
class EngineReport:
    """One engine's part of a report."""

    engine: str
    runs: tuple[QueryRun, ...] = ()
    status: str = "ok"  # ok | unavailable | failed
    reason: str = ""
    peak_rss_bytes: int | None = None
    load_seconds: float | None = None
    wall_seconds: float | None = None
    cache_seconds: float | None = None  # cached mode: the cache build, not in any query's time
    cache: dict[str, int] | None = None  # memory_bytes, disk_bytes, rows, raw_bytes, parquet_bytes

    def by_number(self) -> dict[int, QueryRun]:
        return {r.number: r for r in self.runs}

    @property
    def total_median(self) -> float | None:
        meds = [r.median for r in self.runs]
        if not meds or any(m is None for m in meds):
            return None
        return sum(m for m in meds if m is not None)

    @property
    def validated(self) -> tuple[int, int]:
        """(answers that validated, answers that were checked)."""
        checked = [r for r in self.runs if r.status != "-"]
        return sum(r.status == "ok" for r in checked), len(checked)


@dataclass(frozen=True)
class Report:
    """A whole run: settings, machine, and one EngineReport per engine."""

    sf: float
    data_format: str
    load_as: str
    runs: int
    queries: tuple[int, ...]
    engines: tuple[EngineReport, ...]
    reference: str = ""
    started: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )
    machine: dict[str, Any] = field(default_factory=lambda: machine_info())

    def engine(self, name: str) -> EngineReport | None:
        for e in self.engines:
            if e.engine == name:
                return e
        return None


def machine_info() -> dict[str, Any]:
    """What a reader needs to compare reports from different machines."""
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_bytes": mem,
        "python": platform.python_version(),
    }


# --- numbers -------------------------------------------------------------------------


def geomean_ratio(a: EngineReport, b: EngineReport) -> float | None:
    """Geometric mean over queries of median(a) / median(b); None if none comparable."""
    bb = b.by_number()
    logs = []
    for r in a.runs:
        other = bb.get(r.number)
        if (
            r.median
            and other is not None
            and other.median
            and r.error is None
            and other.error is None
        ):
            logs.append(math.log(r.median / other.median))
    if not logs:
        return None
    return math.exp(sum(logs) / len(logs))


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if not a or not b else f"{a / b:.2f}x"


def _mib(n: int | None) -> str:
    return "-" if not n else f"{n / 2**20:,.0f} MiB"


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def cache_line(seconds: float | None, cache: dict[str, int] | None) -> str:
    """The cached mode's build time and memory, next to what the data takes elsewhere."""
    text = f"cache built in {_s(seconds)} s (not counted in the query times)"
    if cache:
        mem, disk = cache.get("memory_bytes", 0), cache.get("disk_bytes", 0)
        raw, parquet = cache.get("raw_bytes", 0), cache.get("parquet_bytes", 0)
        text += (f"; cache {_mb(mem)} in memory" + (f" + {_mb(disk)} spilled to disk" if disk else "")
                 + f", Parquet on disk {_mb(parquet)}, raw Arrow {_mb(raw)}")
        if mem + disk and raw:
            text += f" (Arrow/cache {raw / (mem + disk):.2f}x, cache/Parquet {(mem + disk) / parquet:.2f}x)" \
                if parquet else f" (Arrow/cache {raw / (mem + disk):.2f}x)"
    return text


# --- the table `run` prints ------------------------------------------------------------


def run_table(runs: Sequence[QueryRun]) -> str:
    """query | median | min | rows | validation, with a total line."""
    header = f"{'query':<6} {'median s':>9} {'min s':>9} {'rows':>7}  validation"
    lines = [header, "-" * len(header)]
    for r in runs:
        rows = "-" if r.rows is None else str(r.rows)
        status = r.status if not r.detail else f"{r.status}: {r.detail}"
        lines.append(f"{r.name:<6} {_s(r.median):>9} {_s(r.best):>9} {rows:>7}  {status}")
    meds = [r.median for r in runs if r.median is not None]
    ok = sum(r.status == "ok" for r in runs)
    checked = sum(r.status != "-" for r in runs)
    lines.append("-" * len(header))
    total = f"{'total':<6} {_s(sum(meds) if meds else None):>9}"
    if checked:
        total += f" {'':>9} {'':>7}  {ok}/{checked} valid"
    lines.append(total)
    return "\n".join(lines)


# --- report.json / report.md -----------------------------------------------------------


def to_json(report: Report) -> dict[str, Any]:
    duck = report.engine("duckdb")
    engines = []
    for e in report.engines:
        ok, checked = e.validated
        engines.append(
            {
                "engine": e.engine,
                "status": e.status,
                "reason": e.reason,
                "peak_rss_bytes": e.peak_rss_bytes,
                "load_seconds": e.load_seconds,
                "wall_seconds": e.wall_seconds,
                "cache_seconds": e.cache_seconds,
                "cache": e.cache,
                "total_median_seconds": e.total_median,
                "validated": ok,
                "checked": checked,
                "geomean_ratio_to_duckdb": (
                    geomean_ratio(e, duck) if duck is not None and e is not duck else None
                ),
                "queries": [
                    {
                        "query": r.number,
                        "times": list(r.times),
                        "median": r.median,
                        "min": r.best,
                        "rows": r.rows,
                        "status": r.status,
                        "detail": r.detail,
                    }
                    for r in e.runs
                ],
            }
        )
    return {
        "sf": report.sf,
        "data_format": report.data_format,
        "load_as": report.load_as,
        "runs": report.runs,
        "queries": list(report.queries),
        "started": report.started,
        "machine": report.machine,
        "reference": report.reference,
        "engines": engines,
    }


def to_markdown(report: Report, chart: str | None = None) -> str:
    m = report.machine
    mem = f"{m['memory_bytes'] / 2**30:.0f} GiB" if m.get("memory_bytes") else "?"
    out = [
        f"# TPC-H SF {sf_label(report.sf)}",
        "",
        f"- started {report.started}; {report.runs} timed run(s) per query after one warm-up,"
        " median shown",
        f"- machine: {m.get('cpu') or '?'}, {m.get('cpus')} CPUs, {mem}, {m.get('platform')},"
        f" Python {m.get('python')}",
        f"- data: .{report.data_format} files; Lamna: "
        + (f"tables loaded as {report.load_as}" if report.load_as in _LOAD_AS else report.load_as),
        f"- answers validated against: {report.reference or 'not validated'}",
        "",
    ]
    ran = [e for e in report.engines if e.status == "ok"]
    for e in report.engines:
        if e.status != "ok":
            out.append(f"- {e.engine}: {e.status} ({e.reason})")
    if any(e.status != "ok" for e in report.engines):
        out.append("")
    if ran:
        base = report.engine("lamna") if report.engine("lamna") in ran else ran[0]
        others = [e for e in ran if e is not base]
        head = ["query", f"{base.engine} s"]
        for o in others:
            head += [f"{o.engine} s", f"{base.engine}/{o.engine}"]
        head += [f"{e.engine} valid" for e in ran]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---"] * len(head)) + "|")
        maps = {e.engine: e.by_number() for e in ran}
        for n in report.queries:
            b = maps[base.engine].get(n)
            row = [f"q{n:02d}", _s(b.median if b else None)]
            for o in others:
                r = maps[o.engine].get(n)
                row += [
                    _s(r.median if r else None),
                    _ratio(b.median if b else None, r.median if r else None),
                ]
            for e in ran:
                r = maps[e.engine].get(n)
                row.append(r.status if r else "-")
            out.append("| " + " | ".join(row) + " |")
        common = [
            n
            for n in report.queries
            if all(maps[e.engine].get(n) is not None and maps[e.engine][n].median for e in ran)
        ]

        def total_of(e: EngineReport) -> float | None:
            return sum(maps[e.engine][n].median or 0.0 for n in common) if common else None

        label = "total" if len(common) == len(report.queries) else f"total ({len(common)} common)"
        total = [label, _s(total_of(base))]
        for o in others:
            total += [_s(total_of(o)), _ratio(total_of(base), total_of(o))]
        total += [f"{e.validated[0]}/{e.validated[1]}" for e in ran]
        out.append("| " + " | ".join(total) + " |")
        out.append("")
        if others:
            out.append(
                f"Ratios are {base.engine}'s median over the other engine's, measured in this "
                f"run (above 1: {base.engine} slower). Totals cover the queries every engine ran."
            )
            out.append("")
        duck = report.engine("duckdb")
        if duck is not None and duck in ran:
            for e in ran:
                if e is duck:
                    continue
                g = geomean_ratio(e, duck)
                if g is not None:
                    out.append(f"- geometric-mean ratio {e.engine}/duckdb: **{g:.2f}x**")
        for e in ran:
            extra = f", load {e.load_seconds:.1f} s" if e.load_seconds is not None else ""
            out.append(
                f"- {e.engine}: peak memory {_mib(e.peak_rss_bytes)} (resident, its process"
                f" plus its child processes){extra}"
            )
        for e in ran:
            if e.cache is not None or e.cache_seconds is not None:
                out.append(f"- {e.engine}: {cache_line(e.cache_seconds, e.cache)}")
        failures = [(e.engine, r) for e in ran for r in e.runs if r.status in ("WRONG", "error")]
        if failures:
            out += ["", "## Failures", ""]
            for name, r in failures:
                out.append(f"- {name} {r.name}: {r.status}: {r.detail}")
    if chart:
        out += ["", f"![median seconds per query]({chart})"]
    return "\n".join(out) + "\n"


def write_chart(report: Report, path: Path) -> bool:
    """Grouped bars, median seconds per query per engine; False if matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ran = [e for e in report.engines if e.status == "ok" and e.runs]
    if not ran:
        return False
    n = len(report.queries)
    width = 0.8 / len(ran)
    fig, ax = plt.subplots(figsize=(max(8, n * 0.6), 4.5))
    for i, e in enumerate(ran):
        meds = e.by_number()
        heights = [
            meds[q].median if q in meds and meds[q].median else float("nan") for q in report.queries
        ]
        xs = [j + (i - (len(ran) - 1) / 2) * width for j in range(n)]
        ax.bar(xs, heights, width=width, label=e.engine)
    ax.set_xticks(list(range(n)))
    ax.set_xticklabels([f"q{q:02d}" for q in report.queries], rotation=45)
    ax.set_ylabel("median seconds")
    ax.set_yscale("log")
    ax.set_title(f"TPC-H SF {sf_label(report.sf)}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


@dataclass(frozen=True)
class Written:
    markdown: Path
    json: Path
    chart: Path | None


def write(report: Report, directory: Path) -> Written:
    """report.md, report.json and chart.png (when matplotlib is there) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    chart = directory / "chart.png"
    has_chart = write_chart(report, chart)
    md = directory / "report.md"
    md.write_text(to_markdown(report, chart.name if has_chart else None))
    js = directory / "report.json"
    js.write_text(json.dumps(to_json(report), indent=2, default=str) + "\n")
    return Written(md, js, chart if has_chart else None)


def default_results_dir(sf: float) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / "tpch-results" / f"sf{sf_label(sf)}-{stamp}"
