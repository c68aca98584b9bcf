"""A query process: runs whole queries the server hands it, on an engine of its own.

Started by ``server.detached.QueryProcesses`` as ``python -m server.query_process
ADDRESS CONFIG`` (CONFIG: JSON with the warehouse, master and engine settings; the
authentication key comes in the environment). It opens the same warehouse as the
server, binds a Unix socket at ADDRESS once its engine is ready, and serves one query
per accepted connection, each on a thread of its own:

    server → process   Request
    process → server   ("columns", [(name, type), …])  or  ("error", PgError fields)
    server → process   "rows"  (or "cancel", or it hangs up)
    process → server   ("batch", RecordBatch)* then ("end", [warning, …]) or ("error", …)

Batches are sent as fast as the socket takes them, so the socket's buffer is all the
rows in flight: a client fetching slowly holds the query back, not memory. "cancel" or
a closed connection at any point cancels the query's jobs. The process exits when the
server does (its standard input, a pipe from the server, reaches end of file).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, Listener
from typing import Any

import pyarrow as pa

import sql
from server import engine as E
from server.detached import AUTHKEY_ENV, Request, error_fields
from server.errors import PgError, engine_error

log = logging.getLogger("lamna.query_process")

#: Idle sessions kept per (database, settings): as many as queries of one kind usually
#: run at once on one process.
_IDLE_SESSIONS = 4


class _Sessions:
    """Idle client sessions by (database, settings): a query reuses one rather than
    setting up a session (and its USE) per query. Plans are the engine's, shared by
    all its sessions (``server.engine.SHARED_PLANS``)."""

    def __init__(self, engine: E.Engine) -> None:
        self._engine = engine
        self._idle: dict[tuple[str, tuple[tuple[str, str], ...]], list[sql.Connection]] = {}
        self._lock = threading.Lock()

    def take(self, request: Request) -> sql.Connection:
        key = (request.database, request.settings)
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
        conn = self._engine.connect(dict(request.settings))
        if request.database != E.current_database(conn):
            conn.cursor().execute(f"USE `{request.database.replace('`', '``')}`")
        return conn

    def give_back(self, request: Request, conn: sql.Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault((request.database, request.settings), [])
            if len(idle) < _IDLE_SESSIONS:
                idle.append(conn)


class _Query:
    """One accepted connection: the request it brings, run on the calling thread, while a
    watcher thread reads what the server says next."""

    _groups = itertools.count(1)

    def __init__(self, connection: Connection, sessions: _Sessions) -> None:
        self.connection = connection
        self.sessions = sessions
        self.group = f"detached-{os.getpid()}-{next(self._groups)}"
        self.go = threading.Event()  # the server wants the rows
        self.cancelled = threading.Event()
        self.done = threading.Event()

    def serve(self) -> None:
        try:
            request = self.connection.recv()
        except (EOFError, OSError):
            return
        try:
            conn = self.sessions.take(request)
        except Exception as ex:  # noqa: BLE001 - its database was dropped, say
            self._fail(engine_error(ex, request.position_text, request.sql))
            self.connection.close()
            return
        try:
            self._run(request, conn)
        finally:
            self.done.set()
            self.sessions.give_back(request, conn)
            self.connection.close()
            # a long-lived process would otherwise keep one query's peak resident in
            # Arrow's allocator until the next peak
            pa.default_memory_pool().release_unused()

    def _run(self, request: Request, conn: sql.Connection) -> None:
        E.set_job_group(conn, self.group, "detached query", self.group, request.memory_cap)
        threading.Thread(target=self._watch, args=(conn,), name=f"{self.group}-watch", daemon=True).start()
        try:
            cur = conn.cursor()
            cur.execute(request.sql)
            columns = [(d[0], str(d[1])) for d in cur.description] if cur.description else None
            self._send(("columns", columns))
            self.go.wait()
            if columns is not None and not self.cancelled.is_set():
                for batch in cur.fetch_arrow_batches():
                    if self.cancelled.is_set():
                        return
                    self._send(("batch", batch))
            if not self.cancelled.is_set():
                self._send(("end", [text for _, text in cur.messages]))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            pass  # the server hung up: the watcher cancels
        except Exception as ex:  # noqa: BLE001 - every failure of the query goes to the server
            self._fail(engine_error(ex, request.position_text, request.sql))

    def _fail(self, error: PgError) -> None:
        try:
            self._send(("error", error_fields(error)))
        except OSError:
            pass  # the server hung up first

    def _send(self, message: tuple[Any, ...]) -> None:
        self.connection.send(message)

    def _watch(self, conn: sql.Connection) -> None:
        """Read "rows" and "cancel"; on "cancel" or a hang-up, cancel the query's jobs
        until its thread is done with them (a result runs a job per fetched part)."""
        while not self.done.is_set():
            try:
                message = self.connection.recv()
            except (EOFError, OSError):
                message = "cancel"
            if message == "rows":
                self.go.set()
                continue
            self.cancelled.set()
            self.go.set()
            while not self.done.wait(0.05):
                try:
                    E.cancel_job_group(conn, self.group)
                except Exception:  # nothing to cancel yet, or already done
                    log.debug("cancelling %s", self.group, exc_info=True)
            return


def _exit_with_parent(stream: Any, exit: Callable[[int], None] = os._exit) -> None:
    """Block until the server's end of our standard input closes, then exit: a query
    process never outlives its server, however the server ended."""
    try:
        while stream.read(65536):
            pass
    finally:
        exit(0)


def main(argv: list[str]) -> None:
    address, config_json = argv
    config = json.loads(config_json)
    authkey = bytes.fromhex(os.environ.pop(AUTHKEY_ENV))
    logging.basicConfig(level=logging.WARNING, format="lamna query process %(process)d: %(message)s")
    if config.get("nice"):
        os.nice(int(config["nice"]))
    threading.Thread(target=_exit_with_parent, args=(sys.stdin.buffer,), name="parent", daemon=True).start()
    try:
        engine = E.Engine(config["warehouse"], config.get("master"), dict(config.get("settings", {})))
        listener = Listener(address, family="AF_UNIX", authkey=authkey)
    except Exception as ex:  # noqa: BLE001 - one line in the server's log; the server runs the queries
        log.error("cannot start: %s: %s", type(ex).__name__, ex)
        sys.exit(1)
    sessions = _Sessions(engine)
    while True:
        try:
            connection = listener.accept()
        except Exception:  # a failed handshake ends that connection only
            log.debug("refused a connection", exc_info=True)
            continue
        query = _Query(connection, sessions)
        threading.Thread(target=query.serve, name=query.group, daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
