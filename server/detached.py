"""Whole queries on query processes, so that the server's own interpreter stays free.

The server answers short queries from its columnar cache on its own threads. A query
that reads files runs for long, and even with its tasks on worker processes its driver
side (planning, compiling, scheduling, pickling tasks, receiving their results) holds
the server's interpreter lock for tens of milliseconds per query: with a few such
queries running, a point query waits for the lock far longer than it computes.

So the server hands such a query whole to a query process (``server.query_process``):
an engine of its own over the same warehouse, at a lower operating-system priority,
that plans it, runs it on its own threads and streams the result back as Arrow record
batches. Only queries whose names mean the same there are handed over
(``sql.portable.detachable``: stored tables not cached here, no temporary views or
session functions); the client's current database, settings and memory cap go with the
query. The server picks the process running the fewest of its queries; until the
processes are ready (they start in the background), or if one is gone, the server runs
the query itself, and a process that ended is started again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection
from typing import Any

import pyarrow as pa

from server.errors import OPERATIONAL, PgError

log = logging.getLogger(__name__)

#: The environment variable carrying the key both ends authenticate with.
AUTHKEY_ENV = "LAMNA_QUERY_PROCESS_AUTHKEY"


@dataclass(frozen=True, slots=True)
class Request:
    """One query, with what of the client's session it depends on."""

    sql: str
    database: str
    settings: tuple[tuple[str, str], ...]
    memory_cap: int  # bytes; 0: none
    #: the text error positions refer to (None: the client sent something else)
    position_text: str | None


def error_fields(error: PgError) -> tuple[Any, ...]:
    """A PgError as plain values (it is a dataclass, which exceptions do not pickle as)."""
    return dataclasses.astuple(error)


#: Seconds between two starts of one query process: one that cannot start (a warehouse it
#: may not read, say) must not be started again for every query.
RESTART_INTERVAL = 5.0


@dataclass(eq=False)
class _Process:
    address: str
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0  # time.monotonic() of the last start
    ready: bool = False
    running: int = 0  # queries of the server on it now


class QueryProcesses:
    """``count`` query processes, each with ``master``'s threads, started now (in the
    background: ``open`` returns None until one is ready; ``wait_ready`` waits)."""

    def __init__(self, count: int, warehouse: str, master: str | None, settings: dict[str, str],
                 nice: int = 0) -> None:
        self._dir = tempfile.mkdtemp(prefix="lamna-queries-")
        self._authkey = os.urandom(32)
        self._config = json.dumps({"warehouse": os.path.abspath(warehouse), "master": master,
                                   "settings": settings, "nice": nice})
        self._lock = threading.Lock()
        self._stopped = False
        self._processes = [_Process(os.path.join(self._dir, f"q{i}.sock")) for i in range(count)]
        for p in self._processes:
            self._start(p)

    def _start(self, p: _Process) -> None:
        if os.path.exists(p.address):
            os.unlink(p.address)  # a dead process's socket: the next one binds the path again
        env = dict(os.environ)
        env[AUTHKEY_ENV] = self._authkey.hex()
        env["PYTHONPATH"] = os.pathsep.join(x for x in sys.path if x)
        env["PYTHONHASHSEED"] = os.environ.get("PYTHONHASHSEED", "0")
        # stdin is a pipe the process never gets data on: it ends when the server does
        p.started, p.ready = time.monotonic(), False
        try:
            p.process = subprocess.Popen([sys.executable, "-m", "server.query_process", p.address, self._config],
                                         env=env, stdin=subprocess.PIPE)
        except OSError as ex:  # no processes left, say: the server runs the queries itself
            log.warning("cannot start a query process: %s", ex)
            p.process = None

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every process is ready (True), or one has ended or ``timeout``
        seconds have passed (False: the server runs queries itself until they are)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if any(p.process is None or p.process.poll() is not None for p in self._processes):
                    return False  # it failed at start: waiting longer would not help
                if all(self._is_ready(p) for p in self._processes):
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def ready_pids(self) -> list[int]:
        """Process ids of the query processes ready for queries."""
        with self._lock:
            return [p.process.pid for p in self._processes if self._is_ready(p) and p.process is not None]

    def open(self, request: Request) -> RemoteQuery | None:
        """``request`` sent to the least busy ready process; None when none is ready
        (the caller runs the query itself)."""
        with self._lock:
            if self._stopped:
                return None
            ready = [p for p in self._processes if self._is_ready(p)]
            if not ready:
                return None
            chosen = min(ready, key=lambda p: p.running)
            chosen.running += 1
        try:
            connection = Client(chosen.address, family="AF_UNIX", authkey=self._authkey)
            connection.send(request)
        except Exception as ex:  # noqa: BLE001 - it died meanwhile: the caller runs the query
            log.warning("query process at %s cannot take a query: %s", chosen.address, ex)
            self._finished(chosen)
            return None
        return RemoteQuery(connection, lambda: self._finished(chosen))

    def _is_ready(self, p: _Process) -> bool:
        """Called with the lock held; starts again a process that ended (not more often
        than every ``RESTART_INTERVAL`` seconds)."""
        code = p.process.poll() if p.process is not None else -1
        if code is not None:
            if time.monotonic() - p.started >= RESTART_INTERVAL:
                if p.process is not None:
                    log.warning("query process %d ended (exit status %s); starting another", p.process.pid, code)
                self._start(p)
            return False
        if not p.ready:
            p.ready = os.path.exists(p.address)  # it binds its socket once its engine is ready
        return p.ready

    def _finished(self, p: _Process) -> None:
        with self._lock:
            p.running -= 1

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            processes = [p.process for p in self._processes if p.process is not None]
        for process in processes:
            if process.stdin is not None:
                process.stdin.close()  # it exits on end of file
            process.terminate()
        for process in processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self._dir, ignore_errors=True)


class RemoteQuery:
    """One query on a query process: its columns, then its batches as they come.

    ``cancel`` may be called from any thread; everything else from the session's."""

    def __init__(self, connection: Connection, on_close: Callable[[], None]) -> None:
        self._connection = connection
        self._on_close: Callable[[], None] | None = on_close
        self._send_lock = threading.Lock()
        self.warnings: list[str] = []

    def columns(self) -> list[tuple[str, str]] | None:
        """(name, type) of the result's columns, once the process has planned the query."""
        message = self._recv()
        if message[0] != "columns":
            self.close()
            raise PgError(*message[1])
        return message[1]

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The result, pulled as the caller iterates; the query's connection is closed at
        its end, on an error, or when the caller stops early (``close``)."""
        try:
            self._send("rows")
            while True:
                message = self._recv()
                if message[0] == "batch":
                    yield message[1]
                elif message[0] == "end":
                    self.warnings = list(message[1])
                    return
                else:
                    raise PgError(*message[1])
        finally:
            self.close()

    def cancel(self) -> None:
        try:
            self._send("cancel")
        except (OSError, ValueError):
            pass  # already over

    def close(self) -> None:
        with self._send_lock:
            on_close, self._on_close = self._on_close, None
            if on_close is None:
                return
            self._connection.close()
        on_close()

    def _send(self, message: Any) -> None:
        with self._send_lock:
            if self._on_close is None:
                raise ValueError("the query is closed")
            self._connection.send(message)

    def _recv(self) -> tuple[Any, ...]:
        try:
            return self._connection.recv()
        except (EOFError, OSError):
            self.close()
            raise PgError(OPERATIONAL, "the query process running this statement ended before it finished") from None
