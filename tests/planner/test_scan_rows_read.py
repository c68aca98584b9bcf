"""Scans report the rows they read from storage as a task metric (``records_read``), which
the RDD status tracker sums per stage: what the shell's progress bar shows as rows read."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest

import sql

_groups = count(1)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A partitioned table of 3 x 40 rows and a plain one of 25, in a real warehouse."""
    c = sql.connect(warehouse=str(tmp_path_factory.mktemp("warehouse")))
    cur = c.cursor()
    cur.execute("CREATE TABLE sales (id INT, amount DOUBLE) PARTITIONED BY (region STRING)")
    for region, base in (("east", 0), ("west", 100), ("north", 200)):
        values = ", ".join(f"({base + i}, {i * 1.5})" for i in range(40))
        cur.execute(f"INSERT INTO sales PARTITION (region='{region}') VALUES {values}")
    cur.execute("CREATE TABLE plain (id INT)")
    cur.execute("INSERT INTO plain VALUES " + ", ".join(f"({i})" for i in range(25)))
    yield c
    c.close()


def rows_read(conn: Any, query: str) -> tuple[int, list[tuple[Any, ...]]]:
    """Run ``query`` in a job group of its own; the records its stages read, and its rows."""
    ctx = conn.session.rdd_context
    group = f"rows-read-{next(_groups)}"
    ctx.setJobGroup(group, query)
    cur = conn.cursor()
    cur.execute(query)
    result = cur.fetchall()
    tracker = ctx.statusTracker()
    stages = {sid for job in tracker.getJobIdsForGroup(group) for sid in tracker.getJobInfo(job).stageIds}
    return sum(info.inputRecords for sid in stages if (info := tracker.getStageInfo(sid))), result


def test_a_full_scan_reads_every_row(conn: Any) -> None:
    n, result = rows_read(conn, "SELECT count(*) FROM sales")
    assert result == [(120,)]
    assert n == 120
    n, _ = rows_read(conn, "SELECT id FROM plain")
    assert n == 25


def test_pruned_partitions_are_not_read(conn: Any) -> None:
    n, result = rows_read(conn, "SELECT count(*) FROM sales WHERE region = 'west'")
    assert result == [(40,)]
    assert n == 40  # only west's files: pruned before any task runs
    n, _ = rows_read(conn, "SELECT sum(amount) FROM sales WHERE region IN ('east', 'north')")
    assert n == 80


def test_a_join_counts_both_scans(conn: Any) -> None:
    n, _ = rows_read(conn, "SELECT count(*) FROM sales s JOIN plain p ON s.id = p.id")
    assert n == 120 + 25
