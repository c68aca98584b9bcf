"""One engine's share of a benchmark, in a process of its own.

    python -m tpch.worker JOB.json

Run as a child of `lamna tpch bench` so that every engine gets its own interpreter, its
own memory accounting (the parent reads the child's peak RSS when it reaps it) and
cannot disturb another engine's caches. The job and the result are JSON files; answers
are written as Parquet for the parent to validate.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from tpch.datadir import DataSet
from tpch.engines import make_engine
from tpch.errors import TpchError
from tpch.lamna import first_line
from tpch.load import load
from tpch.runner import run_queries


@dataclass(frozen=True)
class Job:
    """Everything a worker needs; written by the parent as JSON."""

    engine: str
    data_root: str
    sf: float
    format: str
    queries: tuple[int, ...]
    runs: int
    answers_dir: str
    result_path: str
    warmup: int = 1
    database: str = ""
    warehouse: str | None = None
    load_as: str | None = None
    mode: str = "files"
    show: bool = True

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @staticmethod
    def read(path: Path) -> "Job":
        body = json.loads(path.read_text())
        body["queries"] = tuple(body["queries"])
        return Job(**body)


@dataclass
class WorkerResult:
    engine: str
    ok: bool = True
    error: str = ""
    load_seconds: float | None = None
    cache_seconds: float | None = None  # cached mode: building the cache, apart from the runs
    cache: dict | None = None  # cached mode: what the cache holds (bytes, rows, Parquet bytes)
    runs: list[dict] = field(default_factory=list)
    peak_rss_self: int = 0
    peak_rss_children: int = 0


def _maxrss_bytes(who: int) -> int:
    # Linux reports ru_maxrss in KiB (macOS in bytes; Lamna targets Linux).
    return int(resource.getrusage(who).ru_maxrss) * 1024


def work(job: Job) -> WorkerResult:
    result = WorkerResult(job.engine)
    ds = DataSet(Path(job.data_root), job.sf, job.format)
    answers = Path(job.answers_dir)
    answers.mkdir(parents=True, exist_ok=True)
    warehouse = Path(job.warehouse) if job.warehouse else None
    engine = None
    try:
        if job.engine == "lamna" and job.load_as:
            loaded = load(
                ds, job.load_as, database=job.database, warehouse=warehouse, show=job.show
            )
            result.load_seconds = loaded.seconds
        engine = make_engine(
            job.engine, ds, database=job.database, warehouse=warehouse, mode=job.mode
        )
        engine.prepare()
        result.cache_seconds = getattr(engine, "cache_seconds", None)
        result.cache = getattr(engine, "cache_stats", None)
        runs = run_queries(
            engine,
            job.queries,
            runs=job.runs,
            warmup=job.warmup,
            on_answer=lambda n, t: pq.write_table(t, answers / f"q{n:02d}.parquet"),
            show=job.show,
            sf=ds.sf,
        )
        result.runs = [
            {"number": r.number, "times": list(r.times), "rows": r.rows, "error": r.error}
            for r in runs
        ]
    except TpchError as e:
        result.ok, result.error = False, str(e)
    except Exception as e:  # the parent reports it as this engine's failure
        result.ok, result.error = False, first_line(e)
    finally:
        if engine is not None:
            try:
                engine.close()
            except Exception:
                pass
    result.peak_rss_self = _maxrss_bytes(resource.RUSAGE_SELF)
    result.peak_rss_children = _maxrss_bytes(resource.RUSAGE_CHILDREN)
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tpch.worker JOB.json", file=sys.stderr)
        return 2
    job = Job.read(Path(args[0]))
    result = work(job)
    Path(job.result_path).write_text(json.dumps(asdict(result), indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
