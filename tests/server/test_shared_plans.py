"""The server's sessions share one plan cache (``server.engine.SHARED_PLANS``).

A client's first query of a shape another client already ran reuses that plan, with
its own literals; sessions whose plans could differ (another current database, other
settings, a temporary view) never take each other's. Rows are checked against DuckDB
over the same data."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from server.engine import Engine

ROWS = pa.table({"k": pa.array(range(1, 201), pa.int64()),
                 "name": [f"n{k}" for k in range(1, 201)],
                 "grp": pa.array([k % 7 for k in range(1, 201)], pa.int32())})


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    eng = Engine(str(tmp_path_factory.mktemp("shared-plans")), "local[2]", {})
    conn = eng.connect()
    conn.register_arrow("incoming", ROWS)
    for db, scale in (("default", 1), ("other", 1000)):
        _run(conn, f"CREATE DATABASE IF NOT EXISTS {db}")
        _run(conn, f"CREATE TABLE {db}.t (k BIGINT, name STRING, grp INT)")
        _run(conn, f"INSERT INTO {db}.t SELECT k * {scale}, name, grp FROM incoming")
    eng.release(conn)
    yield eng
    eng.close()


def _run(conn, text: str) -> list[tuple]:
    cur = conn.cursor()
    cur.execute(text)
    return cur.fetchall() if cur.description else []


def _hits(conn) -> int:
    return conn.session.plans.hits


def _duck(text: str, scale: int = 1) -> list[tuple]:
    db = duckdb.connect()
    db.register("incoming", ROWS)
    db.execute(f"CREATE TABLE t AS SELECT k * {scale} AS k, name, grp FROM incoming")
    return [tuple(r) for r in db.execute(text).fetchall()]


@pytest.mark.parametrize(("second_state", "second_scale", "shared"), [
    (None, 1, True),  # same database and settings: the second session's first run is a hit
    ("USE other", 1000, False),  # another database: its own table, planned afresh
    ("SET spark.sql.shuffle.partitions=3", 1, False),  # other settings: planned afresh
])
def test_a_session_reuses_another_sessions_plan_only_in_the_same_state(
        engine: Engine, second_state: str | None, second_scale: int, shared: bool) -> None:
    first, second = engine.connect(), engine.connect()
    if second_state:
        _run(second, second_state)
    query = "SELECT k, name FROM t WHERE grp = {} ORDER BY k"
    assert _run(first, query.format(3)) == _duck(query.format(3))
    hits = _hits(second)
    assert _run(second, query.format(4)) == _duck(query.format(4), scale=second_scale)
    assert _hits(second) == hits + shared  # a hit only for a plan ``first`` made in its state
    engine.release(first)
    engine.release(second)


def test_a_temporary_view_shadows_the_table_for_its_own_session_only(engine: Engine) -> None:
    plain, shadowed = engine.connect(), engine.connect()
    query = "SELECT count(*) FROM t WHERE grp = {}"
    assert _run(plain, query.format(1)) == _duck(query.format(1))
    _run(shadowed, "CREATE TEMPORARY VIEW t AS SELECT k, name, grp FROM default.t WHERE k <= 10")
    assert _run(shadowed, query.format(2)) == [(sum(1 for k in range(1, 11) if k % 7 == 2),)]
    assert _run(plain, query.format(2)) == _duck(query.format(2))
    engine.release(plain)
    engine.release(shadowed)
