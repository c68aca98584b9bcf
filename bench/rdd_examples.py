"""The Spark papers' examples on Lamna's RDD core and on PySpark, side by side.

    python -m bench.rdd_examples [--engines lamna-threads,lamna-processes,pyspark]
                                 [--examples wordcount,logmining,logreg,kmeans,pagerank]
                                 [--runs 3] [--scale 1] [--quick]

Each (engine, example) pair runs in a fresh child process (a crash or a hang in one
engine cannot take the others' figures with it), which creates the context once, runs a
tiny untimed warm-up job, then runs the example ``--runs`` times; the parent prints the
median of the runs, the first-vs-later iteration times of the cached loops, and each
engine's speed relative to PySpark from the same invocation. Results are also written as
JSON to ``bench/results/``. The same program code (``bench/programs.py``) runs everywhere.

``--quick`` uses tiny data (generated in a second), one run and the Lamna engines only,
so a smoke test can call it; ``--engines`` still overrides.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import datagen, engines, micro, programs

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

QUICK_SCALE = 0.002
#: Everything a child can run: the papers' examples and the single-operation timings.
ALL_PROGRAMS = {**programs.PROGRAMS, **micro.OPS}


# ---------------------------------------------------------------------------------------
# child side: one engine, one example, N runs
# ---------------------------------------------------------------------------------------

def _worker(spec_path: str) -> int:
    """Run ``spec["examples"]`` in turn on one context; results saved after every run."""
    spec = json.loads(Path(spec_path).read_text())
    out = Path(spec["out"])
    results: dict = {
        x: {"engine": spec["engine"], "example": x, "runs": []} for x in spec["examples"]
    }

    def save():
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(results))
        os.replace(tmp, out)

    sc = None
    status = 0
    try:
        t0 = time.perf_counter()
        sc = engines.make_context(spec["engine"], spec["parallelism"])
        startup = time.perf_counter() - t0
        # Untimed warm-up: starts the engine's workers (and PySpark's Python daemons).
        sc.parallelize(list(range(1000)), spec["parallelism"]).map(lambda x: x + 1).count()
    except BaseException as e:  # noqa: BLE001 — recorded, then reported by the parent
        for result in results.values():
            result["error"] = f"context start-up failed: {type(e).__name__}: {e}"
            result["traceback"] = traceback.format_exc()
        save()
        traceback.print_exc()
        return 1
    try:
        for example, result in results.items():
            result["startup"] = startup
            program = ALL_PROGRAMS[example]
            save()
            try:
                for i in range(spec["runs"]):
                    answer, timing = program(sc, spec["data"], spec["params"])
                    result["runs"].append({"answer": answer, "timing": timing})
                    save()
                    print(f"[{spec['engine']}/{example}] run {i + 1}/{spec['runs']}: "
                          f"{timing['total']:.2f}s", file=sys.stderr, flush=True)
            except Exception as e:  # noqa: BLE001 — recorded; the next example still runs
                result["error"] = f"{type(e).__name__}: {e}"
                result["traceback"] = traceback.format_exc()
                save()
                traceback.print_exc()
                status = 1
    finally:
        try:
            sc.stop()
        except Exception:
            pass
    return status


# ---------------------------------------------------------------------------------------
# parent side
# ---------------------------------------------------------------------------------------

def _run_child(engine, examples, args, data, params, log_dir: Path) -> dict:
    """Run ``examples`` on ``engine`` in one child process; ``{example: result}``."""
    with tempfile.TemporaryDirectory(prefix="lamna-bench-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        out_path = Path(tmp) / "result.json"
        spec = {
            "engine": engine,
            "examples": list(examples),
            "runs": args.runs,
            "parallelism": args.parallelism,
            "data": data,
            "params": params,
            "out": str(out_path),
        }
        spec_path.write_text(json.dumps(spec))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        name = examples[0] if len(examples) == 1 else "all"
        log_path = log_dir / f"{name}-{engine}.log"
        t0 = time.perf_counter()
        timed_out = False
        with open(log_path, "w") as logf:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.rdd_examples", "--worker", str(spec_path)],
                cwd=str(REPO_ROOT),
                env=env,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                proc.wait(timeout=args.timeout * len(examples))
            except subprocess.TimeoutExpired:
                timed_out = True
                try:
                    os.killpg(proc.pid, 9)
                except ProcessLookupError:
                    pass
                proc.wait()
        wall = time.perf_counter() - t0
        if out_path.exists():
            results = json.loads(out_path.read_text())
        else:
            results = {x: {"engine": engine, "example": x, "runs": []} for x in examples}
        tail = None
        for x, result in results.items():
            incomplete = len(result.get("runs", [])) < args.runs
            if timed_out and incomplete:
                result["error"] = f"timed out after {args.timeout * len(examples):g}s"
            elif proc.returncode != 0 and incomplete and "error" not in result:
                result["error"] = f"child exited with status {proc.returncode}"
            if "error" in result:
                if tail is None:
                    tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
                result["log_tail"] = tail
            result["wall"] = wall
            result["log"] = str(log_path)
        return results


def _summarize(result: dict) -> dict:
    runs = result.get("runs") or []
    s: dict = {"n": len(runs)}
    if not runs:
        return s
    s["total"] = statistics.median(r["timing"]["total"] for r in runs)
    its = [r["timing"]["iterations"] for r in runs]
    if result["example"] in programs.CACHED_LOOPS + micro.CACHED_LOOPS and all(len(i) >= 2 for i in its):
        s["first"] = statistics.median(i[0] for i in its)
        s["later"] = statistics.median(statistics.fmean(i[1:]) for i in its)
        s["first_over_later"] = s["first"] / s["later"] if s["later"] > 0 else math.inf
    return s


def _close(a, b, rel=1e-6, abs_=1e-9) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)
        except (TypeError, ValueError):
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y, rel, abs_) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rel, abs_) for k in a)
    return a == b


def _fmt(x, unit="s") -> str:
    if x is None:
        return "-"
    if unit == "s":
        return f"{x:.3f}" if x < 10 else f"{x:.1f}"
    return f"{x:.1f}x"


def _speed(ref, ours) -> str:
    """PySpark's time over ours: > 1 means we are faster."""
    if ref is None or ours is None or ours <= 0:
        return "-"
    r = ref / ours
    return f"{r:.2f}x " + ("faster" if r >= 1 else "slower")


def _report(results: dict, args, data, out=sys.stdout) -> None:
    def p(line=""):
        print(line, file=out)

    sizes = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in data["bytes"].items())
    p()
    p(f"RDD examples — scale {args.scale:g} ({sizes}); {args.parallelism} cores each; "
      f"median of {args.runs} run(s); seconds")
    p("speed = PySpark median / engine median (>1: faster than PySpark local[2]); "
      "1st = first iteration (reads, parses, fills the cache), later = mean of the others")
    hdr = (f"{'example':<16} {'engine':<16} {'total':>8} {'1st':>8} {'later':>8} "
           f"{'1st/later':>9}  {'speed total':>14}  {'speed later':>14}  answer")
    p(hdr)
    p("-" * len(hdr))
    for example, per_engine in results.items():
        ref = per_engine.get(engines.REFERENCE)
        ref_s = _summarize(ref) if ref else {}
        ref_answer = None
        for r in ([ref] if ref else []) + list(per_engine.values()):
            if r and r.get("runs"):
                ref_answer = r["runs"][0]["answer"]
                break
        for i, (engine, r) in enumerate(per_engine.items()):
            s = _summarize(r)
            name = example if i == 0 else ""
            name = f"{name:<16}"
            if not s.get("n"):
                p(f"{name} {engine:<16} FAILED: {r.get('error', 'no runs')}")
                continue
            ok = all(_close(run["answer"], ref_answer) for run in r["runs"])
            err = f"  (stopped: {r['error']})" if r.get("error") else ""
            p(
                f"{name} {engine:<16} {_fmt(s['total']):>8} {_fmt(s.get('first')):>8} "
                f"{_fmt(s.get('later')):>8} {_fmt(s.get('first_over_later'), 'x'):>9}  "
                f"{_speed(ref_s.get('total'), s['total']) if engine != engines.REFERENCE else '':>14}  "
                f"{_speed(ref_s.get('later'), s.get('later')) if engine != engines.REFERENCE else '':>14}  "
                f"{'same' if ok else 'DIFFERS'}{err}"
            )
    p()
    failures = [(e, x, r) for x, pe in results.items() for e, r in pe.items() if r.get("error")]
    for engine, example, r in failures:
        p(f"! {example} on {engine}: {r['error']} (log: {r.get('log')})")
        for line in r.get("log_tail", [])[-6:]:
            p(f"    {line}")


def _parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench.rdd_examples", description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", help=f"comma list from {','.join(engines.ENGINES)} "
                    "(default: all; pyspark only when importable; --quick: the Lamna engines)")
    ap.add_argument("--examples", default=",".join(programs.PROGRAMS),
                    help="comma list (default: all)")
    ap.add_argument("--runs", type=int, help="runs per example and engine (default 3; --quick 1)")
    ap.add_argument("--scale", type=float, help="data scale (1 = 200 MB of text; --quick %g)" % QUICK_SCALE)
    ap.add_argument("--quick", action="store_true", help="tiny data, one run, seconds")
    ap.add_argument("--parallelism", type=int, default=2, help="cores per engine (default 2)")
    ap.add_argument("--partitions", type=int, help="partitions of each input (default 8; --quick 4)")
    ap.add_argument("--lr-iterations", type=int, default=10)
    ap.add_argument("--kmeans-iterations", type=int, default=5)
    ap.add_argument("--pagerank-iterations", type=int, default=5)
    ap.add_argument("--lr-per-point", action="store_true",
                    help="logistic regression with one numpy vector per point (the RDD "
                    "paper's form) instead of one matrix per partition (PySpark's example)")
    ap.add_argument("--timeout", type=float, default=1800.0,
                    help="seconds per (engine, example) child before it is killed")
    ap.add_argument("--data-dir", default=str(datagen.DEFAULT_DATA_ROOT))
    ap.add_argument("--json", help="where to write the results (default bench/results/...)")
    ap.add_argument("--shared-context", action="store_true",
                    help="one child (one context) per engine runs every example, instead of "
                    "a fresh child per example (default with --quick)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.shared_context = True
        args.runs = args.runs or 1
        args.scale = args.scale if args.scale is not None else QUICK_SCALE
        args.partitions = args.partitions or 4
    args.runs = args.runs or 3
    args.scale = args.scale if args.scale is not None else 1.0
    args.partitions = args.partitions or 8
    if args.engines:
        args.engine_list = [e.strip() for e in args.engines.split(",") if e.strip()]
    elif args.quick:
        args.engine_list = ["lamna-threads", "lamna-processes"]
    else:
        args.engine_list = [e for e in engines.ENGINES
                            if e != "pyspark" or engines.pyspark_available()]
    for e in args.engine_list:
        if e not in engines.ENGINES:
            ap.error(f"unknown engine {e!r}; choose from {', '.join(engines.ENGINES)}")
    # The reference first, so its figures exist when the others print.
    args.engine_list.sort(key=lambda e: e != engines.REFERENCE)
    args.example_list = [x.strip() for x in args.examples.split(",") if x.strip()]
    for x in args.example_list:
        if x not in ALL_PROGRAMS:
            ap.error(f"unknown example {x!r}; choose from {', '.join(ALL_PROGRAMS)}")
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parse_args(argv)
    if args.worker:
        return _worker(args.worker)
    if "pyspark" in args.engine_list and not engines.pyspark_available():
        print("pyspark is not importable; skipping it", file=sys.stderr)
        args.engine_list.remove("pyspark")

    data = datagen.ensure_data(args.scale, Path(args.data_dir),
                               log=lambda m: print(m, file=sys.stderr, flush=True))
    params = {
        "partitions": args.partitions,
        "lr_iterations": args.lr_iterations,
        "kmeans_iterations": args.kmeans_iterations,
        "pagerank_iterations": args.pagerank_iterations,
        "lr_per_point": args.lr_per_point,
    }
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_dir = RESULTS_DIR / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)

    def progress(example, engine, r):
        s = _summarize(r)
        msg = f"  {example} on {engine}: "
        msg += f"median {s['total']:.2f}s over {s['n']} run(s)" if s.get("n") else "no runs"
        if r.get("error"):
            msg += f" — {r['error']}"
        print(msg, file=sys.stderr, flush=True)

    results: dict = {x: {} for x in args.example_list}
    if args.shared_context:
        # One child per engine runs every example (start-up paid once: --quick).
        for engine in args.engine_list:
            print(f"running {', '.join(args.example_list)} on {engine} ...", file=sys.stderr, flush=True)
            for example, r in _run_child(engine, args.example_list, args, data, params, log_dir).items():
                results[example][engine] = r
                progress(example, engine, r)
    else:
        for example in args.example_list:
            for engine in args.engine_list:
                print(f"running {example} on {engine} ...", file=sys.stderr, flush=True)
                r = _run_child(engine, [example], args, data, params, log_dir)[example]
                results[example][engine] = r
                progress(example, engine, r)

    _report(results, args, data)
    record = {
        "when": stamp,
        "argv": argv,
        "commit": _commit(),
        "machine": machine_info(),
        "versions": engines.versions(),
        "scale": args.scale,
        "runs": args.runs,
        "params": params,
        "data_bytes": data["bytes"],
        "results": results,
        "summary": {x: {e: _summarize(r) for e, r in pe.items()} for x, pe in results.items()},
    }
    json_path = Path(args.json) if args.json else RESULTS_DIR / f"rdd_examples-{stamp}.json"
    json_path.write_text(json.dumps(record, indent=1))
    print(f"results: {json_path}", file=sys.stderr)
    failed = any(r.get("error") for pe in results.values() for r in pe.values())
    return 1 if failed else 0


def _commit() -> str:
    """The checked-out commit, with ``+dirty`` when rdd/ or bench/ has local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rdd", "bench"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info() -> dict:
    info = {"nproc": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return info


if __name__ == "__main__":
    sys.exit(main())
