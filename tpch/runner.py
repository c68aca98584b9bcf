"""`lamna tpch run`: one warm-up and N timed runs of each query, validated on request.

A query that fails is recorded with its error and the run goes on, so one engine gap
never hides the other 21 results. Times cover every statement of the query (Q15's view
included) and the transfer of the answer to the caller as Arrow.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from tpch.engines import Engine
from tpch.lamna import first_line
from tpch.progress import Progress
from tpch.queries import Query, check_parses, load_all
from tpch.validate import Verdict, compare


@dataclass(frozen=True)
class QueryRun:
    """The outcome of one query on one engine."""

    number: int
    times: tuple[float, ...] = ()
    rows: int | None = None
    error: str | None = None
    verdict: Verdict | None = None

    @property
    def name(self) -> str:
        return f"q{self.number:02d}"

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def best(self) -> float | None:
        return min(self.times) if self.times else None

    @property
    def status(self) -> str:
        """'ok', 'WRONG', 'error' or '-' (ran, not validated)."""
        if self.error is not None:
            return "error"
        if self.verdict is None:
            return "-"
        return self.verdict.status

    @property
    def detail(self) -> str:
        if self.error is not None:
            return self.error
        return self.verdict.message if self.verdict else ""


AnswerFn = Callable[[int], pa.Table]


def run_queries(
    engine: Engine,
    numbers: tuple[int, ...],
    *,
    runs: int = 3,
    warmup: int = 1,
    reference: AnswerFn | None = None,
    on_answer: Callable[[int, pa.Table], None] | None = None,
    show: bool = True,
    sf: float,
) -> list[QueryRun]:
    """Run `numbers` (their parameters for scale factor `sf`) on a prepared `engine`;
    validate against `reference` if given."""
    queries = load_all(numbers, sf)
    check_parses(queries)
    bar = Progress(len(queries) * (warmup + runs), f"run {engine.name}", enabled=show)
    results = []
    for q in queries:
        results.append(_run_one(engine, q, runs, warmup, reference, on_answer, bar))
    bar.close()
    return results


def _run_one(
    engine: Engine,
    q: Query,
    runs: int,
    warmup: int,
    reference: AnswerFn | None,
    on_answer: Callable[[int, pa.Table], None] | None,
    bar: Progress,
) -> QueryRun:
    times: list[float] = []
    answer: pa.Table | None = None
    total = warmup + runs
    for i in range(total):
        phase = "warm-up" if i < warmup else f"run {i - warmup + 1}/{runs}"
        bar.update(bar.done, f"{q.name} {phase}")
        started = time.perf_counter()
        try:
            answer = engine.execute(q)
        except Exception as e:  # an engine failure is a result, not a crash
            bar.advance(total - i, f"{q.name} error")
            return QueryRun(q.number, tuple(times), None, first_line(e))
        elapsed = time.perf_counter() - started
        if i >= warmup:
            times.append(elapsed)
        bar.advance(1, f"{q.name} {phase} {elapsed:.3f}s")
    assert answer is not None
    if on_answer is not None:
        on_answer(q.number, answer)
    verdict = None
    if reference is not None:
        try:
            verdict = compare(q.spec, reference(q.number), answer)
        except Exception as e:
            verdict = Verdict(False, f"validation failed: {first_line(e)}")
    return QueryRun(q.number, tuple(times), answer.num_rows, None, verdict)
