"""The physical operators' hooks for the query server: a per-query memory cap checked
where tables are materialized, and cancellation checked between batches and between
nested-loop chunks, so a cancelled query's tasks end soon instead of finishing their
partition."""

from __future__ import annotations

import threading
import time

import duckdb
import numpy as np
import pyarrow as pa
import pytest

import sql
from planner.physical.memory import BUDGETS, LIMIT_PROPERTY, QueryMemoryExceeded
from rdd import JobCancelled

ROWS = 30_000


def _table() -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table({"n": np.arange(ROWS, dtype=np.int64), "g": rng.integers(0, 100, ROWS),
                     "v": rng.random(ROWS)})


BIG = _table()


@pytest.fixture(scope="module")
def conn():
    c = sql.connect()
    c.register_arrow("big", BIG)
    c.register_arrow("wide", pa.table({"n": np.arange(150_000, dtype=np.int64)}))
    yield c
    c.close()


def _run(conn, query: str, group: str, cap: int | None) -> list[tuple]:
    ctx = conn.session.rdd_context
    ctx.setJobGroup(group, "test")
    ctx.setLocalProperty(LIMIT_PROPERTY, None if cap is None else str(cap))
    try:
        cur = conn.cursor()
        cur.execute(query)
        return [tuple(r) for b in cur.fetch_arrow_batches() for r in zip(*b.to_pydict().values())]
    finally:
        ctx.setLocalProperty(LIMIT_PROPERTY, None)
        ctx.setJobGroup("", "")


AGG = "SELECT g, count(*) AS c, sum(v) AS s FROM big GROUP BY g ORDER BY g"
JOIN = "SELECT x.g, count(*) AS c FROM big x JOIN big y ON x.n = y.n GROUP BY x.g ORDER BY x.g"


@pytest.mark.parametrize("query", [AGG, JOIN])
def test_a_query_over_its_cap_fails_with_53200(conn, query: str) -> None:
    with pytest.raises(QueryMemoryExceeded, match="query memory cap exceeded") as info:
        _run(conn, query, "cap-small", 50_000)
    assert info.value.sqlstate == "53200"
    assert BUDGETS.used("cap-small") == 0  # every reservation was given back


@pytest.mark.parametrize("query", [AGG, JOIN])
def test_under_its_cap_a_query_answers_as_duckdb_does(conn, query: str) -> None:
    got = _run(conn, query, "cap-large", 500_000_000)
    db = duckdb.connect()
    db.register("big", BIG)
    want = db.sql(query).fetchall()
    assert [r[:2] for r in got] == [r[:2] for r in want]
    if query is AGG:
        assert np.allclose([r[2] for r in got], [r[2] for r in want])
    assert BUDGETS.used("cap-large") == 0


def test_a_broadcast_table_counts_on_the_driver(conn) -> None:
    """The small side of a broadcast join is collected on the driver: it counts too."""
    query = "SELECT count(*) FROM big x JOIN (SELECT n FROM big WHERE n < 20000) y ON x.n = y.n"
    with pytest.raises(QueryMemoryExceeded, match="broadcast join table|join"):
        _run(conn, query, "cap-broadcast", 60_000)
    assert BUDGETS.used("cap-broadcast") == 0


def test_a_cancelled_nested_loop_join_stops_its_tasks(conn) -> None:
    """22.5 billion pairs, none matching: minutes of work if left alone. The tasks check
    between chunks, so after the cancel none is left running."""
    ctx = conn.session.rdd_context
    tracker = ctx.statusTracker()
    group = "cancel-nested-loop"
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            _run(conn, "SELECT count(*) FROM wide x, wide y WHERE x.n + y.n < 0", group, None)
        except BaseException as ex:  # noqa: BLE001 - inspected below
            outcome.append(ex)

    def active() -> int:
        total = 0
        for job in tracker.getJobIdsForGroup(group):
            for stage in tracker.getJobInfo(job).stageIds:
                info = tracker.getStageInfo(stage)
                total += info.numActiveTasks if info is not None else 0
        return total

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while active() == 0 and time.monotonic() < deadline and worker.is_alive():
        time.sleep(0.05)
    assert active() > 0, "the join's tasks never started"
    time.sleep(1.5)  # past the quick broadcast job, well inside the join's partitions
    ctx.cancelJobGroup(group)
    worker.join(60)
    assert outcome and isinstance(outcome[0], JobCancelled)
    # Not a timing bound: each task has minutes of pairs left; 30 s is only a backstop.
    deadline = time.monotonic() + 30
    while active() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert active() == 0
