"""A real Lamna server on a loopback port, started once per test session, with a small
warehouse and a users file; helpers that find the client programs the tests drive.

Clients that are missing make the tests that need them FAIL (not skip) with the command
that installs them: CI must run every client.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ".ci/install-server-deps.sh"
USER, PASSWORD = "alice", "s3cret-Pass"
JDBC_JAR = "/usr/share/java/postgresql.jar"


@dataclass(frozen=True)
class ServerInfo:
    host: str
    port: int
    user: str
    password: str
    warehouse: str
    log: Path
    proc: subprocess.Popen[bytes]

    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname=lamna"


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: run {INSTALL} (CI does)", pytrace=False)
    return path


def need_module(name: str) -> object:
    try:
        return __import__(name)
    except ImportError:
        pytest.fail(f"Python package {name} is missing: pip install -e '.[test]' (see {INSTALL})", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_warehouse(warehouse: str) -> None:
    """Tables the tests read, written by the embedded engine before the server starts."""
    import sql
    with sql.connect(warehouse=warehouse) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE items (id INT, name STRING, price DECIMAL(10,2), sold DATE, "
                    "ts TIMESTAMP, ratio DOUBLE, flag BOOLEAN, big BIGINT, small SMALLINT)")
        cur.execute("INSERT INTO items VALUES "
                    "(1, 'apple', 1.50, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05', 0.5, true, 10000000000, 1),"
                    "(2, 'pear', 2.25, DATE '2024-02-03', TIMESTAMP '2024-02-03 04:05:06.5', 1.25, false, -5, 2),"
                    "(3, 'fig', NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
        cur.execute("CREATE TABLE numbers (n BIGINT, label STRING)")
        cur.execute("INSERT INTO numbers SELECT id, concat('n', cast(id AS STRING)) FROM ("
                    + " UNION ALL ".join(f"SELECT {i} AS id" for i in range(1, 51)) + ") s")
        # 125,000 rows: a self cross join of it (LONG_QUERY) is minutes of work
        cur.execute("CREATE TABLE wide AS SELECT a.n * 2500 + b.n * 50 + c.n AS n "
                    "FROM numbers a, numbers b, numbers c")


#: Fifteen billion pairs, none matching: minutes of work, cancelled by every test using it.
LONG_QUERY = "SELECT count(*) FROM wide x, wide y WHERE x.n + y.n < 0"


_TEMPLATE: list[Path] = []


def seeded_warehouse(tmp: Path) -> str:
    """One seeded warehouse per test session, shared by every server the tests start
    (the catalog is safe across processes; the tests read it, and one creates a database)."""
    if not _TEMPLATE:
        template = tmp.parent / "seeded-warehouse"
        if not template.exists():
            seed_warehouse(str(template))
        _TEMPLATE.append(template)
    return str(_TEMPLATE[0])


def start_server(tmp: Path, *extra: str, seed: bool = True, wait: bool = True) -> ServerInfo:
    warehouse = seeded_warehouse(tmp) if seed else str(tmp / "warehouse")
    users = tmp / "users.json"
    if not users.exists():
        subprocess.run([sys.executable, "-m", "server.main", "user", "add", USER, "--users", str(users),
                        "--password-stdin", "--md5"], input=PASSWORD.encode() + b"\n", check=True, cwd=ROOT,
                       capture_output=True)
    port = free_port()
    log = tmp / f"server-{port}.log"
    args = [sys.executable, "-m", "server.main", "--port", str(port), "--warehouse", warehouse, *extra]
    if "--trust" not in extra and "--users" not in extra:
        args += ["--users", str(users)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    info = ServerInfo("127.0.0.1", port, USER, PASSWORD, warehouse, log, proc)
    if wait:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start listening")
    return info


def stop_server(info: ServerInfo) -> None:
    if info.proc.poll() is None:
        info.proc.terminate()
        try:
            info.proc.wait(15)
        except subprocess.TimeoutExpired:
            info.proc.kill()
            info.proc.wait(5)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerInfo]:
    info = start_server(tmp_path_factory.mktemp("lamna-server"), "--max-queries", "4")
    yield info
    stop_server(info)
    assert info.proc.returncode == 0, info.log.read_text()[-3000:]


class InProcessServer:
    """A real server on a loopback port, run by an event loop on a thread of the test
    process, so a test can look inside its engine (the RDD status tracker) while real
    clients talk to it over sockets. Trust authentication; ``stop()`` shuts it down as
    SIGTERM would."""

    def __init__(self, warehouse: str, **config: object) -> None:
        from server.server import Server, ServerConfig, new_event_loop
        self.server = Server(ServerConfig(host="127.0.0.1", port=0, warehouse=warehouse, trust=True,
                                          **config))  # type: ignore[arg-type]
        self._loop = new_event_loop()  # the loop `lamna serve` runs on
        self._stop: asyncio.Event | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="lamna-test-server", daemon=True)
        self._thread.start()
        if not ready.wait(60) or self._stop is None:
            raise RuntimeError("the in-process server did not start")

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            await self.server.start()
            ready.set()
            await self._stop.wait()
            await self.server.shutdown()

        self._loop.run_until_complete(main())

    @property
    def port(self) -> int:
        return self.server.port

    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=tester dbname=lamna"

    @property
    def rdd_context(self):  # type: ignore[no-untyped-def]
        return self.server.engine.rdd_context()

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
