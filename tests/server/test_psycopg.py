"""psycopg 3: parameters in binary and text, named (server-side) cursors that stream,
COPY TO STDOUT, errors, and many connections from threads at once."""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import time
from pathlib import Path

import pytest

from tests.server.conftest import LONG_QUERY, ServerInfo, need_module


@pytest.fixture()
def conn(server: ServerInfo):  # type: ignore[no-untyped-def]
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), connect_timeout=10) as c:  # type: ignore[attr-defined]
        yield c


def test_parameters_round_trip(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.execute("SELECT %s AS i, %s AS s, %s AS d, %s AS b, %s AS f, %s AS n, %s AS big",
                       (5, "it's \\ ok", dt.date(2020, 1, 2), True, 1.5, decimal.Decimal("3.25"), 2 ** 40))
    assert cur.fetchone() == (5, "it's \\ ok", dt.date(2020, 1, 2), True, 1.5, decimal.Decimal("3.25"), 2 ** 40)


def test_filter_with_parameter_and_types(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.execute("SELECT id, name, price, sold, ts, ratio, flag, big, small FROM items WHERE id = %s", (2,))
    assert cur.fetchall() == [(2, "pear", decimal.Decimal("2.25"), dt.date(2024, 2, 3),
                               dt.datetime(2024, 2, 3, 4, 5, 6, 500000), 1.25, False, -5, 2)]
    assert [d.type_code for d in cur.description] == [23, 25, 1700, 1082, 1114, 701, 16, 20, 21]


def test_binary_results(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.cursor(binary=True)
    cur.execute("SELECT id, name, price, sold, ts, ratio, flag, big, small FROM items ORDER BY id")
    rows = cur.fetchall()
    assert rows[0] == (1, "apple", decimal.Decimal("1.50"), dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5),
                       0.5, True, 10_000_000_000, 1)
    assert rows[2] == (3, "fig", None, None, None, None, None, None, None)


def test_named_cursor_streams(conn) -> None:  # type: ignore[no-untyped-def]
    with conn.cursor(name="stream") as cur:
        cur.itersize = 17
        cur.execute("SELECT n FROM numbers ORDER BY n")
        first = cur.fetchmany(3)
        rest = [r[0] for r in cur]
    assert [r[0] for r in first] == [1, 2, 3]
    assert rest == list(range(4, 51))
    conn.commit()


def test_copy_to_stdout(conn) -> None:  # type: ignore[no-untyped-def]
    with conn.cursor() as cur:
        with cur.copy("COPY (SELECT id, name, price FROM items ORDER BY id) TO STDOUT") as copy:
            rows = list(copy.rows())
    assert rows == [("1", "apple", "1.50"), ("2", "pear", "2.25"), ("3", "fig", None)]


def test_error_then_connection_still_usable(conn) -> None:  # type: ignore[no-untyped-def]
    psycopg = need_module("psycopg")
    with pytest.raises(psycopg.errors.UndefinedTable) as info:  # type: ignore[attr-defined]
        conn.execute("SELECT * FROM nosuch")
    assert info.value.diag.sqlstate == "42P01"
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):  # type: ignore[attr-defined]
        conn.execute("SELECT 1")
    conn.rollback()
    assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.errors.SyntaxError):  # type: ignore[attr-defined]
        conn.execute("SELEC 1")
    conn.rollback()


def test_autocommit_and_settings(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        assert c.info.parameter_status("DateStyle") == "ISO, MDY"
        assert c.info.parameter_status("client_encoding") == "UTF8"
        assert c.info.parameter_status("integer_datetimes") == "on"
        c.execute("SET application_name = 'tests'")
        assert c.info.parameter_status("application_name") == "tests"
        assert c.execute("SELECT current_setting('application_name')").fetchone() == ("tests",)
        assert c.execute("SHOW statement_timeout").fetchone() == ("0",)
        v = c.execute("SELECT version()").fetchone()[0]
        assert v.startswith("PostgreSQL ")


def test_concurrent_connections_from_threads(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    results: dict[int, object] = {}

    def work(i: int) -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
                total = 0
                for _ in range(3):
                    total += c.execute("SELECT count(*) FROM numbers WHERE n > %s", (i,)).fetchone()[0]
                results[i] = total
        except Exception as ex:  # reported below
            results[i] = ex

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == {i: 3 * (50 - i) for i in range(6)}


def test_statement_timeout_cancels(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        c.execute("SET statement_timeout = 200")
        with pytest.raises(psycopg.errors.QueryCanceled):  # type: ignore[attr-defined]
            c.execute(LONG_QUERY)
        c.execute("SET statement_timeout = 0")
        assert c.execute("SELECT 2").fetchone() == (2,)


def test_cancel_stops_a_running_query(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        timer = threading.Timer(0.5, c.cancel)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):  # type: ignore[attr-defined]
            c.execute(LONG_QUERY)
        timer.join()
        assert c.execute("SELECT 3").fetchone() == (3,)


#: A cross join of 24 million rows: seconds of work that ends by itself (for the query
#: cap's queue, which needs the first query to finish); LONG_QUERY never does in a test.
SLOW_QUERY = ("SELECT count(*) FROM numbers a, numbers b, numbers c, numbers d, numbers e "
              "WHERE a.n <= 30 AND b.n <= 30 AND c.n <= 30 AND d.n <= 30 AND e.n <= 30 "
              "AND a.n + b.n + c.n + d.n + e.n > 0")


def test_long_query_does_not_block_a_short_one(server: ServerInfo) -> None:
    """Each session's jobs run in a fair-scheduler pool of their own, and a pool with
    nothing running gets a thread even while another session's long tasks hold them
    all: the short queries finish while the long one is still running (it would run
    for minutes; it is cancelled at the end)."""
    psycopg = need_module("psycopg")
    slow = psycopg.connect(server.dsn(), autocommit=True)  # type: ignore[attr-defined]
    outcome: list[object] = []

    def run_slow() -> None:
        try:
            slow.execute(LONG_QUERY)
            outcome.append("finished")
        except psycopg.errors.QueryCanceled:  # type: ignore[attr-defined]
            outcome.append("cancelled")

    answers: list[object] = []

    def run_quick() -> None:
        with psycopg.connect(server.dsn(), autocommit=True) as quick:  # type: ignore[attr-defined]
            for i in range(5):
                answers.append(quick.execute("SELECT label FROM numbers WHERE n = %s", (i + 1,)).fetchone())

    t = threading.Thread(target=run_slow)
    t.start()
    time.sleep(3)  # the long query's join tasks are running (not a timing assertion)
    q = threading.Thread(target=run_quick)
    q.start()
    try:
        q.join(120)  # a backstop: behind the long query's tasks, the short ones would wait minutes
        still_running = t.is_alive()
    finally:
        slow.cancel()
        t.join(120)
        slow.close()
    assert answers == [(f"n{i + 1}",) for i in range(5)]
    assert still_running and outcome == ["cancelled"]


def test_postgres_dialect_setting(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute("SET lamna.dialect = 'postgres'")
    row = conn.execute("SELECT name::varchar, id::bigint + 1 FROM items WHERE name ILIKE 'AP%%'").fetchone()
    assert row == ("apple", 2)
    conn.execute("SET lamna.dialect = 'hive'")


def test_show_tables_and_engine_settings(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute("SET spark.sql.shuffle.partitions=3")
    assert conn.execute("SHOW spark.sql.shuffle.partitions").fetchone() is not None


def test_progress_notices(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        notices: list[str] = []
        c.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        c.execute("SET lamna.progress = on")
        assert c.execute("SELECT count(*) FROM numbers a, numbers b, numbers c, numbers d "
                         "WHERE a.n + b.n + c.n + d.n > 0").fetchone() == (50 ** 4,)
        assert any("tasks" in n and "stage" in n and "rows read" in n for n in notices), notices
        c.execute("SET lamna.progress = off")
        notices.clear()
        c.execute("SELECT count(*) FROM numbers").fetchone()
        assert notices == []


def test_catalog_tables_are_queryable(conn) -> None:  # type: ignore[no-untyped-def]
    rows = conn.execute("SELECT table_schema, table_name, table_type FROM information_schema.tables "
                        "WHERE table_name IN ('items', 'numbers') ORDER BY table_name").fetchall()
    assert rows == [("public", "items", "BASE TABLE"), ("public", "numbers", "BASE TABLE")]
    cols = conn.execute("SELECT column_name, data_type, numeric_precision, numeric_scale FROM "
                        "information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position").fetchall()
    assert cols[0] == ("id", "integer", 32, 0) and cols[2] == ("price", "numeric", 10, 2)
    assert conn.execute("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'").fetchone()[0] >= 2
    oid = conn.execute("SELECT 'items'::regclass::oid").fetchone()[0]
    assert conn.execute("SELECT relname FROM pg_class WHERE oid = %s", (oid,)).fetchone() == ("items",)
    assert conn.execute("SELECT typname FROM pg_type WHERE oid = 1700").fetchone() == ("numeric",)
    assert conn.execute("SELECT current_schema(), current_database(), current_user").fetchone() == \
        ("public", "lamna", "alice")
    assert conn.execute("SELECT set_config('application_name', 'x1', false)").fetchone() == ("x1",)
    assert conn.execute("SHOW application_name").fetchone() == ("x1",)


def test_pipeline_mode_and_executemany(conn) -> None:  # type: ignore[no-untyped-def]
    with conn.pipeline():
        first = conn.execute("SELECT %s::int", (1,))
        second = conn.execute("SELECT name FROM items WHERE id = %s", (2,))
    assert first.fetchall() == [(1,)] and second.fetchall() == [("pear",)]
    cur = conn.cursor()
    cur.executemany("SELECT %s", [(1,), (2,)])


def test_search_path_selects_the_database(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        c.execute("CREATE DATABASE IF NOT EXISTS sp_test")
        c.execute("SET search_path TO sp_test, public")
        assert c.execute("SELECT current_schema()").fetchone() == ("sp_test",)
        c.execute("SET search_path TO public")
        assert c.execute("SELECT count(*) FROM items").fetchone() == (3,)


def test_unparsable_text_fields_are_reported_as_notices(server: ServerInfo, tmp_path: Path) -> None:
    """A text field that does not parse reads as NULL, and the client hears how many: a
    NoticeResponse (WARNING, SQLSTATE 01000) after the rows, in the simple and the
    extended protocol, on a first run and on a plan-cache hit alike."""
    psycopg = need_module("psycopg")
    data = tmp_path / "bad-fields"
    data.mkdir()
    (data / "part-0.txt").write_text("1|10\n2|ten\n3|30\n")
    with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        notices: list[tuple[str, str, str]] = []
        c.add_notice_handler(lambda d: notices.append((d.severity or "", d.sqlstate or "", d.message_primary or "")))
        c.execute("CREATE EXTERNAL TABLE bad_fields (id INT, v INT) ROW FORMAT DELIMITED "
                  f"FIELDS TERMINATED BY '|' LOCATION '{data}'")
        try:
            for key in (1, 2):  # the second is a hit of the session's plan cache
                notices.clear()
                rows = c.execute(f"SELECT id, v FROM bad_fields WHERE id > {key} ORDER BY id").fetchall()
                assert rows == [(i, None if i == 2 else 10 * i) for i in range(key + 1, 4)]
                assert [(s, code) for s, code, _ in notices] == [("WARNING", "01000")], notices
                assert notices[0][2].startswith("1 field(s) did not parse")
            notices.clear()
            cur = c.cursor()
            assert cur.execute("SELECT v FROM bad_fields WHERE id = %s", (2,), prepare=True).fetchall() == [(None,)]
            assert len(notices) == 1 and notices[0][1] == "01000", notices
            notices.clear()
            c.execute("SELECT count(*) FROM numbers").fetchall()
            assert notices == []  # nothing to say about a table without bad fields
        finally:
            c.execute("DROP TABLE bad_fields")


def test_temporary_views_belong_to_their_session(server: ServerInfo) -> None:
    """Hive's and Spark's temporary views are the session's: another client neither
    sees one nor is kept from making its own of the same name, and a cached one goes
    with the connection."""
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), autocommit=True) as a, \
            psycopg.connect(server.dsn(), autocommit=True) as b:  # type: ignore[attr-defined]
        a.execute("CREATE TEMPORARY VIEW mine AS SELECT n FROM numbers WHERE n <= 3")
        a.execute("CACHE TABLE mine")
        with pytest.raises(psycopg.errors.UndefinedTable):  # type: ignore[attr-defined]
            b.execute("SELECT count(*) FROM mine")
        assert "mine" not in [r[0] for r in b.execute("SHOW TABLES").fetchall()]
        b.execute("CREATE TEMPORARY VIEW mine AS SELECT n FROM numbers WHERE n > 40")
        assert a.execute("SELECT count(*), max(n) FROM mine").fetchone() == (3, 3)
        assert b.execute("SELECT count(*), max(n) FROM mine").fetchone() == (10, 50)
        assert any("mine" in str(r) for r in a.execute("SHOW CACHE").fetchall())
        a.close()
        for _ in range(50):  # the server ends the session after the socket closes
            if not any("mine" in str(r) for r in b.execute("SHOW CACHE").fetchall()):
                break
            time.sleep(0.1)
        assert not any("mine" in str(r) for r in b.execute("SHOW CACHE").fetchall())
        assert b.execute("SELECT count(*) FROM mine").fetchone() == (10,)


def test_hives_set_key_answers_a_key_and_a_value_whoever_holds_the_setting(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(server.dsn(), autocommit=True) as a, \
            psycopg.connect(server.dsn(), autocommit=True) as b:  # type: ignore[attr-defined]
        a.execute("SET spark.sql.shuffle.partitions=3")
        cur = a.execute("SET spark.sql.shuffle.partitions")
        assert [d.name for d in cur.description] == ["key", "value"]
        assert cur.fetchall() == [("spark.sql.shuffle.partitions", "3")]
        cur = b.execute("SET spark.sql.shuffle.partitions")  # never set here: the engine answers
        assert [d.name for d in cur.description] == ["key", "value"]
        assert cur.fetchall() == [("spark.sql.shuffle.partitions", "<undefined>")]
        assert a.execute("SHOW spark.sql.shuffle.partitions").fetchall() == [("3",)]  # PostgreSQL's form
