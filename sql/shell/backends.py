"""Where statements run: the embedded engine (``sql.connect``) or a ``lamna serve`` (psycopg).

Both speak PEP 249, so one loop fetches rows for either; what differs is how a running
statement is cancelled (the RDD job group vs a PostgreSQL cancel request), where progress
comes from (the RDD status tracker vs the server's ``lamna.progress`` notices, one line
per stage), and how column types are named (Hive names vs PostgreSQL OIDs, mapped back
to Hive names).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sql.shell.formatting import ResultSet

FETCH_ROWS = 1000
_groups = itertools.count(1)


@dataclass
class Outcome:
    """What one statement produced: rows (``result``) or an affected-row count."""

    result: ResultSet | None
    rowcount: int = -1
    #: warnings the statement left once its rows were read (PEP 249 ``cursor.messages``)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Progress:
    """A snapshot for the progress bar; ``stages``/``tasks`` are None when unknown.

    ``rows`` counts rows fetched so far, ``rows_read`` the rows the statement's scans
    read from storage (None when the backend cannot tell)."""

    stages_done: int | None = None
    stages: int | None = None
    tasks_done: int | None = None
    tasks: int | None = None
    rows: int = 0
    rows_read: int | None = None


class Cancelled(Exception):
    """The user cancelled the statement (Ctrl-C)."""


class Backend:
    """A PEP 249 connection plus the shell's needs: cancel, progress, catalog listing."""

    label = "lamna"

    def __init__(self) -> None:
        self.conn: Any = None
        self._cancel = threading.Event()
        self._rows = 0

    # -- running one statement (called from a worker thread)
    def execute(self, text: str) -> Outcome:
        self._cancel.clear()
        self._rows = 0
        cur = self.conn.cursor()
        try:
            self._start(text)
            cur.execute(text)
            if cur.description is None:
                fallback = self._no_rows_fallback(text)
                if fallback is not None:
                    return Outcome(fallback)
                return Outcome(None, cur.rowcount if cur.rowcount is not None else -1)
            result = ResultSet([d[0] for d in cur.description], [self.type_name(d) for d in cur.description])
            while True:
                if self._cancel.is_set():
                    raise Cancelled()
                chunk = cur.fetchmany(FETCH_ROWS)
                if not chunk:
                    break
                result.rows.extend(tuple(r) for r in chunk)
                self._rows = len(result.rows)
            return Outcome(result, warnings=tuple(str(text) for _, text in getattr(cur, "messages", ())))
        except Exception:
            if self._cancel.is_set():
                raise Cancelled() from None
            raise
        finally:
            self._finish()
            try:
                cur.close()
            except Exception:
                pass

    def query_rows(self, text: str) -> list[tuple[Any, ...]]:
        """Rows of a catalog statement (SHOW/DESCRIBE) for meta-commands and completion."""
        outcome = self.execute(text)
        return outcome.result.rows if outcome.result is not None else []

    def cancel(self) -> None:
        """Ask the running statement to stop; safe to call repeatedly from another thread."""
        self._cancel.set()

    def progress(self) -> Progress:
        return Progress(rows=self._rows)

    def type_name(self, description: Any) -> str:
        return str(description[1] or "")

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:
            pass

    # -- hooks
    def _start(self, text: str) -> None:
        pass

    def _finish(self) -> None:
        pass

    def _no_rows_fallback(self, text: str) -> ResultSet | None:
        return None


class EmbeddedBackend(Backend):
    """The engine in this process; Ctrl-C cancels the statement's RDD job group."""

    def __init__(self, warehouse: str | None, settings: dict[str, str]) -> None:
        super().__init__()
        import logging

        import sql

        logging.getLogger("sqlglot").setLevel(logging.ERROR)  # parser fallbacks are not user news
        self.conn = sql.connect(warehouse=warehouse, **settings)
        self.label = "lamna"
        self._group: str | None = None
        self._ctx: Any = None

    def _context(self) -> Any:
        """The session's RDD Context (created on first use, like the engine does)."""
        if self._ctx is None:
            session = getattr(self.conn, "session", None)
            self._ctx = getattr(session, "rdd_context", None)
        return self._ctx

    def _start(self, text: str) -> None:
        ctx = self._context()
        self._group = f"lamna-shell-{next(_groups)}"
        if ctx is not None:
            ctx.setJobGroup(self._group, text[:200])

    def _finish(self) -> None:
        self._group = None

    def cancel(self) -> None:
        super().cancel()
        ctx, group = self._ctx, self._group
        if ctx is not None and group is not None:
            ctx.cancelJobGroup(group)

    def active_tasks(self) -> int:
        """Tasks still running in any stage this Context knows (what Ctrl-C must bring to 0)."""
        ctx = self._ctx
        if ctx is None:
            return 0
        tracker = ctx.statusTracker()
        total = 0
        for sid in tracker.getActiveStageIds():
            info = tracker.getStageInfo(sid)
            total += info.numActiveTasks if info is not None else 0
        return total

    def progress(self) -> Progress:
        ctx, group = self._ctx, self._group
        if ctx is None or group is None:
            return Progress(rows=self._rows)
        tracker = ctx.statusTracker()
        stages = done = tasks = tasks_done = rows_read = 0
        seen: set[int] = set()
        for job_id in tracker.getJobIdsForGroup(group):
            job = tracker.getJobInfo(job_id)
            for sid in job.stageIds if job is not None else ():
                if sid in seen:
                    continue
                seen.add(sid)
                info = tracker.getStageInfo(sid)
                stages += 1
                if info is None:
                    continue  # not submitted yet (or skipped): counts as a stage to go
                tasks += info.numTasks
                tasks_done += info.numCompletedTasks
                rows_read += info.inputRecords
                done += bool(info.completed)
        return Progress(done, stages, tasks_done, tasks, self._rows, rows_read)

    def _no_rows_fallback(self, text: str) -> ResultSet | None:
        """SHOW/DESCRIBE rows when ``sql.session`` drops them (it reads ``schema`` off a
        StatementResult that only has ``table``); read-only statements, so re-running is safe."""
        head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
        if head not in ("SHOW", "DESCRIBE", "DESC"):
            return None
        session = getattr(self.conn, "session", None)
        statements = getattr(session, "_statements", None)
        if statements is None:
            return None
        import sqlglot

        try:
            stmt = sqlglot.parse_one(text, read="hive")
            res = statements.execute_statement(stmt, text, session)
        except Exception:
            return None
        table = getattr(res, "table", None)
        if table is None:
            return None
        from planner import types as T

        types = []
        for f in table.schema:
            try:
                types.append(T.type_name(f.type))
            except Exception:
                types.append(str(f.type))
        return ResultSet(list(table.column_names), types, [tuple(r.values()) for r in table.to_pylist()])


#: A ``lamna serve`` progress notice (server/engine.py ``progress``); rows read is optional
#: so that an older server's lines still give stages and tasks.
_STAGE_LINE = re.compile(r"job \d+ stage (\d+) \(.*\): (\d+)/(\d+) tasks, (done|\d+ running)"
                         r"(?:, (\d+) rows read)?")


@dataclass(frozen=True)
class StageLine:
    """One stage as a progress notice describes it."""

    stage_id: int
    tasks_done: int
    tasks: int
    completed: bool
    rows_read: int | None

    @classmethod
    def parse(cls, message: str) -> StageLine | None:
        """The stage a notice describes, or None for any other notice.

        >>> StageLine.parse("job 1 stage 4 (collect at x): 3/8 tasks, 2 running, 1200 rows read")
        StageLine(stage_id=4, tasks_done=3, tasks=8, completed=False, rows_read=1200)
        """
        m = _STAGE_LINE.fullmatch(message.strip())
        if m is None:
            return None
        stage, done, total, state, read = m.groups()
        return cls(int(stage), int(done), int(total), state == "done", None if read is None else int(read))


def progress_of(stages: list[StageLine], rows: int) -> Progress:
    """What the latest line of every stage seen so far adds up to (stages not yet
    submitted are unknown to the server's lines, so the total grows as they start)."""
    if not stages:
        return Progress(rows=rows)
    read = [s.rows_read for s in stages if s.rows_read is not None]
    return Progress(sum(s.completed for s in stages), len(stages), sum(s.tasks_done for s in stages),
                    sum(s.tasks for s in stages), rows, sum(read) if read else None)


class RemoteBackend(Backend):
    """A ``lamna serve`` (or any PostgreSQL-protocol server) through psycopg.

    With ``progress``, the session asks for ``lamna.progress`` notices and the progress
    bar adds up their per-stage lines (a server that does not send them shows fetched
    rows only)."""

    def __init__(self, url: str, ask_password: Callable[[], str] | None = None,
                 progress: bool = False) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise RuntimeError("--connect needs psycopg: pip install 'psycopg[binary]'") from None

        # autocommit: the engine commits every statement; no prepared statements, so the
        # simple query protocol carries the text exactly as the user typed it.
        try:
            self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=None)
        except psycopg.OperationalError as ex:
            if ask_password is None or "password" not in str(ex).lower():
                raise
            # like psql: the server wants a password the URL and PGPASSWORD did not give
            self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=None, password=ask_password())
        self.label = "lamna"
        self._busy = threading.Event()
        self._stages: dict[int, StageLine] = {}
        if progress:
            self.conn.add_notice_handler(self._on_notice)
            try:
                self.conn.execute("SET lamna.progress = on")
            except psycopg.Error:
                pass  # not a Lamna server: no progress lines, fetched rows only

    def _on_notice(self, diagnostic: Any) -> None:
        """Called by psycopg on the statement's thread while it waits for results."""
        line = StageLine.parse(getattr(diagnostic, "message_primary", None) or "")
        if line is not None and self._busy.is_set():
            self._stages[line.stage_id] = line

    def progress(self) -> Progress:
        return progress_of(list(self._stages.values()), self._rows)

    def _start(self, text: str) -> None:
        self._stages = {}
        self._busy.set()

    def _finish(self) -> None:
        self._busy.clear()

    def cancel(self) -> None:
        super().cancel()
        if self._busy.is_set():
            try:
                cancel: Callable[[], None] = getattr(self.conn, "cancel_safe", None) or self.conn.cancel
                cancel()
            except Exception:
                pass

    def type_name(self, description: Any) -> str:
        from sql.shell.values import PG_TYPE_NAMES

        oid = getattr(description, "type_code", None)
        name = PG_TYPE_NAMES.get(oid) if isinstance(oid, int) else None
        if name == "decimal":
            prec, scale = getattr(description, "precision", None), getattr(description, "scale", None)
            if prec is not None:
                return f"decimal({prec},{scale or 0})"
        return name or str(oid)


def open_backend(connect: str | None, warehouse: str | None, settings: dict[str, str],
                 ask_password: Callable[[], str] | None = None, progress: bool = False) -> Backend:
    """The backend the command line asks for (``--connect URL`` or the embedded engine);
    ``ask_password`` is called when a server wants a password (None: just fail);
    ``progress``: a progress bar may be drawn, so a server should send progress notices."""
    if connect:
        backend: Backend = RemoteBackend(connect, ask_password, progress)
        for key, value in settings.items():
            backend.execute(f"SET {key}={value}")
        return backend
    return EmbeddedBackend(warehouse, settings)
