"""One Lamna engine per server process, and a PEP 249 connection per client session.

The only module of server/ that reaches past ``sql``'s public API, and only because that
API has no way yet to share one catalog and one RDD context between connections (see
the server's report to sql/: ``sql.Engine``). Everything below is read-only use of
attributes the ``StatementSession`` protocol documents (``catalog``, ``rdd_context``,
``current_database``); nothing of sql/ is patched.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sql
from server.detached import QueryProcesses
from sql.plan_cache import PlanCache
from sql.portable import detachable, mask_literals
from sql.session import CONTEXT_SETTINGS

log = logging.getLogger(__name__)

#: Templates the server's sessions share (``sql.plan_cache``): a client's first query of
#: a shape another client ran already is a hit. A key holds the database, settings and
#: session objects a plan depends on, so only sessions in the same state share one.
SHARED_PLANS = 2048

#: Seconds the server waits at start for its query processes (each opens the warehouse
#: and imports the engine: a second or two).
QUERY_PROCESS_START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class CatalogColumn:
    name: str
    hive_type: str
    comment: str | None


@dataclass(frozen=True, slots=True)
class CatalogTable:
    database: str
    name: str
    kind: str  # 'table' or 'view'
    columns: tuple[CatalogColumn, ...]
    comment: str | None


class Engine:
    """The shared engine: a root connection owns the catalog and the RDD context."""

    def __init__(self, warehouse: str | None, master: str | None, settings: dict[str, str],
                 query_processes: int = 0, query_nice: int = 0) -> None:
        # Resolve Hive's default here so that every session shares one catalog (a session
        # given no warehouse would open its own default one lazily).
        self.warehouse = warehouse or os.environ.get("LAMNA_WAREHOUSE") or "./lamna-warehouse"
        self._settings = settings
        self._root = sql.connect(warehouse=self.warehouse, master=master, **settings)
        self._lock = threading.Lock()
        self._plans = PlanCache(SHARED_PLANS)
        self.catalog()  # open now: a bad warehouse stops the server at start, not a client later
        self.rdd_context()  # likewise bad engine settings; and its worker processes start now
        #: where whole file-reading queries go (None: the server runs every query itself)
        self.queries: QueryProcesses | None = None
        if query_processes > 0:
            # Their own threads run their queries' tasks (no worker processes of their own),
            # and they read tables from storage: the cache is the server's.
            own = {k: v for k, v in settings.items() if k not in CONTEXT_SETTINGS}
            own["lamna.cache.enabled"] = "false"
            self.queries = QueryProcesses(query_processes, self.warehouse, master, own, query_nice)
            # Serve clients once they are ready: until then file-reading queries would run
            # here, the very contention they exist to avoid.
            if self.queries.wait_ready(QUERY_PROCESS_START_TIMEOUT):
                log.info("%d query process(es) ready", query_processes)
            else:
                log.warning("query processes not ready (one failed to start, or %.0f s passed): "
                            "queries run on the server until they are", QUERY_PROCESS_START_TIMEOUT)

    @property
    def _session(self) -> Any:
        return self._root.session

    def rdd_context(self) -> Any:
        return self._session.rdd_context

    def catalog(self) -> Any:
        return self._session.catalog_if_open() if hasattr(self._session, "catalog_if_open") else None

    def connect(self, settings: dict[str, str] | None = None) -> sql.Connection:
        """A new session sharing this engine's metastore, RDD context, cache and plans;
        ``settings`` over the engine's own. Its temporary views are its own (a catalog
        of its own over the shared metastore: ``Catalog.for_session``)."""
        root = self._session
        with self._lock:
            ctx = root.rdd_context
            shared = self.catalog()
        cat = shared.for_session() if shared is not None else None
        session = type(root)(warehouse=self.warehouse, settings={**self._settings, **(settings or {})},
                             catalog=cat, rdd_context=ctx, plans=self._plans)
        return sql.Connection(session)

    def release(self, conn: sql.Connection) -> None:
        """End a client's session: its temporary views and their cached copies go; the
        shared metastore and context stay (``Catalog.for_session``; a session stops
        only a context it created)."""
        conn.close()

    def close(self) -> None:
        if self.queries is not None:
            self.queries.stop()
        try:
            self._root.close()
        except Exception:  # shutting down: nothing left to tell the caller
            log.exception("closing the engine")

    # -- catalog listing for pg_catalog / information_schema
    def tables(self) -> Iterator[CatalogTable]:
        cat = self.catalog()
        if cat is None:
            return
        for db in cat.list_databases():
            for name in cat.list_tables(db):
                found = self.table(db, name)
                if found is not None:
                    yield found

    def table(self, db: str, name: str) -> CatalogTable | None:
        """One table of the catalog, or None (also when it was dropped meanwhile): what
        a query's RowDescription needs, without listing the whole catalog per query."""
        cat = self.catalog()
        if cat is None:
            return None
        try:
            t = cat.get_table(db, name)
        except Exception:  # no such table (or dropped between listing and reading)
            return None
        cols = tuple(CatalogColumn(c.name, c.type, c.comment)
                     for c in tuple(t.columns) + tuple(t.partition_columns))
        return CatalogTable(db, name, "view" if t.is_view else "table", cols, t.comment)

    def databases(self) -> list[str]:
        cat = self.catalog()
        return list(cat.list_databases()) if cat is not None else ["default"]


def current_database(conn: sql.Connection) -> str:
    return str(getattr(conn.session, "current_database", "default"))


def can_detach(conn: sql.Connection, text: str) -> bool:
    """Whether a query process may run ``text`` for this session (``sql.portable``)."""
    return detachable(conn.session, text)


def literals_masked(text: str) -> str:
    """``text`` with its literals masked (``sql.portable``): the texts of one prepared or
    repeated query, whatever its values, share one key."""
    return mask_literals(text)


def detached_settings(conn: sql.Connection) -> tuple[tuple[str, str], ...]:
    """The session's engine settings a query process applies to the queries it runs for
    it (its own Context's settings are its own)."""
    return tuple(sorted((k, v) for k, v in conn.session.settings.items() if k not in CONTEXT_SETTINGS))


#: Local properties the engine reads from the thread that runs a query.
POOL_PROPERTY = "spark.scheduler.pool"  # the rdd core's fair-scheduler pool
MEMORY_PROPERTY = "lamna.query.memory"  # the planner's per-query memory cap, in bytes


def set_job_group(conn: sql.Connection, group: str, description: str, pool: str,
                  memory_cap: int) -> None:
    """Tag the jobs the calling thread starts: their job group (so that ``cancel`` can
    stop their tasks, and the memory cap counts per statement), the session's
    fair-scheduler pool (free executor threads go first to the pool with the fewest
    running tasks, so one session's long query cannot starve another's short one), and
    the statement's memory cap (0: none)."""
    ctx = conn.session.rdd_context
    ctx.setJobGroup(group, description)
    ctx.setLocalProperty(POOL_PROPERTY, pool)
    ctx.setLocalProperty(MEMORY_PROPERTY, str(memory_cap) if memory_cap > 0 else None)


def cancel_job_group(conn: sql.Connection, group: str) -> None:
    conn.session.rdd_context.cancelJobGroup(group)


def progress(conn: sql.Connection, group: str) -> list[str]:
    """One line per stage of the group's jobs: name, completed/total tasks, rows its
    scans read (PySpark's StatusTracker, polled)."""
    tracker = conn.session.rdd_context.statusTracker()
    lines = []
    for job_id in tracker.getJobIdsForGroup(group):
        job = tracker.getJobInfo(job_id)
        if job is None:
            continue
        for stage_id in job.stageIds:
            stage = tracker.getStageInfo(stage_id)
            if stage is not None:
                state = "done" if stage.completed else f"{stage.numActiveTasks} running"
                lines.append(f"job {job_id} stage {stage_id} ({stage.name}): "
                             f"{stage.numCompletedTasks}/{stage.numTasks} tasks, {state}, "
                             f"{stage.inputRecords} rows read")
    return lines
