"""Many users at once: a cancel (CancelRequest, statement_timeout, a client hanging up)
stops the statement's tasks, not only its result; a query over its memory cap fails
with SQLSTATE 53200 while the server and the other sessions carry on.

The server runs inside the test process (real sockets, real psycopg clients), so the
tests can ask its RDD context's status tracker whether any task of a cancelled
statement is still running. No timing is asserted: waits have generous backstops,
and the long query would run for minutes if a cancel did not stop its tasks.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from rdd.scheduler.events import JobStarted
from tests.server.conftest import (
    LONG_QUERY,
    InProcessServer,
    need,
    need_module,
    seeded_warehouse,
)

#: Materializes a few MB (a broadcast side of 125,000 rows and the join's output).
JOIN_QUERY = "SELECT count(*) AS c, sum(x.n) AS s FROM wide x JOIN wide y ON x.n = y.n"


class Activity:
    """The stages of every job each job group started, from the Context's listener bus;
    how many tasks of a group (or of groups with a prefix) are still out."""

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        self.ctx = ctx
        self._stages: dict[str, set[int]] = {}
        self._lock = threading.Lock()
        ctx.addListener(self._on_event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, JobStarted) and event.group_id:
            with self._lock:
                self._stages.setdefault(event.group_id, set()).update(event.stage_ids)

    def jobs_started(self, prefix: str) -> bool:
        with self._lock:
            return any(g.startswith(prefix) for g in self._stages)

    def active(self, prefix: str) -> int:
        with self._lock:
            stages = {s for g, ids in self._stages.items() if g.startswith(prefix) for s in ids}
        tracker = self.ctx.statusTracker()
        infos = [tracker.getStageInfo(s) for s in stages]
        return sum(i.numActiveTasks for i in infos if i is not None)

    def wait_running(self, prefix: str, backstop: float = 60) -> None:
        deadline = time.monotonic() + backstop
        while self.active(prefix) == 0:
            assert time.monotonic() < deadline, f"no task of {prefix}* ever ran"
            time.sleep(0.05)

    def settles(self, prefix: str, backstop: float = 30) -> bool:
        """True once no task of ``prefix``'s jobs is out (queued or running)."""
        deadline = time.monotonic() + backstop
        while self.active(prefix):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def close(self) -> None:
        self.ctx.removeListener(self._on_event)


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    # No query processes: these tests watch the tasks of the server's own engine (those of
    # queries run on query processes are in test_detached_queries.py).
    server = InProcessServer(seeded_warehouse(tmp_path_factory.mktemp("lamna-inproc")), max_concurrent_queries=8,
                             query_processes=0)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def activity(inproc: InProcessServer) -> Iterator[Activity]:
    a = Activity(inproc.rdd_context)
    yield a
    a.close()


def _statement_groups(conn) -> str:  # type: ignore[no-untyped-def]
    """The job-group prefix of every statement of this connection's session."""
    return f"lamna-{conn.info.backend_pid}-"


def _cancel_when_running(conn, activity: Activity, prefix: str) -> None:  # type: ignore[no-untyped-def]
    activity.wait_running(prefix)
    time.sleep(1.5)  # past the quick broadcast job: the join's own tasks are running
    # cancel_safe: libpq's blocking PQcancel would keep the GIL from this very process's
    # server while it waits for the server to answer.
    conn.cancel_safe()


def test_cancel_request_stops_the_statements_tasks(inproc: InProcessServer, activity: Activity) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(inproc.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        prefix = _statement_groups(c)
        canceller = threading.Thread(target=_cancel_when_running, args=(c, activity, prefix))
        canceller.start()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:  # type: ignore[attr-defined]
            c.execute(LONG_QUERY)
        canceller.join(60)
        assert info.value.sqlstate == "57014" and "user request" in str(info.value)
        assert activity.settles(prefix), "tasks of the cancelled statement are still running"
        assert c.execute("SELECT count(*) FROM numbers").fetchone() == (50,)


def test_psql_interrupted_with_ctrl_c_cancels_the_statements_tasks(inproc: InProcessServer,
                                                                    activity: Activity) -> None:
    """psql sends a CancelRequest when interrupted (SIGINT) during a query."""
    psql = need("psql")
    proc = subprocess.Popen([psql, "-X", "-h", "127.0.0.1", "-p", str(inproc.port), "-U", "psql-user", "-d", "lamna",
                             "-c", LONG_QUERY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any(c.user == "psql-user" for c in list(inproc.server.connections.values())):
            assert time.monotonic() < deadline and proc.poll() is None, "psql never connected"
            time.sleep(0.05)
        pid = next(c.pid for c in list(inproc.server.connections.values()) if c.user == "psql-user")
        activity.wait_running(f"lamna-{pid}-")
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "canceling statement due to user request" in err, err
    assert activity.settles(f"lamna-{pid}-")


def test_statement_timeout_stops_the_statements_tasks(inproc: InProcessServer, activity: Activity) -> None:
    psycopg = need_module("psycopg")
    with psycopg.connect(inproc.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
        prefix = _statement_groups(c)
        c.execute("SET statement_timeout = '2s'")
        with pytest.raises(psycopg.errors.QueryCanceled) as info:  # type: ignore[attr-defined]
            c.execute(LONG_QUERY)
        assert "statement timeout" in str(info.value)
        assert activity.jobs_started(prefix) and activity.settles(prefix)
        c.execute("SET statement_timeout = 0")
        assert c.execute("SELECT 7").fetchone() == (7,)


def _startup(user: str) -> bytes:
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0lamna\0\0"
    return struct.pack("!i", len(body) + 4) + body


def _read_until_ready(sock: socket.socket) -> bytes:
    data = b""
    while True:
        head = sock.recv(5, socket.MSG_WAITALL)
        assert len(head) == 5, "connection closed"
        kind, length = head[:1], struct.unpack("!i", head[1:])[0]
        body = sock.recv(length - 4, socket.MSG_WAITALL) if length > 4 else b""
        data += kind + body
        if kind == b"Z":
            return data


def test_a_client_hanging_up_mid_query_frees_its_tasks(inproc: InProcessServer, activity: Activity) -> None:
    sock = socket.create_connection(("127.0.0.1", inproc.port), timeout=30)
    try:
        sock.sendall(_startup("hangs-up"))
        greeting = _read_until_ready(sock)
        key = greeting.index(b"K")  # BackendKeyData: our pid
        pid = struct.unpack("!i", greeting[key + 1:key + 5])[0]
        query = LONG_QUERY.encode() + b"\0"
        sock.sendall(b"Q" + struct.pack("!i", len(query) + 4) + query)
        activity.wait_running(f"lamna-{pid}-")
    finally:
        sock.close()
    assert activity.settles(f"lamna-{pid}-"), "the vanished client's tasks are still running"


def _duckdb_answer(psycopg, dsn: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """JOIN_QUERY on DuckDB over the same rows, read back through the server."""
    with psycopg.connect(dsn, autocommit=True) as c:
        wide = pa.table({"n": pa.array([r[0] for r in c.execute("SELECT n FROM wide").fetchall()], pa.int64())})
    db = duckdb.connect()
    db.register("wide", wide)
    row = db.execute(JOIN_QUERY).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_query_over_its_memory_cap_fails_and_others_carry_on(inproc: InProcessServer,
                                                                activity: Activity) -> None:
    psycopg = need_module("psycopg")
    want = _duckdb_answer(psycopg, inproc.dsn())
    with psycopg.connect(inproc.dsn(), autocommit=True) as capped, \
            psycopg.connect(inproc.dsn(), autocommit=True) as other:  # type: ignore[attr-defined]
        capped.execute("SET lamna.query.memory = '256kB'")
        assert capped.execute("SHOW lamna.query.memory").fetchone() == ("256kB",)
        with pytest.raises(psycopg.errors.OutOfMemory) as info:  # type: ignore[attr-defined]
            capped.execute(JOIN_QUERY)
        assert info.value.sqlstate == "53200" and "memory cap" in str(info.value)
        assert "Traceback" not in str(info.value)
        assert activity.settles(_statement_groups(capped))
        # the other session, and the capped one itself, go on
        assert tuple(other.execute(JOIN_QUERY).fetchone()) == want
        assert capped.execute("SELECT count(*) FROM numbers").fetchone() == (50,)
        capped.execute("SET lamna.query.memory = '1GB'")
        assert tuple(capped.execute(JOIN_QUERY).fetchone()) == want
        with pytest.raises(psycopg.errors.InvalidParameterValue):  # type: ignore[attr-defined]
            capped.execute("SET lamna.query.memory = 'lots'")


def test_a_server_wide_default_cap(tmp_path_factory: pytest.TempPathFactory) -> None:
    psycopg = need_module("psycopg")
    server = InProcessServer(seeded_warehouse(tmp_path_factory.mktemp("lamna-capped")), query_memory="256kB")
    try:
        want = _duckdb_answer(psycopg, server.dsn())
        with psycopg.connect(server.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
            assert c.execute("SHOW lamna.query.memory").fetchone() == ("256kB",)
            with pytest.raises(psycopg.errors.OutOfMemory):  # type: ignore[attr-defined]
                c.execute(JOIN_QUERY)
            c.execute("SET lamna.query.memory = 0")
            assert tuple(c.execute(JOIN_QUERY).fetchone()) == want
            c.execute("RESET lamna.query.memory")  # back to the server's default, not "no cap"
            with pytest.raises(psycopg.errors.OutOfMemory):  # type: ignore[attr-defined]
                c.execute(JOIN_QUERY)
    finally:
        server.stop()


def test_a_bad_server_wide_cap_stops_the_server_at_start(tmp_path: Path) -> None:
    from server.server import ConfigError, Server, ServerConfig
    with pytest.raises(ConfigError, match="query_memory"):
        Server(ServerConfig(trust=True, warehouse=str(tmp_path / "w"), query_memory="much"))
