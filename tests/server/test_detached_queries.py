"""Queries that read files run whole on a query process (``server.detached``).

The server runs in the test process with one query process, so the tests can see which
statements went there (the ``on=query-process`` mark of the statement log), the query
process's pid, and its CPU time (a cancelled query's tasks stop using it). Results are
compared with the same query run on the server's own threads
(``SET lamna.executor = threads``) and, for the TPC-H-like joins, with DuckDB over the
same rows. No timing is asserted: waits have generous backstops.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tests.server.conftest import (
    LONG_QUERY,
    ROOT,
    InProcessServer,
    free_port,
    need_module,
    seeded_warehouse,
)

psycopg = need_module("psycopg")

MARK = "on=query-process"


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = InProcessServer(seeded_warehouse(tmp_path_factory.mktemp("lamna-detached")), query_processes=1)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop()


def _wait_ready(server: InProcessServer, backstop: float = 60) -> int:
    queries = server.server.engine.queries
    assert queries is not None
    deadline = time.monotonic() + backstop
    while not (pids := queries.ready_pids()):
        assert time.monotonic() < deadline, "the query process never became ready"
        time.sleep(0.1)
    return pids[0]


def _detached(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    """Whether the last logged run of ``text`` was on a query process."""
    runs = [r.getMessage() for r in caplog.records
            if r.name == "server.connection" and r.getMessage().startswith("statement ")
            and r.getMessage().endswith(" ".join(text.split())[:300])]
    assert runs, f"{text!r} was never logged"
    return MARK in runs[-1]


def _connect(server: InProcessServer):  # type: ignore[no-untyped-def]
    return psycopg.connect(server.dsn(), autocommit=True)  # type: ignore[attr-defined]


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settles(pid: int, backstop: float = 30) -> bool:
    """True once the process uses (almost) no CPU over a whole second."""
    deadline = time.monotonic() + backstop
    while time.monotonic() < deadline:
        before = _cpu_seconds(pid)
        time.sleep(1.0)
        if _cpu_seconds(pid) - before < 0.2:
            return True
    return False


def _busy(pid: int, backstop: float = 60) -> None:
    """Wait until the process is computing (the long query's tasks run)."""
    deadline = time.monotonic() + backstop
    while True:
        before = _cpu_seconds(pid)
        time.sleep(0.5)
        if _cpu_seconds(pid) - before > 0.3:
            return
        assert time.monotonic() < deadline, "the query process never started computing"


QUERIES = [
    "SELECT id, name, price, sold, ts, ratio, flag, big, small FROM items ORDER BY id",
    "SELECT n, label FROM numbers WHERE n % 7 = 3 ORDER BY n",
    "SELECT label, count(*) AS c, sum(n) AS s FROM numbers GROUP BY label ORDER BY label LIMIT 5",
    "SELECT i.name, n.label FROM items i JOIN numbers n ON i.id = n.n ORDER BY i.name",
    "WITH t AS (SELECT n FROM numbers WHERE n < 4) SELECT count(*), sum(n) FROM t",
    "SELECT count(*), min(n), max(n) FROM wide WHERE n % 1000 = 1",
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_file_query_runs_on_the_query_process_with_the_rows_and_types_of_the_server(
        inproc: InProcessServer, caplog: pytest.LogCaptureFixture, query: str) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    with _connect(inproc) as c:
        cur = c.execute(query)
        detached_rows, detached_types = cur.fetchall(), [d.type_code for d in cur.description]
        assert _detached(caplog, query)
        c.execute("SET lamna.executor = threads")
        cur = c.execute(query)
        local_rows, local_types = cur.fetchall(), [d.type_code for d in cur.description]
        assert not _detached(caplog, query)
    assert detached_rows == local_rows and detached_types == local_types
    assert detached_rows


def test_a_tpch_like_join_matches_duckdb(inproc: InProcessServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    query = ("SELECT n.label, count(*) AS c, sum(w.n) AS s FROM wide w JOIN numbers n ON w.n % 50 + 1 = n.n "
             "WHERE w.n < 20000 GROUP BY n.label ORDER BY s DESC, n.label LIMIT 10")
    with _connect(inproc) as c:
        got = c.execute(query).fetchall()
        assert _detached(caplog, query)
        wide = pa.table({"n": pa.array([r[0] for r in c.execute("SELECT n FROM wide").fetchall()], pa.int64())})
        numbers = pa.table({"n": pa.array([r[0] for r in c.execute("SELECT n FROM numbers").fetchall()], pa.int64()),
                            "label": [r[0] for r in c.execute("SELECT label FROM numbers").fetchall()]})
    db = duckdb.connect()
    db.register("wide", wide)
    db.register("numbers", numbers)
    want = db.execute(query).fetchall()
    assert [tuple(r) for r in got] == [tuple(r) for r in want]


def test_what_only_the_server_can_answer_stays_on_the_server(inproc: InProcessServer,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    with _connect(inproc) as c:
        c.execute("CREATE TEMPORARY VIEW small_numbers AS SELECT n FROM numbers WHERE n < 5")
        stays = {
            "SELECT count(*) FROM small_numbers": (4,),  # a temporary view lives in this session
            "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'public'": (1,),
            "SELECT count(*) FROM (VALUES (1), (2)) v(x)": (2,),
        }
        for query, want in stays.items():
            assert tuple(c.execute(query).fetchone()) == want
            assert not _detached(caplog, query), query
        c.execute("SET lamna.progress = on")  # progress notices read the server's own jobs
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)
        assert not _detached(caplog, "SELECT count(*) FROM numbers")
        c.execute("SET lamna.progress = off")
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)
        assert _detached(caplog, "SELECT count(*) FROM numbers")


def test_cached_tables_are_read_here_and_from_storage_there(inproc: InProcessServer,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    only_cached = "SELECT count(*), sum(price) FROM items"
    mixed = "SELECT i.name, n.label FROM items i JOIN numbers n ON i.id = n.n ORDER BY i.name"
    with _connect(inproc) as c:
        before = c.execute(mixed).fetchall()
        c.execute("CACHE TABLE items")
        try:
            assert c.execute(only_cached).fetchone() == (3, Decimal("3.75"))
            assert not _detached(caplog, only_cached)  # all of it is in the server's memory
            assert c.execute(mixed).fetchall() == before
            assert _detached(caplog, mixed)  # it reads a file table anyway: items from storage there
        finally:
            c.execute("UNCACHE TABLE items")


def test_the_current_database_settings_and_writes_go_with_the_query(inproc: InProcessServer,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    query = "SELECT count(*), sum(x) FROM facts"
    with _connect(inproc) as c:
        c.execute("CREATE DATABASE IF NOT EXISTS detached_db")
        c.execute("CREATE TABLE detached_db.facts (x INT)")
        c.execute("INSERT INTO detached_db.facts VALUES (1), (2), (3)")
        c.execute("USE detached_db")
        assert c.execute(query).fetchone() == (3, 6)
        assert _detached(caplog, query)
        c.execute("INSERT INTO facts VALUES (10)")  # written by the server, read there next
        assert c.execute(query).fetchone() == (4, 16)
        assert _detached(caplog, query)
        # the session's memory cap applies there (the memory setting does not change where
        # the join runs: uncapped, it is logged as detached)
        join = "SELECT count(*) AS c, sum(x.n) AS s FROM default.wide x JOIN default.wide y ON x.n = y.n"
        wide_sum = sum(a * 2500 + b * 50 + c for a, b, c in itertools.product(range(1, 51), repeat=3))
        assert c.execute(join).fetchone() == (125_000, wide_sum)  # wide.n are distinct
        assert _detached(caplog, join)
        c.execute("SET lamna.query.memory = '256kB'")
        with pytest.raises(psycopg.errors.OutOfMemory) as info:  # type: ignore[attr-defined]
            c.execute(join)
        assert info.value.sqlstate == "53200" and "memory cap" in str(info.value)
        c.execute("SET lamna.query.memory = 0")


def test_errors_keep_their_sqlstate_and_position(inproc: InProcessServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    query = "SELECT n, nosuch FROM numbers"
    with _connect(inproc) as c:
        with pytest.raises(psycopg.errors.UndefinedColumn) as info:  # type: ignore[attr-defined]
            c.execute(query)
        assert info.value.diag.statement_position == str(query.index("nosuch") + 1)
        assert "Traceback" not in str(info.value)
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)  # the session goes on


def test_a_named_cursor_streams_a_large_result_from_the_query_process(inproc: InProcessServer,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    with psycopg.connect(inproc.dsn()) as c, c.cursor(name="wide_rows") as cur:  # type: ignore[attr-defined]
        cur.itersize = 5000
        cur.execute("SELECT n FROM wide")
        count, total, first = 0, 0, cur.fetchmany(10)
        for (n,) in first:
            count, total = count + 1, total + n
        for (n,) in cur:
            count, total = count + 1, total + n
    assert count == 125_000
    with _connect(inproc) as c:
        assert c.execute("SELECT count(*), sum(n) FROM wide").fetchone() == (count, total)


def test_a_cancel_request_stops_the_query_process_tasks(inproc: InProcessServer) -> None:
    pid = _wait_ready(inproc)
    with _connect(inproc) as c:
        done = threading.Event()

        def cancel_when_busy() -> None:
            _busy(pid)
            c.cancel_safe()
            done.set()

        canceller = threading.Thread(target=cancel_when_busy, daemon=True)
        canceller.start()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:  # type: ignore[attr-defined]
            c.execute(LONG_QUERY)
        assert "user request" in str(info.value) and done.is_set()
        assert _settles(pid), "the cancelled query's tasks still run on the query process"
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)


def test_a_statement_timeout_stops_the_query_process_tasks(inproc: InProcessServer) -> None:
    pid = _wait_ready(inproc)
    with _connect(inproc) as c:
        c.execute("SET statement_timeout = '2s'")
        with pytest.raises(psycopg.errors.QueryCanceled) as info:  # type: ignore[attr-defined]
            c.execute(LONG_QUERY)
        assert "statement timeout" in str(info.value)
        assert _settles(pid)
        c.execute("SET statement_timeout = 0")
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)


def _startup(user: str) -> bytes:
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0lamna\0\0"
    return struct.pack("!i", len(body) + 4) + body


def test_a_client_hanging_up_mid_query_frees_the_query_process(inproc: InProcessServer) -> None:
    pid = _wait_ready(inproc)
    sock = socket.create_connection(("127.0.0.1", inproc.port), timeout=30)
    try:
        sock.sendall(_startup("hangs-up"))
        while b"Z" not in sock.recv(4096):
            pass
        query = LONG_QUERY.encode() + b"\0"
        sock.sendall(b"Q" + struct.pack("!i", len(query) + 4) + query)
        _busy(pid)
    finally:
        sock.close()
    assert _settles(pid), "the vanished client's query still runs on the query process"


def test_a_query_process_that_dies_fails_its_query_and_is_replaced(inproc: InProcessServer,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="server.connection")
    pid = _wait_ready(inproc)
    with _connect(inproc) as c:
        killer = threading.Thread(target=lambda: (_busy(pid), os.kill(pid, signal.SIGKILL)), daemon=True)
        killer.start()
        with pytest.raises(psycopg.errors.SystemError) as info:  # type: ignore[attr-defined]
            c.execute(LONG_QUERY)
        assert info.value.sqlstate == "58000" and "ended before it finished" in str(info.value)
        # the session goes on: on the server's threads until another query process is ready
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)
        replacement = _wait_ready(inproc)
        assert replacement != pid
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)
        assert _detached(caplog, "SELECT count(*) FROM numbers")


def _children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def _query_processes_of(server_pid: int, backstop: float = 60) -> list[int]:
    deadline = time.monotonic() + backstop
    while True:
        found = []
        for child in _children(server_pid):
            try:
                with open(f"/proc/{child}/cmdline", "rb") as f:
                    if b"server.query_process" in f.read():
                        found.append(child)
            except OSError:
                continue
        if found:
            return found
        assert time.monotonic() < deadline, "no query process started"
        time.sleep(0.1)


def _gone(pid: int, backstop: float = 30) -> bool:
    deadline = time.monotonic() + backstop
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True  # ended; its parent (dead too) never reaped it
        except OSError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_query_processes_end_with_the_server(tmp_path: Path, stop: signal.Signals) -> None:
    warehouse = seeded_warehouse(tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "server.main", "--trust", "--port", str(free_port()),
                               "--warehouse", warehouse, "--query-processes", "2", "--workers", "0"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        children = _query_processes_of(server.pid)
        server.send_signal(stop)
        server.wait(30)
        assert all(_gone(pid) for pid in children), "a query process outlived its server"
    finally:
        if server.poll() is None:
            server.kill()


def test_query_processes_that_cannot_start_leave_the_queries_to_the_server(tmp_path: Path) -> None:
    from server.detached import QueryProcesses, Request

    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    queries = QueryProcesses(1, str(not_a_directory / "warehouse"), None, {})
    try:
        assert queries.wait_ready(60) is False  # the process ended at start: no waiting it out
        assert queries.ready_pids() == []
        assert queries.open(Request("SELECT 1", "default", (), 0, None)) is None
    finally:
        queries.stop()


def test_a_negative_number_of_query_processes_stops_the_server_at_start(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "server.main", "--trust", "--port", str(free_port()),
                           "--warehouse", str(tmp_path / "w"), "--query-processes", "-1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "query processes must be 0 or more" in done.stderr and "Traceback" not in done.stderr
