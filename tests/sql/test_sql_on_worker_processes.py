"""SQL on worker processes (``local-cluster[2]``): every task is pickled to another
process, so whatever a plan carries must travel — INTERVAL literals among them (pyarrow's
MonthDayNano pickles by neither pickle nor cloudpickle without help)."""

from __future__ import annotations

import duckdb
import pytest
from tpch_util import load_tables, query_text

import sql


@pytest.fixture(scope="module")
def engines():
    tables = load_tables(0.01)
    conn = sql.connect(master="local-cluster[2]")
    dd = duckdb.connect()
    for name, table in tables.items():
        conn.session.register_arrow(name, table, rows_per_split=max(10_000, table.num_rows // 4))
        dd.register(name, table)
    yield conn, dd
    conn.close()


@pytest.mark.parametrize("q", [1, 4, 6, 10, 14])  # each has a date ± INTERVAL
def test_tpch_queries_with_intervals_on_worker_processes(engines, q: int) -> None:
    conn, dd = engines
    text = query_text(q, 0.01)
    cur = conn.cursor()
    cur.execute(text)
    got = [tuple(round(float(v), 2) if isinstance(v, (float, int)) and not isinstance(v, bool) else
                 round(float(v), 2) if v.__class__.__name__ == "Decimal" else v for v in r) for r in cur.fetchall()]
    exp = [tuple(round(float(v), 2) if isinstance(v, (float, int)) and not isinstance(v, bool) else
                 round(float(v), 2) if v.__class__.__name__ == "Decimal" else v for v in r) for r in dd.execute(text).fetchall()]
    assert sorted(got, key=repr) == sorted(exp, key=repr)


def test_a_session_with_its_own_master_does_not_become_the_shared_context() -> None:
    """Only default-master sessions share the process's Context: one asking for worker
    processes first must not turn every later session into a worker-process session."""
    from rdd import Context

    own = sql.connect(master="local-cluster[2]")
    try:
        mine = own.session.rdd_context
        later = sql.connect()
        shared = later.session.rdd_context
        assert mine.master == "local-cluster[2]" and mine is not shared
        assert shared is Context.getActive() and shared.master != "local-cluster[2]"
        later.close()
    finally:
        own.close()
    assert mine._stopped and not shared._stopped
