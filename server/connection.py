"""One client connection: start-up, authentication, then the simple and extended query
protocols, over asyncio streams.

The connection owns the socket and a one-thread executor on which its ``Session`` runs
every engine call (blocking work never touches the event loop). Any protocol violation,
hostile length or timeout while a message is half-read closes this connection only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import ssl
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from server import protocol as M
from server.errors import (
    ADMIN_SHUTDOWN,
    INTERNAL,
    INVALID_AUTHORIZATION,
    INVALID_PASSWORD,
    PROTOCOL_VIOLATION,
    QUERY_CANCELED,
    TOO_MANY_CONNECTIONS,
    WARNING,
    PgError,
)
from server.scram import MECHANISM, ScramError, ScramExchange
from server.session import Portal, Result, Session
from server.settings import REPORTED
from server.statements import classify, split_statements
from server.worker import Worker

if TYPE_CHECKING:
    from server.server import Server

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Rows per DataRow burst between socket drains: bounds the memory a result can hold.
CHUNK_ROWS = 1000
#: A message whose header has arrived must be complete within this (slow-loris guard).
BODY_TIMEOUT = 30.0


#: What ``Portal.fetch`` returns: encoded rows, and whether the portal is exhausted.
Rows = tuple[list[bytes], bool]


class Closed(Exception):
    """The connection is over (client gone, terminated, or closed by us)."""


class ClientConnection:
    def __init__(self, server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 pid: int) -> None:
        self.server = server
        self.reader, self.writer = reader, writer
        self.pid = pid
        self.key = secrets.randbits(31)
        self.session: Session | None = None
        self.user = "?"
        self.peer = writer.get_extra_info("peername")
        self._out: list[bytes] = []
        self._worker: Worker | None = None
        self._skip_to_sync = False

    # ---------------------------------------------------------------- I/O
    def send(self, data: bytes) -> None:
        self._out.append(data)

    async def flush(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out = []
            try:
                self.writer.write(data)
                await self.writer.drain()
            except (ConnectionError, OSError):
                raise Closed("client went away") from None

    async def _read_exact(self, n: int, timeout: float | None) -> bytes:
        """``n`` bytes within ``timeout`` seconds (None: no limit of its own).
        ``asyncio.timeout``, not ``wait_for``: no task per read."""
        try:
            if timeout is None:
                return await self.reader.readexactly(n)
            async with asyncio.timeout(timeout):
                return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            raise Closed("client closed the connection") from None
        except TimeoutError:
            raise M.ProtocolViolation("timed out reading a message") from None
        except (ConnectionError, OSError):
            raise Closed("connection reset") from None

    async def read_startup(self, timeout: float) -> M.StartupPacket:
        head = await self._read_exact(4, timeout)
        (length,) = struct.unpack("!i", head)
        if length < 8 or length > M.MAX_STARTUP:
            raise M.ProtocolViolation(f"invalid start-up packet length {length}")
        return M.decode_startup(await self._read_exact(length - 4, timeout))

    async def read_message(self, timeout: float | None = None) -> M.FrontendMessage:
        kind = await self._read_exact(1, timeout)
        try:
            async with asyncio.timeout(BODY_TIMEOUT):  # one deadline for the rest of the message
                (length,) = struct.unpack("!i", await self._read_exact(4, None))
                if length < 4 or length > M.MAX_MESSAGE:
                    raise M.ProtocolViolation(f"invalid message length {length}")
                body = await self._read_exact(length - 4, None)
        except TimeoutError:
            raise M.ProtocolViolation("timed out reading a message") from None
        return M.decode_message(kind, body)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._worker is not None
        return await self._worker.run(fn, *args)

    # ---------------------------------------------------------------- lifecycle
    async def serve(self) -> None:
        started = time.monotonic()
        reason = "closed"
        try:
            if not await self._startup():
                return
            await self._loop()
        except Closed as ex:
            reason = str(ex)
        except M.ProtocolViolation as ex:
            reason = f"protocol violation: {ex}"
            await self._fatal(PROTOCOL_VIOLATION, str(ex))
        except TimeoutError:
            reason = "start-up or authentication timed out"
            await self._fatal(PROTOCOL_VIOLATION, "timeout during start-up or authentication")
        except PgError as ex:
            reason = ex.message
            await self._fatal(ex.code, ex.message)
        except asyncio.CancelledError:
            reason = "server shutting down"
            await self._fatal(ADMIN_SHUTDOWN, "terminating connection due to administrator command")
            raise
        except Exception as ex:  # a bug here must not take the server down
            reason = f"internal error: {type(ex).__name__}: {ex}"
            log.exception("connection %d failed", self.pid)
            await self._fatal(INTERNAL, "internal server error")
        finally:
            await self._cleanup()
            if self.session is not None:
                log.info("disconnect pid=%d user=%s peer=%s duration=%.3fs reason=%s", self.pid, self.user,
                         self.peer, time.monotonic() - started, reason)
            elif reason != "closed":
                log.info("rejected peer=%s user=%s duration=%.3fs reason=%s", self.peer, self.user,
                         time.monotonic() - started, reason)

    async def _fatal(self, code: str, message: str) -> None:
        try:
            self._out = []
            self.send(M.error_response(code, message, severity="FATAL"))
            await asyncio.wait_for(self.flush(), 2)
        except Exception:
            pass

    async def _cleanup(self) -> None:
        self.server.unregister(self)
        session = self.session
        if session is not None:
            session.cancel("connection closed")
        if self._worker is not None:
            if session is not None:
                self._worker.submit(session.close)
            self._worker.stop()
        try:
            self.writer.close()
        except Exception:
            pass

    # ---------------------------------------------------------------- start-up and authentication
    async def _startup(self) -> bool:
        timeout = self.server.config.auth_timeout
        packet = await self.read_startup(timeout)
        if isinstance(packet, M.SSLRequest):
            ctx = self.server.ssl_context
            if ctx is None:
                self.writer.write(b"N")
                await self.writer.drain()
            else:
                self.writer.write(b"S")
                await self.writer.drain()
                await self._start_tls(ctx)
            packet = await self.read_startup(timeout)
        if isinstance(packet, M.GSSENCRequest):
            self.writer.write(b"N")
            await self.writer.drain()
            packet = await self.read_startup(timeout)
        if isinstance(packet, M.CancelRequest):
            self.server.cancel(packet.pid, packet.key)
            return False
        if not isinstance(packet, M.StartupMessage):
            raise M.ProtocolViolation("expected a start-up message")
        user = packet.params.get("user")
        if not user:
            raise PgError(INVALID_AUTHORIZATION, "no PostgreSQL user name specified in startup packet")
        self.user = user
        await asyncio.wait_for(self._authenticate(user), timeout)
        database = packet.params.get("database") or user
        if not self.server.admit(self):
            raise PgError(TOO_MANY_CONNECTIONS, "sorry, too many clients already")
        self._worker = Worker(f"lamna-conn-{self.pid}")
        try:
            self.session = await self.run_blocking(
                lambda: Session(self.server.engine, user, database, self.pid, self.key, dict(packet.params),
                                self.server.session_defaults, self.server.admission))
        except Exception as ex:
            log.exception("cannot open a session")
            raise PgError(INTERNAL, f"cannot open a session: {ex}") from None
        log.info("connect pid=%d user=%s database=%s peer=%s application=%s", self.pid, user, database, self.peer,
                 packet.params.get("application_name", ""))
        self.send(M.auth_ok())
        for name, value in self._reported():
            self.send(M.parameter_status(name, value))
        self.send(M.backend_key(self.pid, self.key))
        self.send(M.ready_for_query("I"))
        await self.flush()
        return True

    def _reported(self) -> list[tuple[str, str]]:
        assert self.session is not None
        return [(shown, self.session.settings.get(k, "")) for k, shown in REPORTED.items()]

    async def _start_tls(self, ctx: ssl.SSLContext) -> None:
        await self.writer.start_tls(ctx)

    async def _authenticate(self, user: str) -> None:
        config = self.server.config
        if config.trust:
            return
        record = self.server.users.get(user)
        method = config.auth_method
        if method == "scram-sha-256":
            ok = await self._scram(record.scram if record else None)
        elif method == "md5":
            salt = secrets.token_bytes(4)
            self.send(M.auth_md5(salt))
            await self.flush()
            answer = await self._password_message()
            expected = None
            if record is not None and record.md5:
                expected = "md5" + hashlib.md5(record.md5[3:].encode("ascii") + salt).hexdigest()
            ok = expected is not None and hmac.compare_digest(answer.encode("utf-8"), expected.encode("ascii"))
        else:
            self.send(M.auth_cleartext())
            await self.flush()
            answer = await self._password_message()
            ok = record is not None and await asyncio.get_running_loop().run_in_executor(
                None, record.scram.check_password, answer)
        if not ok:
            log.info("authentication failed user=%s peer=%s method=%s", user, self.peer, method)
            raise PgError(INVALID_PASSWORD, f'password authentication failed for user "{user}"')

    async def _password_message(self) -> str:
        msg = await self.read_message(self.server.config.auth_timeout)
        if not isinstance(msg, M.PasswordData):
            raise M.ProtocolViolation("expected a password message")
        return msg.data.rstrip(b"\0").decode("utf-8", "replace")

    async def _scram(self, verifier: Any) -> bool:
        self.send(M.auth_sasl([MECHANISM]))
        await self.flush()
        first = await self.read_message(self.server.config.auth_timeout)
        if not isinstance(first, M.PasswordData):
            raise M.ProtocolViolation("expected SASLInitialResponse")
        data = first.data
        end = data.find(b"\0")
        if end < 0 or len(data) < end + 5:
            raise M.ProtocolViolation("malformed SASLInitialResponse")
        mechanism = data[:end].decode("ascii", "replace")
        if mechanism != MECHANISM:
            raise PgError(INVALID_AUTHORIZATION, f"SASL mechanism {mechanism!r} is not supported")
        (size,) = struct.unpack_from("!i", data, end + 1)
        payload = data[end + 5:]
        if size != len(payload):
            raise M.ProtocolViolation("SASLInitialResponse length mismatch")
        exchange = ScramExchange(verifier)
        try:
            self.send(M.auth_sasl_continue(exchange.first(payload)))
            await self.flush()
            final = await self.read_message(self.server.config.auth_timeout)
            if not isinstance(final, M.PasswordData):
                raise M.ProtocolViolation("expected SASLResponse")
            answer = exchange.final(final.data)
        except ScramError as ex:
            raise M.ProtocolViolation(f"SCRAM: {ex}") from None
        if answer is None:
            return False
        self.send(M.auth_sasl_final(answer))
        return True

    # ---------------------------------------------------------------- the message loop
    async def _loop(self) -> None:
        while True:
            msg = await self.read_message()
            if self._skip_to_sync and not isinstance(msg, (M.Sync, M.Terminate)):
                continue
            match msg:
                case M.Terminate():
                    raise Closed("client terminated")
                case M.Query(sql):
                    await self._simple_query(sql)
                case M.Sync():
                    self._skip_to_sync = False
                    self.send(M.ready_for_query(self._status()))
                    await self.flush()
                case M.Flush():
                    await self.flush()
                case M.PasswordData() | M.CopyFromClient():
                    continue  # nothing asked for them; PostgreSQL ignores stray CopyData too
                case _:
                    await self._extended(msg)

    def _status(self) -> str:
        return self.session.status if self.session is not None else "I"

    def _statement(self) -> _StatementScope:
        """One client statement: one job group and cancel flag, and the session's
        statement timeout over all of it (a query's slot in the server's caps is taken by
        the session once it knows where the query runs: ``server.admission``)."""
        assert self.session is not None
        return _StatementScope(self, self.session)

    async def _report_progress(self) -> None:
        """NoticeResponse lines as stages advance, while the statement runs."""
        assert self.session is not None
        seen: set[str] = set()
        while True:
            await asyncio.sleep(0.3)
            for line in self.session.progress_lines():
                if line not in seen:
                    seen.add(line)
                    self.send(M.notice_response(line, severity="INFO"))
            await self.flush()

    async def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a session call on the worker thread, inside the current job group."""
        return await self.run_blocking(self._in_call, fn, *args)

    def _in_call(self, fn: Callable[..., T], *args: Any) -> T:
        assert self.session is not None
        self.session.enter_call()
        try:
            return fn(*args)
        finally:
            self.session.exit_call()

    def _error(self, ex: PgError, offset: int = 0) -> None:
        assert self.session is not None
        if self.session.status == "T":
            self.session.status = "E"
        position = ex.position + offset if ex.position is not None else None
        self.send(M.error_response(ex.code, ex.message, position, ex.detail, ex.hint))

    def _unexpected(self, ex: Exception) -> PgError:
        log.exception("pid=%d: internal error", self.pid)
        return PgError(INTERNAL, f"internal error: {type(ex).__name__}")

    async def _simple_query(self, sql: str) -> None:
        assert self.session is not None
        statements = split_statements(sql)
        if not statements:
            self.send(M.empty_query())
        for offset, text in statements:
            started = time.monotonic()
            try:
                portal = Portal("", classify(text), (), text)
                async with self._statement():
                    result, first = await self._guarded(self._start, portal, 0)
                    self._announce_settings(result)
                    if result.columns is not None:
                        if result.copy:
                            self.send(M.copy_out_response(len(result.columns)))
                        else:
                            self.send(M.row_description(portal.fields()))
                        await self._stream(portal, 0, first)
                        if result.copy:
                            self.send(M.copy_done())
                        self._send_notices(portal)
                self.send(M.command_complete(_tag(portal)))
                self._log_statement(text, started, "ok", portal.sent, _ran_on(portal))
            except PgError as ex:
                self._log_statement(text, started, f"error {ex.code}", 0)
                self._error(ex, offset)
                break
            except (Closed, M.ProtocolViolation, asyncio.CancelledError):
                raise
            except Exception as ex:
                self._error(self._unexpected(ex))
                break
            finally:
                if len(statements) > 1:  # each statement's answer as it is done
                    await self.flush()
        self.send(M.ready_for_query(self._status()))
        await self.flush()

    def _start(self, portal: Portal, max_rows: int) -> tuple[Result, Rows | None]:
        """Start ``portal`` and fetch its first rows (on the session's thread): a short
        query then costs one hand-over to that thread and back, not two."""
        assert self.session is not None
        result = self.session.start(portal)
        if result.columns is None:
            return result, None
        return result, portal.fetch(_chunk(max_rows))

    async def _stream(self, portal: Portal, max_rows: int, first: Rows | None = None) -> bool:
        """Send rows (all, or up to ``max_rows``), beginning with ``first`` when the
        portal's first rows were fetched as it started; True when it is exhausted."""
        assert self.session is not None
        left = max_rows if max_rows > 0 else None
        while True:
            if first is not None:
                (rows, done), first = first, None
            else:
                rows, done = await self._guarded(portal.fetch, _chunk(left))
            self._out.extend(rows)
            if left is not None:
                left -= len(rows)
            if done:
                return True
            if left is not None and left <= 0:
                return False
            await self.flush()  # between chunks: the socket's back-pressure bounds memory

    def _announce_settings(self, result: Any = None) -> None:
        """ParameterStatus for changed reported settings, NoticeResponse for warnings."""
        assert self.session is not None
        for code, message in getattr(result, "warnings", ()):
            self.send(M.notice_response(message, code, severity="WARNING"))
        for name, value in self.session.changed:
            self.send(M.parameter_status(name, value))
        self.session.changed = []

    def _send_notices(self, portal: Portal) -> None:
        for message in portal.notices():
            self.send(M.notice_response(message, WARNING, severity="WARNING"))

    def _log_statement(self, text: str, started: float, outcome: str, rows: int, on: str = "") -> None:
        log.info("statement pid=%d user=%s duration=%.3fs rows=%d%s %s: %s", self.pid, self.user,
                 time.monotonic() - started, rows, on, outcome, " ".join(text.split())[:300])

    # ---------------------------------------------------------------- extended query
    async def _extended(self, msg: M.FrontendMessage) -> None:
        assert self.session is not None
        session = self.session
        try:
            match msg:
                case M.Parse(name, sql, types):
                    if name and name in session.statements:
                        raise PgError("42P05", f'prepared statement "{name}" already exists')
                    session.prepare(name, sql, types)
                    self.send(M.parse_complete())
                case M.Bind():
                    await self._guarded(session.bind, msg)
                    self.send(M.bind_complete())
                case M.Describe("S", name):
                    stmt = session.statements.get(name)
                    if stmt is None:
                        raise PgError("26000", f'prepared statement "{name}" does not exist')
                    self.send(M.parameter_description(session.param_oids(stmt)))
                    async with self._statement():  # planning may run jobs: a query slot, cancellable
                        fields = await self._guarded(session.describe_statement, stmt)
                    self.send(M.row_description(fields) if fields is not None else M.no_data())
                case M.Describe("P", name):
                    portal = self._portal(name)
                    async with self._statement():  # planning may run jobs: a query slot, cancellable
                        result = await self._guarded(session.start, portal)
                    self._announce_settings()
                    if result.columns is not None and not result.copy:
                        self.send(M.row_description(portal.fields()))
                    else:
                        self.send(M.no_data())
                case M.Execute(name, max_rows):
                    await self._execute(self._portal(name), max_rows)
                case M.Close("S", name):
                    session.close_statement(name)
                    self.send(M.close_complete())
                case M.Close("P", name):
                    await self.run_blocking(session.close_portal, name)
                    self.send(M.close_complete())
                case _:
                    raise M.ProtocolViolation(f"unexpected message {type(msg).__name__}")
        except PgError as ex:
            self._error(ex)
            self._skip_to_sync = True
        except (Closed, M.ProtocolViolation, asyncio.CancelledError):
            raise
        except Exception as ex:
            self._error(self._unexpected(ex))
            self._skip_to_sync = True
        if len(self._out) > 64:
            await self.flush()

    def _portal(self, name: str) -> Portal:
        assert self.session is not None
        portal = self.session.portals.get(name)
        if portal is None:
            raise PgError("34000", f'portal "{name}" does not exist')
        return portal

    async def _execute(self, portal: Portal, max_rows: int) -> None:
        started = time.monotonic()
        fresh = portal.result is None
        try:
            assert self.session is not None
            async with self._statement():
                result, first = await self._guarded(self._start, portal, max_rows)
                self._announce_settings(result)
                if result.columns is None:
                    self.send(M.command_complete(_tag(portal)))
                else:
                    if result.copy:
                        self.send(M.copy_out_response(len(result.columns)))
                    done = await self._stream(portal, max_rows, first)
                    if result.copy:
                        self.send(M.copy_done())
                    if done:
                        self._send_notices(portal)
                        self.send(M.command_complete(_tag(portal)))
                    else:
                        self.send(M.portal_suspended())
            if fresh:
                self._log_statement(portal.sql_text, started, "ok", portal.sent, _ran_on(portal))
        except PgError as ex:
            self._log_statement(portal.sql_text, started, f"error {ex.code}", 0)
            raise


class _StatementScope:
    """``ClientConnection._statement``: a class rather than a generator-based context
    manager, as every statement enters one."""

    def __init__(self, connection: ClientConnection, session: Session) -> None:
        self._connection, self._session = connection, session
        self._timer: asyncio.TimerHandle | None = None
        self._watch: _DisconnectWatch | None = None
        self._progress: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        connection, session = self._connection, self._session
        try:
            session.new_statement()
            loop = asyncio.get_running_loop()
            timeout = session.statement_timeout_s()
            if timeout > 0:
                self._timer = loop.call_later(timeout, session.cancel, "statement timeout")
            self._watch = _DisconnectWatch(loop, connection.reader, session)
            if session.wants_progress():
                self._progress = asyncio.create_task(connection._report_progress())
        except BaseException:
            await self.__aexit__()
            raise

    async def __aexit__(self, *exc: object) -> None:
        if self._watch is not None:
            self._watch.stop()
        if self._progress is not None:
            self._progress.cancel()
        if self._timer is not None:
            self._timer.cancel()
        self._session.end_statement()  # gives back its query slot (``server.admission``)


def _chunk(left: int | None) -> int:
    """Rows to fetch next: a chunk, or what is left of an Execute's row limit (0 or
    None: no limit)."""
    return CHUNK_ROWS if not left else min(CHUNK_ROWS, left)


class _DisconnectWatch:
    """A client that hangs up mid-statement frees its tasks: EOF on the socket cancels.

    A timer that re-arms itself while the statement runs, rather than a task per
    statement: a short query then never pays for creating and cancelling one.
    """

    INTERVAL = 0.25

    def __init__(self, loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader, session: Session) -> None:
        self._loop, self._reader, self._session = loop, reader, session
        self._handle: asyncio.TimerHandle | None = None
        self._check()

    def _check(self) -> None:
        if self._reader.at_eof():
            self._handle = None
            self._session.cancel("client disconnect")
        else:
            self._handle = self._loop.call_later(self.INTERVAL, self._check)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _tag(portal: Portal) -> str:
    assert portal.result is not None
    r = portal.result
    return f"{r.tag} {portal.sent}" if r.count_in_tag else r.tag


__all__ = ["QUERY_CANCELED", "ClientConnection"]


def _ran_on(portal: Portal) -> str:
    """`` on=query-process`` in a statement's log line when a query process ran it."""
    return " on=query-process" if portal.result is not None and portal.result.detached else ""
