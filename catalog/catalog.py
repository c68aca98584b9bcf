"""``Catalog``: the facade the SQL layer talks to.

Owns one warehouse directory: the SQLite metastore inside it and the managed tables
under ``<warehouse>/<db>.db/<table>/``. Every DDL is one metastore transaction; every
data write goes through ``catalog.writer`` (staging + commit); scans get a consistent
snapshot (``scan_source``). Opening a catalog recovers writes of crashed processes.

Identifiers (databases, tables, columns) are case-insensitive and stored in lower
case, as in Hive. Temporary views live in this object only (one per session).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pyarrow.fs as pafs

from catalog import formats
from catalog.analyze import StatsOps
from catalog.cache import CachedTableSource, CacheOps
from catalog.errors import (
    CatalogError,
    DatabaseNotFound,
    MetastoreLocked,
    NotATable,
    TableExists,
    TableNotFound,
)
from catalog.files import delete_dir, exists, join, list_data_files, resolve
from catalog.metastore import METASTORE_FILE, Metastore
from catalog.model import (
    MANAGED,
    VIEW,
    Column,
    Database,
    Table,
    partition_spec_path,
)
from catalog.partitions import PartitionOps
from catalog.source import (
    DEFAULT_SPLIT_BYTES,
    PartitionFiles,
    TableSource,
    typed_partition_values,
)
from catalog.validation import check_columns, like_to_regex, normalize_table
from catalog.writer import (
    execute_plan,
    new_write_id,
    process_alive,
    process_start_time,
    staging_location,
    trash_location,
)
from catalog.writes import WriteOps

log = logging.getLogger(__name__)

DEFAULT_WAREHOUSE = "./lamna-warehouse"
DEFAULT_DATABASE = "default"
WAREHOUSE_ENV = "LAMNA_WAREHOUSE"


class Catalog(CacheOps, PartitionOps, WriteOps, StatsOps):
    """A warehouse opened by one session (a process may open several); sessions of one
    server share its metastore through ``for_session``.

    The columnar cache (``catalog.cache``) is one per process, shared by every catalog
    of the process; ``CacheOps`` comes first so its overrides of the writes see them.
    """

    def __init__(self, warehouse: str, metastore: Metastore) -> None:
        self.warehouse = warehouse
        self.metastore = metastore
        self._temp_views: dict[str, Table] = {}  # temporary views live here, not in the metastore
        self._owns_metastore = True  # False: a session's catalog (``for_session``)
        self._cache_scope = f"temp-{uuid.uuid4().hex}"  # names this catalog's cached temp views
        self._inputs = threading.local()  # what recording_inputs() sees on each thread
        self._host = socket.gethostname()
        self._proc: tuple[int, float | None] | None = None
        #: False: tables are always read from storage, never from (or into) this process's
        #: cache (a query process of the server, which has the cache)
        self.caching = True

    # -- lifecycle --------------------------------------------------------------------

    def _me(self) -> tuple[int, float | None]:
        """(pid, process start time) of the calling process, recomputed after a fork."""
        pid = os.getpid()
        if self._proc is None or self._proc[0] != pid:
            self._proc = (pid, process_start_time(pid))
        return self._proc

    @classmethod
    def open(cls, warehouse: str | None = None, *, busy_timeout: float = 30.0, caching: bool = True) -> Catalog:
        """Open (creating if needed) a warehouse: argument, else $LAMNA_WAREHOUSE, else
        ``./lamna-warehouse``. Recovers writes left by crashed processes. ``caching=False``:
        tables are read from storage even when their definition asks for the cache."""
        location = warehouse or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
        if "://" not in location:
            location = os.path.abspath(location)
        location = location.removeprefix("file://")
        if "://" in location:
            raise CatalogError(
                f"Warehouse {location}: the metastore needs a local directory (table data may "
                "live on any filesystem via LOCATION)"
            )
        os.makedirs(location, exist_ok=True)
        ms = Metastore(os.path.join(location, METASTORE_FILE), busy_timeout=busy_timeout)
        cat = cls(location, ms)
        cat.caching = caching
        cat._ensure_default_database()
        cat.recover()
        return cat

    def for_session(self) -> Catalog:
        """A catalog over the same warehouse and metastore with temporary views (and
        cached temporary views) of its own: what each client session of a server gets,
        so that one client's temporary views are invisible to the others. Closing it
        leaves the metastore open."""
        session = type(self)(self.warehouse, self.metastore)
        session.caching = self.caching
        session._owns_metastore = False
        return session

    def close(self) -> None:
        """End this catalog's temporary views (and their cached copies), and close the
        metastore unless it is shared (``for_session``)."""
        for name in list(self._temp_views):
            self.drop_temp_view(name)
        if self._owns_metastore:
            self.metastore.close()

    def change_token(self) -> tuple[Any, ...]:
        """Differs after any commit to the metastore (``Metastore.change_token``) and
        whenever this catalog's temporary views differ: they are part of it, so two
        session catalogs without temporary views have equal tokens."""
        return (*self.metastore.change_token(), tuple(sorted(self._temp_views.items())))

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_default_database(self) -> None:
        try:
            self.metastore.get_database(DEFAULT_DATABASE)
        except DatabaseNotFound:
            try:
                with self.metastore.transaction() as tx:
                    if self.metastore._get_database(tx, DEFAULT_DATABASE) is None:
                        self.metastore.create_database(
                            tx, Database(DEFAULT_DATABASE, self._db_location(DEFAULT_DATABASE), "Default Hive database")
                        )
            except CatalogError:
                pass

    def recover(self) -> list[str]:
        """Finish or undo writes whose process died; returns the write ids handled."""
        handled = []
        for w in self.metastore.list_writes():
            same_host = w["host"] == self._host
            dead = (same_host and not process_alive(w["pid"], w.get("proc_start"))) or (
                not same_host and time.time() - w["started"] > 24 * 3600
            )
            if not dead or not self._claim(w):
                continue
            if w["state"] == "committing" and w["plan"]:
                log.warning("rolling forward write %s of %s.%s", w["id"], w["db"], w["table"])
                execute_plan(w["plan"])
            else:
                log.warning("discarding unfinished write %s of %s.%s", w["id"], w["db"], w["table"])
                fs, path = resolve(w["staging"])
                delete_dir(fs, path)
            self.metastore.end_write(w["id"])
            handled.append(w["id"])
        return handled

    def _claim(self, w: dict[str, Any]) -> bool:
        """Take over a dead write so that only one process recovers it."""
        with self.metastore.transaction() as tx:
            cur = tx.execute(
                "UPDATE writes SET host = ?, pid = ?, proc_start = ? WHERE id = ? AND host = ? AND pid = ?",
                (self._host, *self._me(), w["id"], w["host"], w["pid"]),
            )
            return cur.rowcount == 1

    # -- databases --------------------------------------------------------------------

    def _db_location(self, name: str) -> str:
        return os.path.join(self.warehouse, f"{name}.db")

    def create_database(
        self, name: str, *, comment: str | None = None, location: str | None = None,
        properties: Sequence[tuple[str, str]] = (), if_not_exists: bool = False,
    ) -> bool:
        name = name.lower()
        db = Database(name, location or self._db_location(name), comment, tuple(properties))
        with self.metastore.transaction() as tx:
            if if_not_exists and self.metastore._get_database(tx, name) is not None:
                return False
            self.metastore.create_database(tx, db)
        fs, path = resolve(db.location)
        fs.create_dir(path, recursive=True)
        return True

    def drop_database(self, name: str, *, if_exists: bool = False, cascade: bool = False) -> bool:
        name = name.lower()
        if name == DEFAULT_DATABASE:
            raise CatalogError("Cannot drop the default database")
        with self.metastore.transaction() as tx:
            if self.metastore._get_database(tx, name) is None:
                if if_exists:
                    return False
                raise DatabaseNotFound(name)
            db = self.metastore.get_database(name, tx)
            dropped = self.metastore.drop_database(tx, name, cascade)
        self._cache_database_dropped(name)
        for t in dropped:
            self._delete_managed_data(t)
        fs, path = resolve(db.location)
        if exists(fs, path) and not fs.get_file_info(pafs.FileSelector(path, recursive=True)):
            fs.delete_dir(path)
        return True

    def get_database(self, name: str) -> Database:
        return self.metastore.get_database(name.lower())

    def database_exists(self, name: str) -> bool:
        try:
            self.get_database(name)
            return True
        except DatabaseNotFound:
            return False

    def list_databases(self, pattern: str | None = None) -> list[str]:
        names = [d.name for d in self.metastore.list_databases()]
        if pattern:
            rx = like_to_regex(pattern)
            names = [n for n in names if rx.fullmatch(n)]
        return names

    # -- tables -----------------------------------------------------------------------

    def default_location(self, db: str, name: str) -> str:
        return join(self.get_database(db).location, name.lower())

    def create_table(self, table: Table, *, if_not_exists: bool = False) -> bool:
        """Register ``table`` (names lower-cased, managed location defaulted, dir created)."""
        table = normalize_table(table)
        if table.temporary:
            raise CatalogError("use create_temp_view for temporary views")
        check_columns(table)
        self._cache_check(table)
        if table.kind != VIEW and table.location is None:
            table = replace(table, location=self.default_location(table.db, table.name))
        if table.kind != VIEW:
            formats.get(table.storage.format)
        with self.metastore.transaction() as tx:
            if if_not_exists and self.metastore._get_table(tx, table.db, table.name) is not None:
                return False
            self.metastore.create_table(tx, replace(table, created=time.time()))
        if table.kind == MANAGED and table.location:
            fs, path = resolve(table.location)
            fs.create_dir(path, recursive=True)
        return True

    def create_temp_view(self, name: str, sql: str, columns: Sequence[Column], *, replace_existing: bool = False) -> None:
        key = name.lower()
        if key in self._temp_views and not replace_existing:
            raise TableExists(name)
        self._temp_views[key] = Table(
            db="", name=key, kind=VIEW, columns=tuple(columns), view_sql=sql, temporary=True,
            created=time.time(),
        )

    def drop_temp_view(self, name: str) -> bool:
        self._cache_temp_view_dropped(name)
        return self._temp_views.pop(name.lower(), None) is not None

    def temp_views(self) -> list[str]:
        return sorted(self._temp_views)

    def lookup(self, db: str | None, name: str, current_database: str) -> Table:
        """Resolve a possibly unqualified name: temporary views shadow tables."""
        if db is None and name.lower() in self._temp_views:
            t = self._temp_views[name.lower()]
        else:
            t = self.get_table(db or current_database, name)
        self._record_view(t)
        return t

    def get_table(self, db: str, name: str) -> Table:
        return self.metastore.get_table(db.lower(), name.lower())

    def table_exists(self, db: str, name: str) -> bool:
        return self.metastore.find_table(db.lower(), name.lower()) is not None

    def list_tables(self, db: str, pattern: str | None = None) -> list[str]:
        names = self.metastore.list_tables(db.lower())
        if pattern:
            rx = like_to_regex(pattern)
            names = [n for n in names if rx.fullmatch(n)]
        return names

    def drop_table(self, db: str, name: str, *, if_exists: bool = False, view: bool | None = None, purge: bool = False) -> bool:
        """Drop a table (``view=False``), view (``view=True``) or either; managed data is deleted."""
        db, name = db.lower(), name.lower()
        with self.metastore.transaction() as tx:
            t = self.metastore._get_table(tx, db, name)
            if t is None:
                if if_exists:
                    return False
                raise TableNotFound(f"{db}.{name}")
            if view is True and not t.is_view:
                raise NotATable(f"{t.qualified_name} is a table, not a view; use DROP TABLE")
            if view is False and t.is_view:
                raise NotATable(f"{t.qualified_name} is a view, not a table; use DROP VIEW")
            self.metastore.drop_table(tx, db, name)
        self._cache_dropped(t)
        self._delete_managed_data(t)
        return True

    def _delete_managed_data(self, t: Table) -> None:
        if t.kind != MANAGED or not t.location:
            return
        fs, path = resolve(t.location)
        delete_dir(fs, path)

    def alter_table(self, db: str, name: str, new: Table) -> Table:
        """Replace a table's definition (one transaction). A rename of a managed table
        moves its directory, journaled so a crash half way is finished at next open."""
        new = normalize_table(new)
        check_columns(new)
        self._cache_check(new)
        old = self.get_table(db, name)
        moving = (old.kind == MANAGED and (new.db, new.name) != (old.db, old.name)
                  and new.location == old.location and old.location is not None)
        plan = None
        write_id = None
        if moving:
            new_loc = self.default_location(new.db, new.name)
            new = replace(new, location=new_loc)
            write_id = new_write_id()
            plan = {"dir_moves": [[old.location, new_loc]], "moves": [], "remove": [],
                    "trash": trash_location(old.location, write_id),  # type: ignore[arg-type]
                    "staging": staging_location(old.location, write_id)}  # type: ignore[arg-type]
            self.metastore.begin_write(write_id, new.db, new.name, plan["staging"], self._host, *self._me())
        try:
            with self.metastore.transaction() as tx:
                self.metastore.update_table(tx, old.db, old.name, new)
                if moving:
                    parts = self.metastore.list_partitions(new.db, new.name, tx)
                    for p in parts:
                        if p.location.startswith(old.location):  # type: ignore[arg-type]
                            self.metastore.set_partition_location(
                                tx, new.db, new.name, p.spec, new.location + p.location[len(old.location):]  # type: ignore[operator, arg-type]
                            )
                    self.metastore.mark_committing(tx, write_id, plan)  # type: ignore[arg-type]
        except BaseException:
            if write_id:
                self.metastore.end_write(write_id)
            raise
        if moving:
            execute_plan(plan)  # type: ignore[arg-type]
            self.metastore.end_write(write_id)  # type: ignore[arg-type]
        result = self.get_table(new.db, new.name)
        self._cache_altered(old.db, old.name, result)
        return result

    def _require_table(self, db: str, name: str) -> Table:
        t = self.get_table(db, name)
        if t.is_view:
            raise NotATable(f"{t.qualified_name} is a view")
        return t

    # -- reading ------------------------------------------------------------------------

    def scan_source(
        self, db: str, name: str, *, strict: bool = False, bad_fields: Any = None,
        split_bytes: int = DEFAULT_SPLIT_BYTES, wait_seconds: float = 60.0,
        predicate: Any = None, use_cache: bool = True,
    ) -> TableSource | CachedTableSource:
        """A consistent, picklable snapshot of a table for scanning.

        Waits while another process is committing to the table (finishing the commit
        itself if that process died), so the snapshot holds all of a write or none.

        ``strict``: fields that do not parse raise (``SET lamna.text.strict=true``);
        otherwise they read as NULL and their count is ``add``-ed to ``bad_fields``
        (e.g. an ``rdd`` accumulator). ``predicate`` (a ``pyarrow.compute.Expression``)
        prunes partitions *before* their directories are listed, which matters for
        tables with many partitions; the source then only covers partitions the
        predicate may match. A cached table comes back as a ``CachedTableSource`` over
        its cache entry at this very data version (``catalog.cache``), unless
        ``use_cache=False`` or strict.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            v1, inflight = self.metastore.data_state(db.lower(), name.lower())
            if not inflight:
                if use_cache and not strict:
                    t = self._require_table(db, name)
                    cached = self._cached_source(t, v1)
                    if cached is not None:
                        self._record_table(t, v1)
                        return cached
                source = self._snapshot(db, name, strict, bad_fields, split_bytes, predicate)
                v2, inflight2 = self.metastore.data_state(db.lower(), name.lower())
                if v1 == v2 and not inflight2:
                    self._record_table(source.table, v1)
                    return source
            if time.monotonic() > deadline:
                raise MetastoreLocked(f"Table {db}.{name} is being written by another process; try again")
            self.recover()
            time.sleep(0.02)

    def _snapshot(self, db: str, name: str, strict: bool, bad_fields: Any, split_bytes: int,
                  predicate: Any) -> TableSource:
        t = self._require_table(db, name)
        assert t.location is not None
        source = TableSource(
            table=t, root=t.location, parts=(), stats=self.statistics(t.db, t.name),
            strict=strict, bad_fields=bad_fields, split_bytes=split_bytes,
        )
        if t.partition_columns:
            meta = self.metastore.list_partitions(t.db, t.name)
            unlisted = tuple(
                PartitionFiles(typed_partition_values(t.partition_columns, p.values), (), p.values)
                for p in meta
            )
            kept = replace(source, parts=unlisted).prune_partitions(predicate)
            locations = {p.spec: p.location for p in meta}
            parts = []
            for pf in kept:
                fs, path = resolve(locations[partition_spec_path(pf.raw)])
                parts.append(replace(pf, files=tuple(list_data_files(fs, path))))
        else:
            fs, path = resolve(t.location)
            parts = [PartitionFiles((), tuple(list_data_files(fs, path)))]
        return replace(source, parts=tuple(parts))
