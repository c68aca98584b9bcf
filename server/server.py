"""The server loop: accepts connections, keeps the registry that CancelRequest looks up,
caps connections and concurrent queries, and shuts down cleanly.

One shared ``Engine`` (one catalog, one RDD context, one cache) serves every session.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import os
import ssl
from dataclasses import dataclass

from server import settings as S
from server.admission import Admission
from server.connection import ClientConnection
from server.engine import Engine
from server.errors import PgError
from server.users import User, load_users

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 5433
    warehouse: str | None = None
    master: str | None = None
    users_file: str | None = None
    trust: bool = False
    auth_method: str = "scram-sha-256"  # or "md5", "password"
    tls_cert: str | None = None
    tls_key: str | None = None
    max_connections: int = 100
    max_concurrent_queries: int = 8
    auth_timeout: float = 15.0
    settings: tuple[tuple[str, str], ...] = ()
    #: every session's default ``lamna.query.memory`` (a size such as ``2GB``; ``0``: no cap)
    query_memory: str = "0"
    #: worker processes for the queries that read files (None: one per core; 0: none)
    workers: int | None = None
    #: query processes that take whole file-reading queries (None: one per core; 0: none)
    query_processes: int | None = None


class ConfigError(ValueError):
    """The server cannot start with this configuration (exit status 2)."""


#: How much lower the operating-system priority of the worker and query processes is than
#: the server's: the short queries the server answers itself get the cores first.
WORKERS_NICE = 10


def _engine_settings(config: ServerConfig) -> dict[str, str]:
    """The engine's settings: the configured ones, and worker processes for the queries
    that read files (``sql``'s ``lamna.executor=auto``). On their own processes, at a
    lower priority, long queries cannot hold the server's interpreter lock, and short
    queries on cached tables, which stay on the server's threads, get the cores first."""
    settings = dict(config.settings)
    given = settings.get("lamna.workers")
    if config.workers is not None and given is not None and given.strip() != str(config.workers):
        raise ConfigError(f"--workers {config.workers} and --set lamna.workers={given} disagree: give one")
    settings.setdefault("lamna.workers", str(_per_core(config.workers)))
    settings.setdefault("lamna.workers.nice", str(WORKERS_NICE))
    return settings


def _per_core(count: int | None) -> int:
    """A process count as configured, else one per core."""
    return count if count is not None else os.cpu_count() or 1


class Server:
    def __init__(self, config: ServerConfig, engine: Engine | None = None) -> None:
        if not config.trust and not config.users_file:
            raise ConfigError("refusing to start without authentication: give --users FILE "
                              "(see `lamna user add`) or --trust for development")
        if config.auth_method not in ("scram-sha-256", "md5", "password"):
            raise ConfigError(f"unknown auth method {config.auth_method!r}")
        if config.max_concurrent_queries < 1:
            raise ConfigError("max_queries must be at least 1")
        try:
            query_memory = S.check("lamna.query.memory", config.query_memory)
        except PgError as ex:
            raise ConfigError(f"query_memory: {ex.message}") from None
        #: settings every session starts with (the server's choices over PostgreSQL's)
        self.session_defaults = {"lamna.query.memory": query_memory}
        self.config = config
        self.users: dict[str, User] = load_users(config.users_file) if config.users_file else {}
        self.ssl_context = self._tls(config)
        if config.workers is not None and config.workers < 0:
            raise ConfigError("workers must be 0 or more")
        if config.query_processes is not None and config.query_processes < 0:
            raise ConfigError("query processes must be 0 or more")
        query_processes = _per_core(config.query_processes)
        self.engine = engine or Engine(config.warehouse, config.master, _engine_settings(config),
                                       query_processes, WORKERS_NICE)
        self.connections: dict[int, ClientConnection] = {}
        self._pids = itertools.count(os.getpid() * 1000 % 2_000_000_000 + 1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.base_events.Server | None = None
        self.admission = Admission(config.max_concurrent_queries)
        self.port = config.port

    @staticmethod
    def _tls(config: ServerConfig) -> ssl.SSLContext | None:
        if not config.tls_cert:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_cert_chain(config.tls_cert, config.tls_key)
        except (OSError, ssl.SSLError) as ex:
            raise ConfigError(f"cannot load the TLS certificate: {ex}") from None
        return ctx

    async def start(self) -> None:
        if self.config.trust:
            log.warning("TRUST authentication: anyone who can reach %s:%d connects as any user "
                        "(development only)", self.config.host, self.config.port)
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("listening on %s:%d (warehouse %s, tls %s)", self.config.host, self.port,
                 self.config.warehouse or "default", "on" if self.ssl_context else "off")
        missing = [name for name, present in (("sqlglotc", _sqlglot_compiled()), ("uvloop", _on_uvloop()))
                   if not present]
        if missing:
            log.info("running without %s: install lamna[server] for a faster server", " and ".join(missing))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ClientConnection(self, reader, writer, next(self._pids))
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.serve()
        except asyncio.CancelledError:
            pass  # shutdown cancelled it and the client has been told; end the task normally
        finally:
            if task is not None:
                self._tasks.discard(task)

    def admit(self, conn: ClientConnection) -> bool:
        if len(self.connections) >= self.config.max_connections:
            return False
        self.connections[conn.pid] = conn
        return True

    def unregister(self, conn: ClientConnection) -> None:
        if self.connections.get(conn.pid) is conn:
            del self.connections[conn.pid]

    def cancel(self, pid: int, key: int) -> None:
        conn = self.connections.get(pid)
        if conn is None or conn.session is None or not hmac.compare_digest(
                key.to_bytes(4, "big", signed=True), conn.key.to_bytes(4, "big", signed=True)):
            log.info("cancel request for pid=%d ignored (no such backend or wrong key)", pid)
            return
        log.info("cancel request pid=%d", pid)
        conn.session.cancel("user request")

    async def serve_forever(self, stop: asyncio.Event) -> None:
        await self.start()
        await stop.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop accepting, cancel running queries, tell clients, close the engine."""
        log.info("shutting down: %d connection(s)", len(self.connections))
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections.values()):
            if conn.session is not None:
                conn.session.cancel("administrator command")
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except TimeoutError:
                pass
        await asyncio.get_running_loop().run_in_executor(None, self.engine.close)
        log.info("stopped")


def _sqlglot_compiled() -> bool:
    """Whether sqlglot's parser is the ahead-of-time compiled one (the ``server`` extra:
    sqlglotc replaces its modules in place, so the module's file says which it is)."""
    import sqlglot.parser

    return not str(sqlglot.parser.__file__).endswith(".py")


def _on_uvloop() -> bool:
    return type(asyncio.get_running_loop()).__module__.startswith("uvloop")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The server's event loop: uvloop's (libuv, compiled; the ``server`` extra) when it
    is installed, else asyncio's own. Every message and statement of every client
    passes through the loop, and under load the pure-Python loop's own bookkeeping was
    the larger part of the server's interpreter time."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
