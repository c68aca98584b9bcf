"""One client's session: settings, prepared statements, portals, transaction state, and
statement execution against its own ``sql`` connection.

Everything here is synchronous and runs on the session's one worker thread (so the RDD
job group set for a query stays with the thread that runs its jobs); the connection
module does the socket I/O and calls in. A portal streams: rows are pulled from the
engine one Arrow batch at a time and encoded into DataRow messages as they are sent.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import sqlglot
from sqlglot import exp

from server import engine as E
from server import pgcatalog as C
from server import pgtypes as P
from server import protocol as M
from server import settings as S
from server.admission import Admission, Place, Slot
from server.detached import RemoteQuery, Request
from server.errors import (
    DUPLICATE_CURSOR,
    IN_FAILED_TRANSACTION,
    INVALID_CURSOR_NAME,
    QUERY_CANCELED,
    PgError,
    engine_error,
)
from server.statements import (
    CloseCursor,
    Command,
    CopyOut,
    Declare,
    EngineSql,
    Fetch,
    NoOp,
    SetVariable,
    ShowVariable,
    Transaction,
    classify,
    parameter_numbers,
    substitute,
)
from server.translate import Identity, translate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: P.ColumnType
    table_oid: int = 0
    attnum: int = 0


@dataclass
class Result:
    """What one statement produced: a row stream (``columns`` set) or just a command tag."""

    tag: str
    columns: list[Column] | None = None
    rows: RowSource | None = None
    count_in_tag: bool = False
    copy: bool = False
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (SQLSTATE, message) as NoticeResponse
    detached: bool = False  # a query process ran it (``server.detached``)


class RowSource:
    """Arrow batches from the engine, handed out ``n`` rows at a time (zero-copy slices)."""

    def __init__(self, batches: Iterator[pa.RecordBatch], session: Session | None,
                 notices: Callable[[], list[str]] | None = None, statement: str = "") -> None:
        self._it: Iterator[pa.RecordBatch] | None = batches
        self._statement = statement  # named in the log if fetching its rows fails internally
        self._head: pa.RecordBatch | None = None
        self._session = session
        self._notices = notices
        self.exhausted = False

    def take_notices(self) -> list[str]:
        """What the engine had to say about the rows (text fields read as NULL), once
        they have all been read; then nothing."""
        if not self.exhausted or self._notices is None:
            return []
        notices, self._notices = self._notices(), None
        return notices

    def take(self, n: int) -> list[pa.RecordBatch]:
        out: list[pa.RecordBatch] = []
        while n > 0 and not self.exhausted:
            if self._head is None or self._head.num_rows == 0:
                self._head = self._next()
                if self._head is None:
                    self.exhausted = True
                    break
            piece = self._head.slice(0, n)
            self._head = self._head.slice(piece.num_rows)
            n -= piece.num_rows
            out.append(piece)
        return out

    def _next(self) -> pa.RecordBatch | None:
        if self._it is None:
            return None
        assert self._session is not None  # only _StaticRows has none, and reads on its own
        self._session.check_cancel()
        try:
            return next(self._it)
        except StopIteration:
            self._it = None
            return None
        except PgError:
            raise
        except Exception as ex:
            self._it = None
            self._session.check_cancel()
            raise engine_error(ex, None, self._statement) from None

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()  # a remote query's connection, say
        self._it = None
        self._head = None
        self.exhausted = True


class Portal:
    """A bound statement: started lazily, then fetched from with row limits."""

    def __init__(self, name: str, command: Command, result_formats: tuple[int, ...], sql_text: str) -> None:
        self.name = name
        self.command = command
        self.result_formats = result_formats
        self.sql_text = sql_text
        self.result: Result | None = None
        self.sent = 0

    def formats(self) -> list[int]:
        n = len(self.result.columns or []) if self.result else 0
        if not self.result_formats:
            return [0] * n
        if len(self.result_formats) == 1:
            return [self.result_formats[0]] * n
        if len(self.result_formats) != n:
            raise PgError("08P01", f"bind message has {len(self.result_formats)} result formats but query has {n} columns")
        return list(self.result_formats)

    def fields(self) -> list[M.FieldDescription]:
        assert self.result is not None and self.result.columns is not None
        return [M.FieldDescription(c.name, c.type.oid, c.type.size, c.type.modifier, f, c.table_oid, c.attnum)
                for c, f in zip(self.result.columns, self.formats())]

    def fetch(self, limit: int) -> tuple[list[bytes], bool]:
        """Up to ``limit`` encoded DataRow (or CopyData) messages, and whether the rows are done."""
        assert self.result is not None and self.result.rows is not None
        src = self.result.rows
        formats = self.formats()
        out: list[bytes] = []
        for batch in src.take(limit):
            if self.result.copy:
                out.extend(_copy_rows(batch))
            elif batch.num_columns == 0:
                out.extend(M.data_row(()) for _ in range(batch.num_rows))
            else:
                cols = [P.column_encoder(col.type, fmt)(col) for col, fmt in zip(batch.columns, formats)]
                out.extend(M.data_row(values) for values in zip(*cols))
        self.sent += len(out)
        return out, src.exhausted

    def notices(self) -> list[str]:
        """The engine's warnings about the rows, once they have all been sent."""
        if self.result is None or self.result.rows is None:
            return []
        return self.result.rows.take_notices()

    def close(self) -> None:
        if self.result is not None and self.result.rows is not None:
            self.result.rows.close()


def _copy_rows(batch: pa.RecordBatch) -> list[bytes]:
    cols = [P.text_encoder(col.type)(col) for col in batch.columns]
    out = []
    for values in zip(*cols):
        fields = []
        for v in values:
            if v is None:
                fields.append(b"\\N")
            else:
                fields.append(v.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r"))
        out.append(M.copy_data(b"\t".join(fields) + b"\n"))
    return out


@dataclass
class PreparedStatement:
    name: str
    sql: str
    param_types: tuple[int, ...]
    command: Command
    nparams: int


@dataclass
class Session:
    engine: E.Engine
    user: str
    database: str
    pid: int
    key: int
    startup: dict[str, str] = field(default_factory=dict)
    #: the server's own defaults for settings (``--query-memory``, say), over ``S.DEFAULTS``
    defaults: dict[str, str] = field(default_factory=dict)
    #: the server's caps on queries at once (None: no cap)
    admission: Admission | None = None

    def __post_init__(self) -> None:
        self.conn = self.engine.connect()
        self.conn.register_udf("lamna_format_type", _format_type_udf, "string")
        self.defaults = {**S.DEFAULTS, **self.defaults}
        self.settings: dict[str, str] = dict(self.defaults)
        self.settings["session_authorization"] = self.user
        for k, v in self.startup.items():
            k = k.lower()
            if k in ("user", "database", "replication", "options"):
                continue
            try:
                self.settings[k] = S.check(k, v)
            except PgError:
                log.info("ignoring start-up parameter %s=%r", k, v)
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self.status = "I"  # ReadyForQuery: I idle, T in transaction, E failed transaction
        self.changed: list[tuple[str, str]] = []  # reported settings changed by the last statement
        self._cancel = threading.Event()
        self._cancel_reason = ""
        self._group: str | None = None
        self._running = threading.Event()
        self._active = False
        self._seq = 0
        #: queries on query processes this session is waiting for now (``cancel`` stops them)
        self._waiting_on: set[RemoteQuery] = set()
        self._slot: Slot | None = None  # the running statement's place in the server's caps

    # ---------------------------------------------------------------- cancellation
    def new_statement(self) -> None:
        """A client statement starts (a simple-query statement or an Execute): one job
        group and one cancel flag for all the calls that serve it."""
        self._seq += 1
        self._group = f"lamna-{self.pid}-{self._seq}"
        self._cancel.clear()
        self._active = True

    def end_statement(self) -> None:
        self._active = False
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()

    def _admit(self, place: Place) -> None:
        """Hold a slot at ``place`` until the statement ends (``server.admission``),
        waiting in its queue if the cap is reached; a statement that moves (no query
        process was ready) changes its slot."""
        if self.admission is None or (self._slot is not None and self._slot.place is place):
            return
        if self._slot is not None:
            self._slot.release()
            self._slot = None
        seq = self._seq
        slot = self.admission.enter(place, self.check_cancel)
        if not self._active or self._seq != seq:  # the statement ended while it waited
            slot.release()
            raise PgError(QUERY_CANCELED, "canceling statement: it ended while queued")
        self._slot = slot

    def enter_call(self) -> None:
        """On the worker thread, before a call that may run jobs."""
        if self._group is None:
            self.new_statement()
        assert self._group is not None
        self._running.set()
        # One fair-scheduler pool per session: its statements share its slots.
        E.set_job_group(self.conn, self._group, f"session {self.pid}", f"session-{self.pid}",
                        S.size_bytes(self.settings.get("lamna.query.memory", "0")))

    def exit_call(self) -> None:
        self._running.clear()

    def cancel(self, reason: str = "user request") -> None:
        """From any thread: stop the running statement's jobs (tasks included), now."""
        if not self._active:
            return
        self._cancel_reason = reason
        self._cancel.set()
        for remote in list(self._waiting_on):
            remote.cancel()
        group = self._group
        if group is None:
            return
        threading.Thread(target=self._cancel_loop, args=(group,), name=f"cancel-{self.pid}", daemon=True).start()

    def _cancel_loop(self, group: str) -> None:
        # toLocalIterator runs a job per partition: keep cancelling until the worker notices.
        for _ in range(100):
            try:
                E.cancel_job_group(self.conn, group)
            except Exception:
                log.debug("cancelling job group %s", group, exc_info=True)
            if not self._active or self._group != group:
                return
            time.sleep(0.05)

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise PgError(QUERY_CANCELED, f"canceling statement due to {self._cancel_reason}")

    def progress_lines(self) -> list[str]:
        """Stage and task counts of the running statement (for ``lamna.progress``)."""
        if self._group is None:
            return []
        try:
            return E.progress(self.conn, self._group)
        except Exception:  # progress is advisory: never fail a query over it
            log.debug("progress", exc_info=True)
            return []

    def wants_progress(self) -> bool:
        return self.settings.get("lamna.progress", "off").lower() in ("on", "true")

    def statement_timeout_s(self) -> float:
        return int(self.settings.get("statement_timeout", "0") or 0) / 1000.0

    # ---------------------------------------------------------------- prepared statements and portals
    def prepare(self, name: str, text: str, param_types: tuple[int, ...]) -> PreparedStatement:
        if name and name in self.statements:
            raise PgError("42P05", f'prepared statement "{name}" already exists')
        command = classify(text)
        nums = parameter_numbers(text)
        nparams = max(nums + [len(param_types)]) if nums or param_types else 0
        stmt = PreparedStatement(name, text, param_types, command, nparams)
        self.statements[name] = stmt
        return stmt

    def param_oids(self, stmt: PreparedStatement) -> list[int]:
        return [stmt.param_types[i] if i < len(stmt.param_types) and stmt.param_types[i] else P.TEXT
                for i in range(stmt.nparams)]

    def bind(self, msg: M.Bind) -> Portal:
        stmt = self.statements.get(msg.statement)
        if stmt is None:
            raise PgError("26000", f'prepared statement "{msg.statement}" does not exist')
        if len(msg.params) != stmt.nparams:
            raise PgError("08P01", f"bind message supplies {len(msg.params)} parameters, "
                                   f"but prepared statement \"{stmt.name}\" requires {stmt.nparams}")
        if msg.param_formats and len(msg.param_formats) not in (1, len(msg.params)):
            raise PgError("08P01", "bind message has a wrong number of parameter formats")
        if msg.portal and msg.portal in self.portals:
            raise PgError(DUPLICATE_CURSOR, f'portal "{msg.portal}" already exists')
        literals = []
        for i, value in enumerate(msg.params):
            fmt = msg.param_formats[0 if len(msg.param_formats) == 1 else i] if msg.param_formats else 0
            oid = stmt.param_types[i] if i < len(stmt.param_types) else 0
            try:
                literals.append(P.decode_parameter(value, oid, fmt))
            except P.ParameterError as ex:
                raise PgError("22P02", str(ex)) from None
        text = substitute(stmt.sql, literals) if stmt.nparams else stmt.sql
        command = classify(text) if stmt.nparams else stmt.command
        self.close_portal(msg.portal)
        portal = Portal(msg.portal, command, msg.result_formats, text)
        self.portals[msg.portal] = portal
        return portal

    def describe_statement(self, stmt: PreparedStatement) -> list[M.FieldDescription] | None:
        """Columns of a statement before its parameters are known: plan it with NULLs."""
        if not _returns_rows(stmt.command):
            return None
        text = substitute(stmt.sql, ["NULL"] * stmt.nparams) if stmt.nparams else stmt.sql
        portal = Portal("", classify(text), (), text)
        try:
            self.start(portal)
            return portal.fields() if portal.result and portal.result.columns is not None else None
        finally:
            portal.close()

    def close_portal(self, name: str) -> None:
        portal = self.portals.pop(name, None)
        if portal is not None:
            portal.close()

    def close_statement(self, name: str) -> None:
        self.statements.pop(name, None)

    # ---------------------------------------------------------------- execution
    def start(self, portal: Portal) -> Result:
        """Run the portal's command (a query only plans here; rows are pulled by ``fetch``).
        A query takes a slot where it runs for the statement (an Execute after Describe,
        or of a suspended portal, takes one again)."""
        if portal.result is None:
            portal.result = self._execute(portal.command, portal.sql_text)
        elif portal.result.rows is not None:
            self._admit(_place_of(portal.result))
        return portal.result

    def _execute(self, command: Command, text: str) -> Result:
        self.changed = []
        if self.status == "E" and not (isinstance(command, Transaction) and command.tag in ("ROLLBACK", "COMMIT", "ROLLBACK TO")):
            raise PgError(IN_FAILED_TRANSACTION,
                          "current transaction is aborted, commands ignored until end of transaction block")
        match command:
            case Transaction(tag):
                return self._transaction(tag)
            case SetVariable(name, value, _local):
                return self._set(name, value)
            case ShowVariable(name, hive):
                return self._show(name, hive)
            case Declare(name, query):
                return self._declare(name, query)
            case Fetch(name, count, move):
                return self._fetch(name, count, move)
            case CloseCursor(name):
                if name is None:
                    for p in [n for n in self.portals if n]:
                        self.close_portal(p)
                elif name not in self.portals:
                    raise PgError(INVALID_CURSOR_NAME, f'cursor "{name}" does not exist')
                else:
                    self.close_portal(name)
                return Result("CLOSE CURSOR" if name else "CLOSE CURSOR ALL")
            case CopyOut(query):
                result = self._engine(query)
                if result.columns is None:
                    raise PgError("0A000", "COPY needs a query that returns rows")
                result.copy, result.tag, result.count_in_tag = True, "COPY", True
                return result
            case NoOp(tag):
                return Result(tag)
            case EngineSql(sql_text):
                return self._engine(sql_text)
        raise AssertionError(f"unhandled command {command!r}")

    def _transaction(self, tag: str) -> Result:
        if tag == "BEGIN":
            if self.status != "I":
                return Result(tag, warnings=[("25001", "there is already a transaction in progress")])
            self.status = "T"
        elif tag in ("COMMIT", "ROLLBACK"):
            failed, idle = self.status == "E", self.status == "I"
            self.status = "I"
            if idle:
                return Result(tag, warnings=[("25P01", "there is no transaction in progress")])
            for name in [n for n in self.portals if n]:
                self.close_portal(name)
            return Result("ROLLBACK" if failed else tag)
        elif tag == "ROLLBACK TO":
            if self.status == "E":
                self.status = "T"
            return Result("ROLLBACK")
        return Result(tag)

    def _set(self, name: str, value: str | None) -> Result:
        if name == "all" and value is None:
            for k in list(self.settings):
                if k in self.defaults and self.settings[k] != self.defaults[k] and k not in ("server_version",):
                    self._store(k, self.defaults[k])
            return Result("RESET")
        new = self.defaults.get(name, "") if value is None else S.check(name, value)
        self._store(name, new)
        if "." in name:  # the engine's own setting (lamna.*, spark.*, hive.*)
            self._engine(f"SET {name}={new}")
        if name == "search_path":
            self._use_schema(new)
        return Result("SET" if value is not None else "RESET")

    def _use_schema(self, search_path: str) -> None:
        """The first schema of the search path that is a Lamna database becomes current."""
        known = set(self.engine.databases())
        for entry in (e.strip().strip('"') for e in search_path.split(",")):
            db = C.database_name(entry.lower())
            if entry and entry != "$user" and db in known:
                self._engine(f"USE `{db}`")
                return

    def _store(self, name: str, value: str) -> None:
        self.settings[name] = value
        if name in S.REPORTED:
            self.changed.append((S.REPORTED[name], value))

    def setting(self, name: str) -> str | None:
        return self.settings.get(name.lower())

    def _show(self, name: str, hive: bool = False) -> Result:
        """PostgreSQL's ``SHOW name`` (one column named after the setting), or Hive's
        ``SET key`` (a key and a value, whoever holds the setting)."""
        if name == "all":
            rows = sorted(self.settings.items())
            table = pa.table({"name": [k for k, _ in rows], "setting": [v for _, v in rows]})
            return _table_result("SHOW", table)
        if name not in self.settings and "." in name:
            result = self._engine(f"SET {name}")  # the engine's own setting: Hive's `SET key` shows it
            return result
        if name not in self.settings:
            raise PgError("42704", f'unrecognized configuration parameter "{name}"')
        if hive:
            return _table_result("SELECT", pa.table({"key": [name], "value": [self.settings[name]]}))
        return _table_result("SHOW", pa.table({name: [self.settings[name]]}))

    def _declare(self, name: str, query: str) -> Result:
        if name in self.portals:
            raise PgError(DUPLICATE_CURSOR, f'cursor "{name}" already exists')
        portal = Portal(name, EngineSql(query), (), query)
        self.start(portal)
        if portal.result is None or portal.result.columns is None:
            raise PgError("42601", "DECLARE CURSOR needs a query that returns rows")
        self.portals[name] = portal
        return Result("DECLARE CURSOR")

    def _fetch(self, name: str, count: int | None, move: bool) -> Result:
        cursor = self.portals.get(name)
        if cursor is None or cursor.result is None or cursor.result.rows is None:
            raise PgError(INVALID_CURSOR_NAME, f'cursor "{name}" does not exist')
        self._admit(_place_of(cursor.result))
        source = cursor.result.rows
        limit = count if count is not None else 1 << 62

        def batches() -> Iterator[pa.RecordBatch]:
            left = limit
            while left > 0 and not source.exhausted:
                got = source.take(min(left, 10_000))
                for b in got:
                    left -= b.num_rows
                    yield b
                if not got:
                    break

        if move:
            n = sum(b.num_rows for b in batches())
            return Result(f"MOVE {n}")
        return Result("FETCH", list(cursor.result.columns or []), RowSource(batches(), self), count_in_tag=True)

    # ---------------------------------------------------------------- the engine
    def identity(self) -> Identity:
        return Identity(user=self.user, database=self.database,
                        schema=C.schema_name(E.current_database(self.conn)), pid=self.pid,
                        settings=self.setting, set_setting=self._set_from_query, oid_of=self._oid_of)

    def _set_from_query(self, name: str, value: str) -> None:
        self._store(name, S.check(name, value))

    def _oid_of(self, name: str) -> int | None:
        parts = [p.strip('"') for p in name.split(".")]
        if (len(parts) == 2 and parts[0].lower() == "pg_catalog") or parts[-1].lower() in C.PG_CATALOG:
            return C.system_oid(parts[-1].lower())
        db = C.database_name(parts[0]) if len(parts) == 2 else E.current_database(self.conn)
        table = parts[-1].lower()
        return C.table_oid(db, table) if self.engine.table(db, table) is not None else None

    def _engine(self, text: str) -> Result:
        dialect = self.settings.get("lamna.dialect", "hive")
        tr = translate(text, self.identity(), dialect)
        if tr.system_tables:
            self._register_system_tables(tr.system_tables)
        elif self._detachable(tr.sql):
            self._admit(Place.QUERY_PROCESSES)
            remote = self._detach(tr.sql, None if tr.translated else text)
            if remote is not None:
                return self._remote_result(remote, tr.sql)
        self._admit(Place.SERVER)
        cur = self.conn.cursor()
        try:
            cur.execute(tr.sql)
        except PgError:
            raise
        except Exception as ex:  # the engine's errors and internal failures: reported, never crash the session
            self.check_cancel()  # a cancelled statement says why (user, timeout, disconnect)
            raise engine_error(ex, None if tr.translated else text, text) from None
        if cur.description is None:
            return Result(_command_tag(text, cur.rowcount))
        columns = [Column(d[0], P.hive_type_oid(str(d[1]))) for d in cur.description]
        columns = self._origins(tr.sql, columns)
        return Result("SELECT", columns, RowSource(cur.fetch_arrow_batches(), self, statement=text,
                                                   notices=lambda: [text for _, text in cur.messages]),
                      count_in_tag=True)

    def _detachable(self, text: str) -> bool:
        """Whether ``text`` may run on a query process (``server.detached``). Progress
        notices read this process's jobs, and ``lamna.executor=threads`` asks for the
        server's threads: neither is detached."""
        return (self.engine.queries is not None and not self.wants_progress()
                and self.settings.get("lamna.executor", "auto").strip().lower() != "threads"
                and E.can_detach(self.conn, text))

    def _detach(self, text: str, position_text: str | None) -> RemoteQuery | None:
        """``text`` started on a query process (None: none is ready)."""
        assert self.engine.queries is not None
        memory_cap = S.size_bytes(self.settings.get("lamna.query.memory", "0"))
        return self.engine.queries.open(Request(text, E.current_database(self.conn), E.detached_settings(self.conn),
                                                memory_cap, position_text))

    def _remote_result(self, remote: RemoteQuery, text: str) -> Result:
        with self.waiting_for(remote):
            described = remote.columns()
        if described is None:  # not a query after all: nothing to fetch
            remote.close()
            return Result(_command_tag(text, -1))
        columns = self._origins(text, [Column(name, P.hive_type_oid(type_)) for name, type_ in described])
        return Result("SELECT", columns, RowSource(_RemoteRows(remote, self), self, notices=lambda: remote.warnings,
                                                   statement=text),
                      count_in_tag=True, detached=True)

    @contextlib.contextmanager
    def waiting_for(self, remote: RemoteQuery) -> Iterator[None]:
        """While the enclosed code waits for ``remote``, ``cancel`` reaches it; an error
        it reports says why when the statement was cancelled here."""
        self._waiting_on.add(remote)
        if self._cancel.is_set():  # cancelled before ``remote`` was known to ``cancel``
            remote.cancel()
        try:
            yield
        except PgError:
            remote.close()
            self.check_cancel()
            raise
        finally:
            self._waiting_on.discard(remote)

    def _origins(self, text: str, columns: list[Column]) -> list[Column]:
        """Table OID and column number for columns a single-table query reads unchanged."""
        shape = _select_shape(E.literals_masked(text))
        if shape is None:
            return columns
        db_name, table, star, direct_names = shape
        db = db_name or E.current_database(self.conn)
        t = self.engine.table(db, table)
        if t is None:
            return columns
        index = {c.name.lower(): i for i, c in enumerate(t.columns, start=1)}
        oid = C.table_oid(db, t.name)
        out = []
        for c in columns:
            direct = star or c.name.lower() in direct_names
            n = index.get(c.name.lower(), 0) if direct else 0
            out.append(Column(c.name, c.type, oid if n else 0, n))
        return out

    def _register_system_tables(self, wanted: set[tuple[str, str]]) -> None:
        snapshot = C.Snapshot(tables=tuple(self.engine.tables()), databases=tuple(self.engine.databases()),
                              database=self.database, user=self.user,
                              settings=tuple(sorted(self.settings.items())))
        for schema, table in wanted:
            name = C.internal_name(schema, table)
            assert name is not None
            self.conn.register_arrow(name, C.build(schema, table, snapshot))

    def close(self) -> None:
        for name in list(self.portals):
            self.close_portal(name)
        self.engine.release(self.conn)




@functools.lru_cache(maxsize=512)
def _select_shape(text: str) -> tuple[str | None, str, bool, frozenset[str]] | None:
    """(database, table, ``*`` selected, output names that are plain columns of it) for
    a single-table SELECT; None for anything else. Parsing is most of this server's own
    work per query, hence the cache."""
    try:
        tree = sqlglot.parse_one(text, read="hive")
    except Exception:  # not ours to report: the engine already accepted the text
        return None
    source = tree.args.get("from_") or tree.args.get("from") if isinstance(tree, exp.Select) else None
    if not isinstance(source, exp.From) or tree.args.get("joins"):
        return None
    src = source.this
    if not isinstance(src, exp.Table) or src.name.startswith(C.INTERNAL):
        return None
    direct = frozenset(p.alias_or_name.lower() for p in tree.expressions
                       if isinstance(p, exp.Column) and p.alias_or_name.lower() == p.name.lower())
    star = any(isinstance(p, exp.Star) for p in tree.expressions)
    return (src.db.lower() or None, src.name.lower(), star, direct)


def _returns_rows(command: Command) -> bool:
    match command:
        case ShowVariable() | Fetch(move=False):
            return True
        case EngineSql(text):
            word = text.lstrip(" \t\r\n(").split(None, 1)[0].lower() if text.strip(" \t\r\n(") else ""
            return word in ("select", "with", "values", "show", "describe", "desc", "explain", "table")
    return False


def _place_of(result: Result) -> Place:
    """Where a started query's rows come from, for its slot (``server.admission``)."""
    return Place.QUERY_PROCESSES if result.detached else Place.SERVER


def _table_result(tag: str, table: pa.Table) -> Result:
    columns = [Column(f.name, P.column_type(f.type)) for f in table.schema]
    return Result(tag, columns, _StaticRows(table.to_batches()), count_in_tag=tag != "SHOW")


class _RemoteRows:
    """A remote query's batches, each awaited so that the session's ``cancel`` reaches it."""

    def __init__(self, remote: RemoteQuery, session: Session) -> None:
        self._remote = remote
        self._batches = remote.batches()
        self._session = session

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        with self._session.waiting_for(self._remote):
            return next(self._batches)

    def close(self) -> None:
        self._batches.close()
        self._remote.close()


class _StaticRows(RowSource):
    """Rows the server made itself: no engine to cancel, nothing to report."""

    def __init__(self, batches: list[pa.RecordBatch]) -> None:
        super().__init__(iter(batches), session=None)

    def _next(self) -> pa.RecordBatch | None:
        assert self._it is not None
        return next(self._it, None)


def _command_tag(text: str, rowcount: int) -> str:
    words = text.split()
    first = words[0].upper() if words else ""
    n = max(rowcount, 0)
    if first == "INSERT":
        return f"INSERT 0 {n}"
    if first in ("UPDATE", "DELETE"):
        return f"{first} {n}"
    if first in ("CREATE", "DROP", "ALTER", "TRUNCATE") and len(words) > 1:
        second = words[1].upper()
        if second in ("EXTERNAL", "TEMPORARY", "TEMP", "OR"):
            second = next((w.upper() for w in words[2:] if w.upper() in ("TABLE", "VIEW", "DATABASE", "SCHEMA")), second)
        return f"{first} {second}" if first != "TRUNCATE" else "TRUNCATE TABLE"
    return first or "OK"


def _format_type_udf(oids: pa.Array, mods: pa.Array) -> pa.Array:
    return pa.array([None if o is None else P.format_type(int(o), -1 if m is None else int(m))
                     for o, m in zip(oids.to_pylist(), mods.to_pylist())], pa.string())
