"""Atomic writes: per-task file writing into a hidden staging directory, and the
driver-side commit.

A write has three phases:

1. ``write_task`` (runs in executor tasks, one per input partition): conforms each
   batch to the table's columns, routes rows to their ``key=value/`` partition
   directory (dynamic partitions, vectorized with a group-by), and writes bounded-size
   files under ``<table>/.lamna-staging-<write id>/``. Hidden names are never read.
2. The commit point, one metastore transaction: the write journal entry turns
   ``committing`` with the full list of renames, new partitions are registered, stale
   statistics are dropped and the table's data version moves.
3. Renames, in an order that any process can redo (``execute_plan``): files being
   overwritten are moved to a hidden trash directory, staged files into place, then
   staging is deleted and the journal entry removed. The trash stays for a retention
   period (table property ``lamna.trash.retention.seconds``, default 600) so that scans
   listed before the overwrite still find the files they were promised.

A writer killed before (2) leaves only its hidden staging directory, removed at the
next open; killed after (2), the next open rolls the renames forward. Readers snapshot
the file list only while no commit is in flight (``Catalog.scan_source``), so they see
all of a write or none of it.

On object stores (S3, GCS) a "rename" is a server-side copy and a delete, file by file
(``FileSystem.move``), so phase 3 is neither atomic nor instant there. What still holds:
readers through a Lamna catalog see all of a write or none (they wait while the journal
says ``committing``, and roll a dead writer's renames forward), and nothing is lost
(every step is redone from the journal until it completes). What does not: a tool that
lists the bucket itself during phase 3 can see part of the new files beside part of
the old ones, and phase 3 takes time in proportion to the bytes written.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from catalog import formats
from catalog.convert import hive_cast, partition_text
from catalog.errors import WriteError
from catalog.files import join, resolve, sync
from catalog.model import DEFAULT_PARTITION, Column, Table, partition_spec_path
from catalog.types import enforce_length, parse_hive_type

STAGING_PREFIX = ".lamna-staging-"
TRASH_PREFIX = ".lamna-trash-"
DEFAULT_MAX_ROWS_PER_FILE = 1_000_000
DEFAULT_TRASH_RETENTION = 600.0


@dataclass(frozen=True, slots=True)
class WriteSpec:
    """Everything a write task needs, as plain data.

    Incoming batches are positional: the table's data columns, then the dynamic
    partition columns (the partition columns not given a static value), in order.
    """

    table: Table
    write_id: str
    staging: str  # location of the staging directory
    static_partition: tuple[tuple[str, str], ...] = ()
    max_rows_per_file: int = DEFAULT_MAX_ROWS_PER_FILE
    #: bucketed tables: INSERT INTO merges each bucket's current file unless overwriting,
    #: reading it from the partition's location (``rel dir -> location`` of the
    #: partitions that existed when the write started; ``""`` is an unpartitioned table)
    overwrite: bool = False
    partition_locations: tuple[tuple[str, str], ...] = ()

    @property
    def dynamic_columns(self) -> tuple[Column, ...]:
        static = {k.lower() for k, _ in self.static_partition}
        return tuple(c for c in self.table.partition_columns if c.name.lower() not in static)

    @property
    def input_columns(self) -> tuple[Column, ...]:
        return self.table.columns + self.dynamic_columns


@dataclass(frozen=True, slots=True)
class WrittenFile:
    partition: tuple[tuple[str, str | None], ...]  # full partition values (strings)
    name: str
    rows: int
    size: int
    bucket: int | None = None
    #: files of the same directory this one replaces (a bucket merged by INSERT INTO),
    #: and the rows and bytes they held: what the write really added is the difference
    replaces: tuple[str, ...] = ()
    replaced_rows: int = 0
    replaced_bytes: int = 0

    @property
    def rel_dir(self) -> str:
        return partition_spec_path(self.partition)


def new_write_id() -> str:
    return uuid.uuid4().hex


def conform_input(batch: pa.RecordBatch | pa.Table, columns: tuple[Column, ...], table_name: str) -> pa.Table:
    """Positional batch -> the write's columns, names and types (Hive's implicit
    conversions, ``catalog.convert``)."""
    if isinstance(batch, pa.RecordBatch):
        batch = pa.Table.from_batches([batch])
    if batch.num_columns != len(columns):
        raise WriteError(
            f"Cannot insert into {table_name}: the query returns {batch.num_columns} column(s), "
            f"the target expects {len(columns)} ({', '.join(c.name for c in columns)})"
        )
    arrays = []
    for c, arr in zip(columns, batch.columns):
        target = c.arrow_type
        if arr.type != target:
            try:
                arr = hive_cast(arr, c.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise WriteError(
                    f"Cannot insert into {table_name}: column {c.name} is {c.type} but the value "
                    f"is {arr.type} and does not convert ({e})"
                ) from e
        elif c.type.startswith(("varchar", "char")):
            # already a string: still cut to the declared length (CHAR: without its padding)
            arr = enforce_length(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr,
                                 parse_hive_type(c.type), check_first=True)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema([pa.field(c.name, c.arrow_type) for c in columns]))


def _partition_strings(table: pa.Table, cols: tuple[Column, ...]) -> list[pa.Array]:
    """Directory text of each dynamic partition value (null -> default partition)."""
    out = []
    for c in cols:
        arr = table.column(c.name).combine_chunks()
        out.append(pc.fill_null(partition_text(arr), DEFAULT_PARTITION))
    return out


def _route(spec: WriteSpec, table: pa.Table) -> Iterator[tuple[tuple[tuple[str, str | None], ...], pa.Table]]:
    """Split a conformed input table by partition, dropping dynamic partition columns."""
    data_names = [c.name for c in spec.table.columns]
    static = {k.lower(): v for k, v in spec.static_partition}
    dyn = spec.dynamic_columns
    if not dyn:
        values = tuple((c.name, static.get(c.name.lower())) for c in spec.table.partition_columns)
        yield values, table.select(data_names)
        return
    keys = _partition_strings(table, dyn)
    key_names = [f"__k{i}" for i in range(len(dyn))]
    indexed = pa.table(keys + [pa.array(np.arange(table.num_rows))], names=key_names + ["__row"])
    groups = indexed.group_by(key_names, use_threads=False).aggregate([("__row", "list")])
    for i in range(groups.num_rows):
        dyn_values = {c.name.lower(): groups.column(k)[i].as_py() for c, k in zip(dyn, key_names)}
        rows = groups.column("__row_list")[i].values
        values = tuple(
            (c.name, static[c.name.lower()] if c.name.lower() in static
             else (None if dyn_values[c.name.lower()] == DEFAULT_PARTITION else dyn_values[c.name.lower()]))
            for c in spec.table.partition_columns
        )
        yield values, table.take(rows).select(data_names)


def write_task(spec: WriteSpec, task_index: int, batches: Iterable[pa.RecordBatch]) -> list[WrittenFile]:
    """Write one input partition's batches into the staging directory (executor side).

    Module-level and driven only by ``spec`` (plain data), so it pickles into any task.
    Rows are buffered per output partition and flushed as a file every
    ``max_rows_per_file`` rows, which bounds both file size and memory. A bucketed
    table instead gets one file per bucket (``catalog.buckets``).
    """
    if spec.table.num_buckets:
        from catalog.buckets import write_bucketed

        return write_bucketed(spec, task_index, batches)
    fmt = formats.get(spec.table.storage.format)
    fs, staging = resolve(spec.staging)
    pending: dict[tuple[tuple[str, str | None], ...], list[pa.Table]] = {}
    counts: dict[tuple[tuple[str, str | None], ...], int] = {}
    seq = [0]
    written: list[WrittenFile] = []

    def flush(key: tuple[tuple[str, str | None], ...]) -> None:
        parts = pending.pop(key, [])
        counts.pop(key, None)
        if not parts:
            return
        data = pa.concat_tables(parts).combine_chunks()
        for start in range(0, data.num_rows, spec.max_rows_per_file):
            chunk = data.slice(start, spec.max_rows_per_file)
            name = f"part-{spec.write_id[:12]}-{task_index:05d}-{seq[0]:05d}{fmt.EXTENSION}"
            seq[0] += 1
            rel = partition_spec_path(key)
            directory = _make_dirs_under(fs, staging, rel, spec)
            path = posixpath.join(directory, name)
            fmt.write(fs, path, chunk, spec.table.columns, spec.table.storage)
            sync(fs, path)  # durable before the commit point can name it
            written.append(WrittenFile(key, name, chunk.num_rows, fs.get_file_info(path).size))

    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = conform_input(batch, spec.input_columns, spec.table.qualified_name)
        for key, part in _route(spec, table):
            pending.setdefault(key, []).append(part)
            counts[key] = counts.get(key, 0) + part.num_rows
            if counts[key] >= spec.max_rows_per_file:
                flush(key)
    for key in list(pending):
        flush(key)
    return written


def _make_dirs_under(fs: Any, staging: str, rel: str, spec: WriteSpec) -> str:
    """Create ``staging/rel`` one level at a time, never the staging root itself.

    The driver creates the root when the write starts and deletes it on abort; a task
    still running after its job failed then fails here instead of silently recreating
    the directory (and leaving files no one will clean up).
    """
    if fs.get_file_info(staging).type.name != "Directory":
        raise WriteError(f"Write {spec.write_id} into {spec.table.qualified_name} was aborted")
    directory = staging
    for part in [p for p in rel.split("/") if p]:
        directory = posixpath.join(directory, part)
        if fs.get_file_info(directory).type.name != "Directory":
            try:
                fs.create_dir(directory, recursive=False)
            except OSError:
                if fs.get_file_info(directory).type.name != "Directory":
                    raise WriteError(f"Write {spec.write_id} into {spec.table.qualified_name} was aborted") from None
    return directory


def partition_task(spec: WriteSpec, index: int, batches: Iterator[Any]) -> Iterator[list[WrittenFile]]:
    """``rdd.mapPartitionsWithIndex`` form of ``write_task``."""
    yield write_task(spec, index, batches)


def run_tasks(spec: WriteSpec, data: Any) -> list[list[WrittenFile]]:
    """Run a write's tasks: one per partition of an RDD of batches (in parallel), or one
    here for an iterable. A bucketed table's rows are first exchanged on the bucket
    hash so that one task holds each bucket (``catalog.buckets``)."""
    if not hasattr(data, "mapPartitionsWithIndex"):
        return [write_task(spec, 0, data)]
    t = spec.table
    if t.num_buckets:
        from catalog.buckets import bucket_partition_task, conform_batches, partitioner

        exchanged = data.flatMap(functools.partial(conform_batches, spec)).shuffleBatches(
            partitioner(t.bucket_columns, t.num_buckets))
        return exchanged.mapPartitionsWithIndex(functools.partial(bucket_partition_task, spec)).collect()
    return data.mapPartitionsWithIndex(functools.partial(partition_task, spec)).collect()


# -- the rename plan and its (idempotent) execution ---------------------------------------


def execute_plan(plan: dict[str, Any]) -> None:
    """Do (or redo) a committed write's renames; safe to repeat after a crash."""
    for src, dst in plan.get("dir_moves", []):  # ALTER TABLE ... RENAME of a managed table
        fs, spath = resolve(src)
        _, dpath = resolve(dst)
        if fs.get_file_info(spath).type.name != "NotFound" and fs.get_file_info(dpath).type.name == "NotFound":
            fs.create_dir(posixpath.dirname(dpath), recursive=True)
            fs.move(spath, dpath)
    trash = plan["trash"]
    root = plan.get("root")
    for i, old in enumerate(plan["remove"]):
        fs, path = resolve(old)
        if fs.get_file_info(path).type.name == "File":
            tfs, tpath = resolve(join(trash, trash_relative(root, old, i)))
            tfs.create_dir(posixpath.dirname(tpath), recursive=True)
            fs.move(path, tpath)
    synced: set[str] = set()
    for src, dst in plan["moves"]:
        fs, spath = resolve(src)
        _, dpath = resolve(dst)
        if fs.get_file_info(spath).type.name == "File":
            fs.create_dir(posixpath.dirname(dpath), recursive=True)
            fs.move(spath, dpath)
        if posixpath.dirname(dpath) not in synced:
            synced.add(posixpath.dirname(dpath))
            sync(fs, posixpath.dirname(dpath), directory=True)
    for d in plan.get("create_dirs", []):
        fs, path = resolve(d)
        fs.create_dir(path, recursive=True)
    retention = float(plan.get("trash_retention", 0))
    for d in ([plan["staging"]] + ([trash] if retention <= 0 else [])):
        fs, path = resolve(d)
        if fs.get_file_info(path).type.name != "NotFound":
            fs.delete_dir(path)
    if root is not None and retention > 0:
        collect_trash(root, retention)
    for src in plan.get("delete_after", []):
        fs, path = resolve(src)
        if fs.get_file_info(path).type.name == "File":
            fs.delete_file(path)


def trash_relative(root: str | None, location: str, index: int) -> str:
    """Where a replaced file goes inside the trash: its path relative to the table
    root (so a reader holding an older snapshot can still find it), else a numbered name."""
    if root is not None:
        _, rpath = resolve(root)
        _, fpath = resolve(location)
        if fpath.startswith(rpath.rstrip("/") + "/"):
            return fpath[len(rpath.rstrip("/")) + 1:]
    return f"_other/{index:08d}-{posixpath.basename(location)}"


def collect_trash(root: str, retention_seconds: float, now: float | None = None) -> int:
    """Delete trash directories under ``root`` older than the retention; returns how many.

    Replaced files are kept that long so that scans planned before an INSERT OVERWRITE
    can still read the snapshot they listed (``TableSource`` looks there for moved files).
    """
    import time

    fs, path = resolve(root)
    now = time.time() if now is None else now
    removed = 0
    for e in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)):
        if e.base_name.startswith(TRASH_PREFIX) and e.type == pafs.FileType.Directory:
            created = _trash_time(e)
            if created is not None and now - created >= retention_seconds:
                fs.delete_dir(e.path)
                removed += 1
    return removed


def _trash_time(entry: pafs.FileInfo) -> float | None:
    """When a trash directory was made: the time in its name (object stores give
    directories no mtime), else its mtime (trash of older versions); None: unknown, kept."""
    m = re.search(r"-(\d{9,})$", entry.base_name)
    if m:
        return float(m.group(1))
    return entry.mtime.timestamp() if entry.mtime is not None else None


def find_in_trash(root: str, location: str) -> str | None:
    """The trashed copy of a file that an overwrite replaced after a scan listed it."""
    fs, rpath = resolve(root)
    rel = trash_relative(root, location, 0)
    if rel.startswith("_other/"):
        return None
    for e in fs.get_file_info(pafs.FileSelector(rpath, allow_not_found=True)):
        if e.base_name.startswith(TRASH_PREFIX) and e.type == pafs.FileType.Directory:
            candidate = posixpath.join(e.path, rel)
            if fs.get_file_info(candidate).type == pafs.FileType.File:
                return candidate if "://" not in location else location.split("://", 1)[0] + "://" + candidate
    return None


def staging_location(root: str, write_id: str) -> str:
    return join(root, STAGING_PREFIX + write_id)


def trash_location(root: str, write_id: str, now: float | None = None) -> str:
    """The hidden directory a write moves replaced files into, named with its time
    (``collect_trash`` ages it by that name)."""
    import time

    return join(root, f"{TRASH_PREFIX}{write_id}-{int(time.time() if now is None else now)}")


def process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), if knowable.

    Paired with the pid it identifies a process even after the pid is recycled.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return float(fields[19])  # field 22 of stat: starttime
    except (OSError, IndexError, ValueError):
        return None


def process_alive(pid: int, start: float | None = None) -> bool:
    """Whether the process that had ``pid`` (and, if known, ``start``) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is not None:
        now = process_start_time(pid)
        if now is not None and now != start:
            return False  # the pid was recycled by another process
    return True
