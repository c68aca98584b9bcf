"""``Catalog``: the facade the SQL layer talks to.

Owns one warehouse directory: the SQLite metastore inside it and the managed tables
under ``<warehouse>/<db>.db/<table>/``. Every DDL is one metastore transaction; every
data write goes through ``catalog.writer`` (staging + commit); scans get a consistent
snapshot (``scan_source``). Opening a catalog recovers writes of crashed processes.

Identifiers (databases, tables, columns) are case-insensitive and stored in lower
case, as in Hive. Temporary views live in this object only (one per session).
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import re
import socket
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from catalog import formats
from catalog import stats as statsmod
from catalog.errors import (
    CatalogError,
    ColumnError,
    DatabaseNotFound,
    MetastoreLocked,
    NotATable,
    PartitionExists,
    PartitionNotFound,
    PartitionSpecError,
    TableExists,
    TableNotFound,
    WriteError,
)
from catalog.files import DataFile, delete_dir, exists, is_hidden, join, list_data_files, list_subdirs, resolve
from catalog.metastore import METASTORE_FILE, Metastore
from catalog.model import (
    DEFAULT_PARTITION,
    EXTERNAL,
    MANAGED,
    VIEW,
    Column,
    Database,
    Partition,
    Table,
    partition_spec_path,
    unescape_path_value,
)
from catalog.scan import ColumnStatistics, TableStatistics
from catalog.source import DEFAULT_SPLIT_BYTES, PartitionFiles, TableSource, typed_partition_values
from catalog.types import parse_hive_type
from catalog.formats.textconv import parse_column
from catalog.writer import (
    DEFAULT_TRASH_RETENTION,
    WriteSpec,
    WrittenFile,
    execute_plan,
    new_write_id,
    partition_task,
    process_alive,
    process_start_time,
    staging_location,
    trash_location,
    write_task,
)

log = logging.getLogger(__name__)

DEFAULT_WAREHOUSE = "./lamna-warehouse"
DEFAULT_DATABASE = "default"
WAREHOUSE_ENV = "LAMNA_WAREHOUSE"

#: a partition spec as given by a statement: (column, value text or None for dynamic)
PartitionSpec = Sequence[tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class WriteResult:
    rows: int
    files: int
    partitions: tuple[str, ...]


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """Hive SHOW ... LIKE pattern: ``*`` any, ``|`` alternatives, case-insensitive."""
    alts = [fnmatch.translate(p.strip().lower()) for p in pattern.split("|")]
    return re.compile("|".join(f"(?:{a})" for a in alts))


class Catalog:
    """A warehouse opened by one session (a process may open several)."""

    def __init__(self, warehouse: str, metastore: Metastore) -> None:
        self.warehouse = warehouse
        self.metastore = metastore
        self._temp_views: dict[str, Table] = {}
        self._host = socket.gethostname()
        self._proc: tuple[int, float | None] | None = None

    # -- lifecycle --------------------------------------------------------------------

    def _me(self) -> tuple[int, float | None]:
        """(pid, process start time) of the calling process, recomputed after a fork."""
        pid = os.getpid()
        if self._proc is None or self._proc[0] != pid:
            self._proc = (pid, process_start_time(pid))
        return self._proc

    @classmethod
    def open(cls, warehouse: str | None = None, *, busy_timeout: float = 30.0) -> "Catalog":
        """Open (creating if needed) a warehouse: argument, else $LAMNA_WAREHOUSE, else
        ``./lamna-warehouse``. Recovers writes left by crashed processes."""
        location = warehouse or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
        if "://" not in location:
            location = os.path.abspath(location)
        if location.startswith("file://"):
            location = location[len("file://"):]
        if "://" in location:
            raise CatalogError(
                f"Warehouse {location}: the metastore needs a local directory (table data may "
                "live on any filesystem via LOCATION)"
            )
        os.makedirs(location, exist_ok=True)
        ms = Metastore(os.path.join(location, METASTORE_FILE), busy_timeout=busy_timeout)
        cat = cls(location, ms)
        cat._ensure_default_database()
        cat.recover()
        return cat

    def close(self) -> None:
        self.metastore.close()

    def __enter__(self) -> "Catalog":
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
        return self._temp_views.pop(name.lower(), None) is not None

    def temp_views(self) -> list[str]:
        return sorted(self._temp_views)

    def lookup(self, db: str | None, name: str, current_database: str) -> Table:
        """Resolve a possibly unqualified name: temporary views shadow tables."""
        if db is None and name.lower() in self._temp_views:
            return self._temp_views[name.lower()]
        return self.get_table(db or current_database, name)

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
        return self.get_table(new.db, new.name)

    # -- partitions -------------------------------------------------------------------

    def list_partitions(self, db: str, name: str, spec: PartitionSpec = ()) -> list[Partition]:
        t = self.get_table(db, name)
        parts = self.metastore.list_partitions(t.db, t.name)
        if spec:
            want = {k: v for k, v in self.check_partition_spec(t, spec, full=False)}
            parts = [p for p in parts if all(p.value_dict.get(k) == v for k, v in want.items())]
        return parts

    def check_partition_spec(
        self, t: Table, spec: PartitionSpec, *, full: bool, allow_dynamic: bool = False
    ) -> tuple[tuple[str, str | None], ...]:
        """Validate ``spec`` against ``t``'s partition columns; returns it in column order.

        ``full``: every partition column must appear. ``allow_dynamic``: values may be
        ``None`` (dynamic), but no static value may follow a dynamic one (Hive's rule).
        """
        if not t.partition_columns:
            if spec:
                raise PartitionSpecError(f"Table {t.qualified_name} is not partitioned")
            return ()
        given: dict[str, str | None] = {}
        for k, v in spec:
            key = k.lower()
            if t.column(key) is None or key not in t.partition_names:
                raise PartitionSpecError(
                    f"{k} is not a partition column of {t.qualified_name} "
                    f"(partition columns: {', '.join(t.partition_names)})"
                )
            if key in given:
                raise PartitionSpecError(f"Partition column {k} appears twice in the spec for {t.qualified_name}")
            if v is None and not allow_dynamic:
                raise PartitionSpecError(f"Partition column {k} of {t.qualified_name} needs a value")
            given[key] = v
        out = []
        seen_dynamic = False
        for c in t.partition_columns:
            if c.name not in given:
                if full:
                    raise PartitionSpecError(
                        f"Partition spec for {t.qualified_name} is missing column {c.name} "
                        f"(partition columns: {', '.join(t.partition_names)})"
                    )
                continue
            v = given[c.name]
            if v is None:
                seen_dynamic = True
            elif seen_dynamic:
                raise PartitionSpecError(
                    f"Static partition column {c.name} of {t.qualified_name} follows a dynamic one"
                )
            else:
                check_partition_value(t, c, v)
            out.append((c.name, v))
        return tuple(out)

    def add_partition(
        self, db: str, name: str, spec: PartitionSpec, *, location: str | None = None, if_not_exists: bool = False
    ) -> bool:
        t = self._require_table(db, name)
        values = self.check_partition_spec(t, spec, full=True)
        loc = location or join(t.location, partition_spec_path(values))  # type: ignore[arg-type]
        with self.metastore.transaction() as tx:
            added = self.metastore.add_partition(tx, t.db, t.name, Partition(values, loc, time.time()), if_not_exists)
            self.metastore.bump_data_version(tx, t.db, t.name)
        if added and location is None:
            fs, path = resolve(loc)
            fs.create_dir(path, recursive=True)
        return added

    def drop_partitions(self, db: str, name: str, spec: PartitionSpec, *, if_exists: bool = False, purge: bool = False) -> list[Partition]:
        """Drop every partition matching a (possibly partial) spec; managed data deleted."""
        t = self._require_table(db, name)
        matching = self.list_partitions(t.db, t.name, spec)
        if not matching and not if_exists:
            raise PartitionNotFound(f"No partition of {t.qualified_name} matches {partition_spec_path(list(spec))}")
        with self.metastore.transaction() as tx:
            for p in matching:
                self.metastore.drop_partition(tx, t.db, t.name, p.spec)
            self.metastore.bump_data_version(tx, t.db, t.name)
        if t.kind == MANAGED:
            for p in matching:
                fs, path = resolve(p.location)
                delete_dir(fs, path)
        return matching

    def rename_partition(self, db: str, name: str, old_spec: PartitionSpec, new_spec: PartitionSpec) -> None:
        """ALTER TABLE ... PARTITION (old) RENAME TO PARTITION (new): for a managed table
        whose partition lives in its default directory the directory moves too,
        journaled like a table rename."""
        t = self._require_table(db, name)
        old_values = self.check_partition_spec(t, old_spec, full=True)
        new_values = self.check_partition_spec(t, new_spec, full=True)
        parts = {p.spec: p for p in self.metastore.list_partitions(t.db, t.name)}
        old_key, new_key = partition_spec_path(old_values), partition_spec_path(new_values)
        if old_key not in parts:
            raise PartitionNotFound(f"Partition {old_key} of {t.qualified_name} does not exist")
        if new_key in parts:
            raise PartitionExists(f"Partition {new_key} already exists in {t.qualified_name}")
        old = parts[old_key]
        default_old = join(t.location, old_key)  # type: ignore[arg-type]
        moving = t.kind == MANAGED and old.location == default_old
        new_location = join(t.location, new_key) if moving else old.location  # type: ignore[arg-type]
        write_id = new_write_id()
        plan = {"dir_moves": [[old.location, new_location]] if moving else [], "moves": [], "remove": [],
                "trash": trash_location(t.location, write_id),  # type: ignore[arg-type]
                "staging": staging_location(t.location, write_id)}  # type: ignore[arg-type]
        self.metastore.begin_write(write_id, t.db, t.name, plan["staging"], self._host, *self._me())
        try:
            with self.metastore.transaction() as tx:
                self.metastore.drop_partition(tx, t.db, t.name, old_key)
                self.metastore.add_partition(tx, t.db, t.name, Partition(new_values, new_location, time.time()))
                self.metastore.mark_committing(tx, write_id, plan)
        except BaseException:
            self.metastore.end_write(write_id)
            raise
        execute_plan(plan)
        self.metastore.end_write(write_id)

    def write_directory(self, location: str, columns: Sequence[Column], storage: Any, data: Any, *,
                        max_rows_per_file: int = 1_000_000) -> WriteResult:
        """INSERT OVERWRITE [LOCAL] DIRECTORY: replace a directory's files with ``data``,
        atomically (staging, journaled commit), like a table write without a table."""
        t = Table(db="", name=location, kind=EXTERNAL, columns=tuple(columns), storage=storage, location=location)
        write_id = new_write_id()
        staging = staging_location(location, write_id)
        self.metastore.begin_write(write_id, "", location, staging, self._host, *self._me())
        fs, staging_path = resolve(staging)
        try:
            fs.create_dir(staging_path, recursive=True)
            spec = WriteSpec(table=t, write_id=write_id, staging=staging, max_rows_per_file=max_rows_per_file)
            if hasattr(data, "mapPartitionsWithIndex"):
                results = data.mapPartitionsWithIndex(functools.partial(partition_task, spec)).collect()
            else:
                results = [write_task(spec, 0, _as_batches(data))]
            files = [f for group in results for f in group]
            dfs, dpath = resolve(location)
            remove = [_uri_like(location, d.path) for d in list_data_files(dfs, dpath)]
            plan = {"moves": [[join(staging, f.name), join(location, f.name)] for f in files], "remove": remove,
                    "trash": trash_location(location, write_id), "staging": staging, "create_dirs": [location]}
            with self.metastore.transaction() as tx:
                self.metastore.mark_committing(tx, write_id, plan)
        except BaseException:
            delete_dir(fs, staging_path)
            self.metastore.end_write(write_id)
            raise
        execute_plan(plan)
        self.metastore.end_write(write_id)
        return WriteResult(sum(f.rows for f in files), len(files), ())

    def set_location(self, db: str, name: str, location: str, spec: PartitionSpec = ()) -> None:
        t = self._require_table(db, name)
        if spec:
            values = self.check_partition_spec(t, spec, full=True)
            key = partition_spec_path(values)
            if key not in {p.spec for p in self.metastore.list_partitions(t.db, t.name)}:
                raise PartitionNotFound(f"Partition {key} of {t.qualified_name} does not exist")
            with self.metastore.transaction() as tx:
                self.metastore.set_partition_location(tx, t.db, t.name, key, location)
                self.metastore.clear_statistics(tx, t.db, t.name, key)
                self.metastore.bump_data_version(tx, t.db, t.name)
            return
        with self.metastore.transaction() as tx:
            self.metastore.update_table(tx, t.db, t.name, replace(t, location=location))
            self.metastore.clear_statistics(tx, t.db, t.name)
            self.metastore.bump_data_version(tx, t.db, t.name)

    def repair_table(self, db: str, name: str) -> list[str]:
        """MSCK REPAIR TABLE: register ``key=value`` directories not yet in the metastore."""
        t = self._require_table(db, name)
        if not t.partition_columns:
            return []
        fs, root = resolve(t.location)  # type: ignore[arg-type]
        found: list[tuple[tuple[str, str | None], ...]] = []

        def walk(path: str, depth: int, acc: tuple[tuple[str, str | None], ...]) -> None:
            if depth == len(t.partition_columns):
                found.append(acc)
                return
            col = t.partition_columns[depth]
            for d in list_subdirs(fs, path):
                k, sep, v = d.partition("=")
                if not sep or k.lower() != col.name:
                    continue
                value = None if v == DEFAULT_PARTITION else unescape_path_value(v)
                if value is not None:
                    try:
                        check_partition_value(t, col, value)
                    except PartitionSpecError:
                        log.warning("MSCK: skipping %s/%s (not a %s)", path, d, col.type)
                        continue
                walk(f"{path}/{d}", depth + 1, acc + ((col.name, value),))

        walk(root, 0, ())
        existing = {p.spec for p in self.metastore.list_partitions(t.db, t.name)}
        added = []
        with self.metastore.transaction() as tx:
            for values in found:
                spec = partition_spec_path(values)
                if spec in existing:
                    continue
                self.metastore.add_partition(tx, t.db, t.name, Partition(values, join(t.location, spec), time.time()))  # type: ignore[arg-type]
                added.append(spec)
            self.metastore.bump_data_version(tx, t.db, t.name)
        return added

    def _require_table(self, db: str, name: str) -> Table:
        t = self.get_table(db, name)
        if t.is_view:
            raise NotATable(f"{t.qualified_name} is a view")
        return t

    # -- reading ------------------------------------------------------------------------

    def scan_source(
        self, db: str, name: str, *, strict: bool = False, bad_fields: Any = None,
        split_bytes: int = DEFAULT_SPLIT_BYTES, wait_seconds: float = 60.0,
        predicate: Any = None,
    ) -> TableSource:
        """A consistent, picklable snapshot of a table for scanning.

        Waits while another process is committing to the table (finishing the commit
        itself if that process died), so the snapshot holds all of a write or none.

        ``strict``: fields that do not parse raise (``SET lamna.text.strict=true``);
        otherwise they read as NULL and their count is ``add``-ed to ``bad_fields``
        (e.g. an ``rdd`` accumulator). ``predicate`` (a ``pyarrow.compute.Expression``)
        prunes partitions *before* their directories are listed, which matters for
        tables with many partitions; the source then only covers partitions the
        predicate may match.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            v1, inflight = self.metastore.data_state(db.lower(), name.lower())
            if not inflight:
                source = self._snapshot(db, name, strict, bad_fields, split_bytes, predicate)
                v2, inflight2 = self.metastore.data_state(db.lower(), name.lower())
                if v1 == v2 and not inflight2:
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

    def statistics(self, db: str, name: str, spec: str = "") -> TableStatistics | None:
        row, cols = self.metastore.get_statistics(db.lower(), name.lower(), spec)
        if row is None and not cols:
            return None
        return TableStatistics(
            row_count=row[0] if row else None,
            total_bytes=row[1] if row else None,
            columns={
                c: ColumnStatistics(statsmod.decode_value(mn), statsmod.decode_value(mx), nulls, distinct)
                for c, (mn, mx, nulls, distinct) in cols.items()
            },
        )

    # -- writing ------------------------------------------------------------------------

    def start_write(
        self, db: str, name: str, *, overwrite: bool = False, partition: PartitionSpec = (),
        max_rows_per_file: int | None = None,
    ) -> "PendingWrite":
        """Begin an atomic write: journal it and pick a staging directory.

        ``partition`` may give every partition column a value (static), or leave trailing
        ones ``None`` (dynamic: taken from the last columns of the input batches).
        """
        t = self._require_table(db, name)
        spec = self.check_partition_spec(t, partition, full=False, allow_dynamic=True)
        mentioned = {k for k, _ in spec}
        # partition columns not mentioned at all are dynamic too (INSERT INTO t SELECT ...)
        static = tuple((k, v) for k, v in spec if v is not None)
        if t.partition_columns and len(mentioned) < len(t.partition_columns):
            missing_static_after = [c.name for c in t.partition_columns if c.name not in mentioned]
            if static and any(t.partition_names.index(m) < t.partition_names.index(s[0])
                              for m in missing_static_after for s in static):
                raise PartitionSpecError(
                    f"Static partition values of {t.qualified_name} must come before dynamic ones"
                )
        write_id = new_write_id()
        staging = staging_location(t.location, write_id)  # type: ignore[arg-type]
        self.metastore.begin_write(write_id, t.db, t.name, staging, self._host, *self._me())
        fs, staging_path = resolve(staging)
        fs.create_dir(staging_path, recursive=True)
        ws = WriteSpec(
            table=t, write_id=write_id, staging=staging, static_partition=static,  # type: ignore[arg-type]
            max_rows_per_file=max_rows_per_file or int(t.props.get("lamna.max.rows.per.file", 1_000_000)),
        )
        return PendingWrite(self, ws, overwrite)

    def write(
        self, db: str, name: str, data: Any, *, overwrite: bool = False, partition: PartitionSpec = (),
        max_rows_per_file: int | None = None,
    ) -> WriteResult:
        """Write ``data`` (an RDD of RecordBatch, or an iterable of batches/tables) atomically.

        An RDD is written by one task per partition (``mapPartitionsWithIndex``), in
        parallel; an iterable by one task in this thread.
        """
        pending = self.start_write(db, name, overwrite=overwrite, partition=partition,
                                   max_rows_per_file=max_rows_per_file)
        try:
            if hasattr(data, "mapPartitionsWithIndex"):
                results = data.mapPartitionsWithIndex(functools.partial(partition_task, pending.spec)).collect()
            else:
                results = [pending.run_task(0, _as_batches(data))]
            return pending.commit(results)
        except BaseException:
            pending.abort()
            raise

    def create_table_as(self, table: Table, data: Any, *, max_rows_per_file: int | None = None) -> WriteResult:
        """CREATE TABLE ... AS SELECT, atomically: the rows are staged first and the table
        is registered in the same metastore transaction that commits them, so a failed or
        killed CTAS leaves no table behind (and another session never sees it empty)."""
        table = normalize_table(table)
        check_columns(table)
        formats.get(table.storage.format)
        if table.location is None:
            table = replace(table, location=self.default_location(table.db, table.name))
        self.get_database(table.db)
        if self.table_exists(table.db, table.name):
            raise TableExists(table.qualified_name)
        write_id = new_write_id()
        staging = staging_location(table.location, write_id)  # type: ignore[arg-type]
        self.metastore.begin_write(write_id, table.db, table.name, staging, self._host, *self._me())
        fs, staging_path = resolve(staging)
        fs.create_dir(staging_path, recursive=True)
        spec = WriteSpec(table=table, write_id=write_id, staging=staging,
                         max_rows_per_file=max_rows_per_file or 1_000_000)
        pending = PendingWrite(self, spec, overwrite=False, create=table)
        try:
            if hasattr(data, "mapPartitionsWithIndex"):
                results = data.mapPartitionsWithIndex(functools.partial(partition_task, spec)).collect()
            else:
                results = [pending.run_task(0, _as_batches(data))]
            return pending.commit(results)
        except BaseException:
            pending.abort()
            if table.kind == MANAGED:
                lfs, lpath = resolve(table.location)  # type: ignore[arg-type]
                if exists(lfs, lpath) and not lfs.get_file_info(pafs.FileSelector(lpath, recursive=True)):
                    lfs.delete_dir(lpath)
            raise

    def truncate(self, db: str, name: str, partition: PartitionSpec = ()) -> None:
        t = self._require_table(db, name)
        if t.kind != MANAGED:
            raise NotATable(f"Cannot truncate non-managed table {t.qualified_name}")
        values = self.check_partition_spec(t, partition, full=False)
        pending = self.start_write(t.db, t.name, overwrite=True)
        try:
            pending.commit([], truncate_spec=values)
        except BaseException:
            pending.abort()
            raise

    def load_data(
        self, db: str, name: str, path: str, *, overwrite: bool = False, partition: PartitionSpec = (),
        local: bool = False,
    ) -> WriteResult:
        """LOAD DATA: copy files (a file or a directory's visible files) into the table.

        Files are copied into staging and committed like any write; without LOCAL the
        source files are deleted after the commit (Hive moves them).
        """
        t = self._require_table(db, name)
        values = self.check_partition_spec(t, partition, full=True)
        src_fs, src_path = resolve(path)
        files = list_data_files(src_fs, src_path, recursive=False)
        if not exists(src_fs, src_path):
            raise CatalogError(f"LOAD DATA: path {path} does not exist")
        fmt = formats.get(t.storage.format)
        if fmt.NAME == "parquet":
            for f in files:
                with src_fs.open_input_file(f.path) as fh:
                    head = fh.read(4)
                if head != b"PAR1":
                    raise WriteError(f"LOAD DATA: {f.path} is not a Parquet file but {t.qualified_name} is stored as Parquet")
        pending = self.start_write(t.db, t.name, overwrite=overwrite, partition=values)
        try:
            fs, staging = resolve(pending.spec.staging)
            rel = partition_spec_path(values)
            target_dir = f"{staging}/{rel}" if rel else staging
            fs.create_dir(target_dir, recursive=True)
            written = []
            for f in files:
                base = f.path.rsplit("/", 1)[-1]
                with src_fs.open_input_stream(f.path) as i, fs.open_output_stream(f"{target_dir}/{base}") as o:
                    while chunk := i.read(1 << 20):
                        o.write(chunk)
                written.append(WrittenFile(values, base, -1, f.size))
            delete_after = [] if local else [_uri_like(path, f.path) for f in files]
            return pending.commit([written], delete_after=delete_after, unique_names=True)
        except BaseException:
            pending.abort()
            raise

    # -- statistics -------------------------------------------------------------------

    def analyze(self, db: str, name: str, *, partition: PartitionSpec = (), columns: Sequence[str] | None = None,
                for_columns: bool = False, noscan: bool = False) -> dict[str, Any]:
        """ANALYZE TABLE: row count and bytes (and column stats if ``for_columns``),
        for the whole table and each partition analyzed. ``noscan``: file counts and
        bytes only, from the listing (row counts become unknown)."""
        t = self._require_table(db, name)
        values = self.check_partition_spec(t, partition, full=False, allow_dynamic=True)
        static = [(k, v) for k, v in values if v is not None]
        if for_columns:
            wanted = [c.name for c in t.columns] if not columns else [self._column_name(t, c) for c in columns]
        else:
            wanted = []
        source = self.scan_source(t.db, t.name)
        parts = [p for p in source.parts if all(dict(p.raw).get(k) == v for k, v in static)]
        schema = t.arrow_schema()
        whole_table = bool(t.partition_columns) and not static
        table_acc = statsmod.StatsAccumulator(schema, wanted) if whole_table else None
        computed_parts = []
        for part in parts:
            sub = replace(source, parts=(part,))
            acc = statsmod.StatsAccumulator(schema, wanted)
            for split in ([] if noscan else sub.splits()):
                for batch in sub.read_split(split, wanted):
                    acc.add(batch)
                    if table_acc is not None:
                        table_acc.add(batch)
            spec = partition_spec_path(part.raw) if t.partition_columns else ""
            computed_parts.append((spec, acc.result(), sum(f.size for f in part.files), len(part.files)))
        if table_acc is not None:
            computed_parts.append(("", table_acc.result(), sum(b for _, _, b, _ in computed_parts),
                                   sum(n for _, _, _, n in computed_parts)))
        results: dict[str, Any] = {}
        with self.metastore.transaction() as tx:
            for spec, computed, nbytes, nfiles in computed_parts:
                self.metastore.set_statistics(
                    tx, t.db, t.name, spec, None if noscan else computed.row_count, nbytes, nfiles,
                    {c: (statsmod.encode_value(mn), statsmod.encode_value(mx), nulls, distinct)
                     for c, (mn, mx, nulls, distinct) in computed.columns.items()},
                )
                if spec or not t.partition_columns:
                    results[spec] = computed
        return results

    @staticmethod
    def _column_name(t: Table, name: str) -> str:
        c = t.column(name)
        if c is None or c.name in t.partition_names:
            raise ColumnError(f"Column {name} not found in {t.qualified_name}")
        return c.name


class _CommitInFlight(Exception):
    """Raised inside a commit transaction to roll it back and wait for another commit."""


class PendingWrite:
    """A write between ``Catalog.start_write`` and ``commit``/``abort``."""

    def __init__(self, catalog: Catalog, spec: WriteSpec, overwrite: bool, create: Table | None = None) -> None:
        self.catalog = catalog
        self.spec = spec
        self.overwrite = overwrite
        self.create = create  # CTAS: register this table at the commit point
        self._done = False

    def run_task(self, index: int, batches: Iterable[pa.RecordBatch]) -> list[WrittenFile]:
        return write_task(self.spec, index, batches)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        fs, path = resolve(self.spec.staging)
        try:
            delete_dir(fs, path)
        finally:
            self.catalog.metastore.end_write(self.spec.write_id)

    def commit(
        self, results: Iterable[Iterable[WrittenFile]], *, truncate_spec: tuple[tuple[str, str | None], ...] | None = None,
        delete_after: Sequence[str] = (), unique_names: bool = False,
    ) -> WriteResult:
        """The commit point (one metastore transaction) followed by the renames."""
        files = [f for group in results for f in group]
        plan, affected = self.prepare(files, truncate_spec=truncate_spec, delete_after=delete_after,
                                      unique_names=unique_names)
        self.finish(plan)
        rows = sum(f.rows for f in files if f.rows >= 0)
        return WriteResult(rows, len(files), tuple(sorted(r for r in affected if r)))

    def prepare(
        self, files: list[WrittenFile], *, truncate_spec: tuple[tuple[str, str | None], ...] | None = None,
        delete_after: Sequence[str] = (), unique_names: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Phase 2, the commit point: one transaction records the rename plan, registers
        new partitions and updates statistics. After it returns the write is durable:
        if this process dies, the next open finishes the renames."""
        deadline = time.monotonic() + self.catalog.metastore.busy_timeout * 4
        while True:
            try:
                return self._prepare_once(files, truncate_spec, delete_after, unique_names)
            except _CommitInFlight:
                # another write to this table is between its commit point and the end of its
                # renames: its file list is not final yet, so ours (what OVERWRITE removes)
                # would not be either. Wait for it (or finish it, if its process died).
                if time.monotonic() > deadline:
                    raise MetastoreLocked(
                        f"Table {self.spec.table.qualified_name} is being committed by another writer; try again"
                    ) from None
                self.catalog.recover()
                time.sleep(0.02)

    def _prepare_once(
        self, files: list[WrittenFile], truncate_spec: tuple[tuple[str, str | None], ...] | None,
        delete_after: Sequence[str], unique_names: bool,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        ms, spec = self.catalog.metastore, self.spec
        t = spec.table
        root = t.location
        assert root is not None
        with ms.transaction() as tx:
            busy = tx.execute(
                "SELECT count(*) FROM writes WHERE db = ? AND table_name = ? AND state = 'committing' AND id != ?",
                (t.db, t.name, spec.write_id),
            ).fetchone()[0]
            if busy:
                raise _CommitInFlight()
            if self.create is not None:
                ms.create_table(tx, replace(self.create, created=time.time()))  # TableExists if raced
            current = ms._get_table(tx, t.db, t.name)
            if current is None:
                raise TableNotFound(t.qualified_name)
            existing = {p.spec: p for p in ms.list_partitions(t.db, t.name, tx)}
            affected: dict[str, tuple[tuple[str, str | None], ...]] = {}
            for f in files:
                affected[f.rel_dir] = f.partition
            if t.partition_columns and len(spec.static_partition) == len(t.partition_columns):
                vals = tuple(spec.static_partition)
                affected.setdefault(partition_spec_path(vals), vals)
            if not t.partition_columns:
                affected.setdefault("", ())
            if truncate_spec is not None:
                affected = {p.spec: p.values for p in existing.values()
                            if all(p.value_dict.get(k) == v for k, v in truncate_spec)}
                if not t.partition_columns:
                    affected = {"": ()}
            locations = {
                rel: (existing[rel].location if rel in existing else (join(root, rel) if rel else current.location))
                for rel in affected
            }
            taken: dict[str, set[str]] = {}
            moves = []
            for f in files:
                dst_dir = locations[f.rel_dir]
                name = f.name
                if unique_names:
                    name = _free_name(dst_dir, name, taken.setdefault(dst_dir, set()), self.overwrite)
                src = join(spec.staging, f.rel_dir, f.name) if f.rel_dir else join(spec.staging, f.name)
                moves.append([src, join(dst_dir, name)])
            remove = []
            if self.overwrite or truncate_spec is not None:
                for rel, loc in locations.items():
                    fs, path = resolve(loc)
                    remove += [_uri_like(loc, d.path) for d in list_data_files(fs, path, recursive=not t.partition_columns)]
            plan = {
                "moves": moves, "remove": remove, "trash": trash_location(root, spec.write_id), "root": root,
                "trash_retention": float(current.props.get("lamna.trash.retention.seconds", DEFAULT_TRASH_RETENTION)),
                "staging": spec.staging, "create_dirs": list(locations.values()),
                "delete_after": list(delete_after),
            }
            ms.mark_committing(tx, spec.write_id, plan)
            for rel, vals in affected.items():
                if rel and rel not in existing:
                    ms.add_partition(tx, t.db, t.name, Partition(vals, locations[rel], time.time()), True)
            empty_before = {rel for rel in affected if rel and rel not in existing}
            if not t.partition_columns and not remove and not self.overwrite:
                fs, path = resolve(current.location)  # type: ignore[arg-type]
                if not list_data_files(fs, path):
                    empty_before.add("")
            if t.partition_columns and not existing:
                empty_before.add("")
            _update_row_stats(ms, tx, t, affected, files, self.overwrite or truncate_spec is not None, empty_before)
        self._done = True
        return plan, affected

    def finish(self, plan: dict[str, Any]) -> None:
        """Phase 3: the renames (idempotent), then the journal entry goes."""
        execute_plan(plan)
        self.catalog.metastore.end_write(self.spec.write_id)


def _update_row_stats(ms: Metastore, tx: sqlite3.Connection, t: Table, affected: dict[str, Any],
                      files: list[WrittenFile], replaced: bool, empty_before: set[str]) -> None:
    """Keep row counts exact where cheap (Hive's autogather); column stats go stale.

    Replaced partitions get the new counts; appended ones add to known counts; a
    partition that did not exist starts from zero; anything unknown is forgotten.
    """
    known_rows = all(f.rows >= 0 for f in files)
    levels = list(affected) + ([""] if t.partition_columns else [])
    for rel in levels:
        mine = [f for f in files if f.rel_dir == rel or (rel == "" and t.partition_columns)]
        rows, nbytes, nfiles = sum(f.rows for f in mine), sum(f.size for f in mine), len(mine)
        old, _ = ms.get_statistics(t.db, t.name, rel)
        tx.execute(
            "DELETE FROM column_stats WHERE spec = ? AND table_id = (SELECT id FROM tables WHERE db = ? AND name = ?)",
            (rel, t.db, t.name))
        tx.execute(
            "DELETE FROM table_stats WHERE spec = ? AND table_id = (SELECT id FROM tables WHERE db = ? AND name = ?)",
            (rel, t.db, t.name))
        if not known_rows:
            continue
        whole_table_replaced = replaced and not (rel == "" and t.partition_columns)
        if whole_table_replaced or rel in empty_before:
            ms.set_statistics(tx, t.db, t.name, rel, rows, nbytes, nfiles)
        elif not replaced and old is not None and old[0] is not None:
            ms.set_statistics(tx, t.db, t.name, rel, old[0] + rows, (old[1] or 0) + nbytes, (old[2] or 0) + nfiles)


def _free_name(directory: str, name: str, taken: set[str], overwrite: bool) -> str:
    """Hive's ``name_copy_N`` when a loaded file's name is already used."""
    fs, path = resolve(directory)
    existing = set() if overwrite else {
        e.base_name for e in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    }
    stem, dot, ext = name.partition(".")
    candidate, n = name, 0
    while candidate in existing or candidate in taken:
        n += 1
        candidate = f"{stem}_copy_{n}{dot}{ext}"
    taken.add(candidate)
    return candidate


def _uri_like(location: str, path: str) -> str:
    """A listed path in the same URI form as the location it was listed under."""
    if "://" in location and "://" not in path:
        return location.split("://", 1)[0] + "://" + path
    return path


def _as_batches(data: Any) -> Iterable[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        return data.to_batches()
    if isinstance(data, pa.RecordBatch):
        return [data]
    out = []
    for item in data:
        if isinstance(item, pa.Table):
            out.extend(item.to_batches())
        else:
            out.append(item)
    return out


def normalize_table(t: Table) -> Table:
    lower = lambda cs: tuple(replace(c, name=c.name.lower()) for c in cs)  # noqa: E731
    return replace(
        t, db=t.db.lower(), name=t.name.lower(), columns=lower(t.columns),
        partition_columns=lower(t.partition_columns),
        bucket_columns=tuple(b.lower() for b in t.bucket_columns),
        sort_columns=tuple((c.lower(), d) for c, d in t.sort_columns),
    )


def check_columns(t: Table) -> None:
    seen: set[str] = set()
    for c in t.all_columns:
        if c.name in seen:
            raise ColumnError(f"Duplicate column {c.name} in {t.qualified_name}")
        seen.add(c.name)
        parse_hive_type(c.type)
    for c in t.partition_columns:
        if parse_hive_type(c.type).is_complex:
            raise ColumnError(f"Partition column {c.name} of {t.qualified_name} cannot be of type {c.type}")
    names = {c.name for c in t.columns}
    for b in t.bucket_columns:
        if b not in names:
            raise ColumnError(f"Bucket column {b} is not a column of {t.qualified_name}")
    if t.kind != VIEW and not t.columns:
        raise ColumnError(f"Table {t.qualified_name} needs at least one column")


def check_partition_value(t: Table, col: Column, value: str) -> None:
    parsed = parse_column(pa.array([value]), parse_hive_type(col.type), ("\x01",) * 8, "\x00")
    if parsed.bad.any() or (parsed.array[0].as_py() is None and value != ""):
        raise PartitionSpecError(
            f"Partition value {value!r} of {t.qualified_name}.{col.name} is not a valid {col.type}"
        )
