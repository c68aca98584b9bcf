"""Render a ``bench/results/rdd_examples-*.json`` file as the Markdown table used in
``docs/benchmarks.md``:  ``python -m bench.report bench/results/<file>.json``."""

from __future__ import annotations

import json
import sys

from bench import engines, micro, programs
from bench.rdd_examples import _close, _summarize


def _s(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def _ratio(ref, ours):
    if ref is None or ours is None or ours <= 0:
        return "–"
    return f"{ref / ours:.2f}×"


def markdown(record: dict) -> str:
    out = []
    v = record.get("versions", {})
    m = record.get("machine", {})
    out.append(
        f"Run {record['when']}: scale {record['scale']:g}, median of {record['runs']} run(s), "
        f"{m.get('nproc')} cores ({m.get('cpu')}), Python {v.get('python')}, "
        f"pyarrow {v.get('pyarrow')}, PySpark {v.get('pyspark')}; "
        f"partitions {record['params']['partitions']}; "
        f"commit {record.get('commit', '?')}."
    )
    out.append("")
    out.append("| example | engine | total s | 1st iter s | later iters s | 1st / later "
               "| speed vs PySpark (total) | speed vs PySpark (later iters) | answer |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for example, per_engine in record["results"].items():
        ref = per_engine.get(engines.REFERENCE)
        rs = _summarize(ref) if ref else {}
        ref_answer = next((r["runs"][0]["answer"] for r in ([ref] if ref else []) + list(per_engine.values())
                           if r and r.get("runs")), None)
        for engine, r in per_engine.items():
            s = _summarize(r)
            if not s.get("n"):
                out.append(f"| {example} | {engine} | failed: {r.get('error', '?')[:80]} |||||||")
                continue
            same = all(_close(run["answer"], ref_answer) for run in r["runs"])
            is_ref = engine == engines.REFERENCE
            fol = s.get("first_over_later")
            out.append(
                f"| {example} | {engine} | {_s(s['total'])} | {_s(s.get('first'))} | "
                f"{_s(s.get('later'))} | {f'{fol:.1f}×' if fol else '–'} | "
                f"{'(reference)' if is_ref else _ratio(rs.get('total'), s['total'])} | "
                f"{'–' if example not in programs.CACHED_LOOPS + micro.CACHED_LOOPS else '(reference)' if is_ref else _ratio(rs.get('later'), s.get('later'))} | "
                f"{'same' if same else 'DIFFERS'} |"
            )
    return "\n".join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for path in argv:
        with open(path) as f:
            print(markdown(json.load(f)))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
