"""Data-changing operations of the catalog: INSERT (``write``), CTAS, TRUNCATE, LOAD DATA,
INSERT OVERWRITE DIRECTORY. A mixin of ``Catalog``; the commit protocol is in
``catalog.commit`` and the task side in ``catalog.writer``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pyarrow.fs as pafs

from catalog import formats
from catalog.commit import PendingWrite, WriteResult
from catalog.commit import as_batches as _as_batches
from catalog.commit import uri_like as _uri_like
from catalog.errors import (
    CatalogError,
    NotATable,
    PartitionSpecError,
    TableExists,
    WriteError,
)
from catalog.files import (
    delete_dir,
    exists,
    join,
    list_data_files,
    missing_bucket,
    resolve,
    sync,
)
from catalog.metastore import Metastore
from catalog.model import (
    EXTERNAL,
    MANAGED,
    Column,
    Table,
    partition_spec_path,
)
from catalog.source import PartitionFiles, TableSource
from catalog.validation import PartitionSpec, check_columns, normalize_table
from catalog.writer import (
    WriteSpec,
    WrittenFile,
    execute_plan,
    new_write_id,
    run_tasks,
    staging_location,
    trash_location,
)

log = logging.getLogger(__name__)


_CODEC_PROPERTIES = ("parquet.compression", "orc.compress", "skip.header.line.count")


def with_codec_options(t: Table) -> Table:
    """Table properties the format writers need (``parquet.compression``, ``orc.compress``;
    ``skip.header.line.count``, so written text files carry the header their readers
    skip), handed to them through the storage options."""
    extra = tuple((k, v) for k, v in t.properties if k in _CODEC_PROPERTIES)
    if not extra:
        return t
    return replace(t, storage=replace(t.storage, serde_properties=t.storage.serde_properties + extra))


def _rows_of(data: Any) -> Any:
    """An RDD as it is; anything else as a list of record batches."""
    return data if hasattr(data, "mapPartitionsWithIndex") else _as_batches(data)


class WriteOps:
    """Atomic writes; expects the rest of ``Catalog`` on self."""

    metastore: Metastore

    def start_write(
        self, db: str, name: str, *, overwrite: bool = False, partition: PartitionSpec = (),
        max_rows_per_file: int | None = None, max_partitions: int | None = None,
    ) -> PendingWrite:
        """Begin an atomic write: journal it and pick a staging directory.

        ``partition`` may give every partition column a value (static), or leave trailing
        ones ``None`` (dynamic: taken from the last columns of the input batches).
        ``max_partitions`` (Hive's ``hive.exec.max.dynamic.partitions``) fails a write
        that would create more partitions, before anything becomes visible.
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
                    f"Dynamic partition cannot be the parent of a static partition: partition columns of "
                    f"{t.qualified_name} without a value must come after those given one"
                )
        write_id = new_write_id()
        staging = staging_location(t.location, write_id)  # type: ignore[arg-type]
        self.metastore.begin_write(write_id, t.db, t.name, staging, self._host, *self._me())
        self._make_staging(write_id, staging, t.qualified_name)
        ws = WriteSpec(
            table=with_codec_options(t), write_id=write_id, staging=staging, static_partition=static,  # type: ignore[arg-type]
            max_rows_per_file=max_rows_per_file or int(t.props.get("lamna.max.rows.per.file", 1_000_000)),
            overwrite=overwrite, partition_locations=self._bucket_merge_locations(t) if not overwrite else (),
        )
        return PendingWrite(self, ws, overwrite, max_partitions=max_partitions)

    def _make_staging(self, write_id: str, staging: str, target: str) -> None:
        """Create a write's staging directory; if the storage refuses (a missing bucket,
        no permission), end the journal entry and say which location failed."""
        try:
            fs, staging_path = resolve(staging)
            missing = missing_bucket(fs, staging_path)
            if missing is not None:
                raise WriteError(f"Cannot write into {target}: bucket {missing!r} of {staging} does not exist")
            fs.create_dir(staging_path, recursive=True)
        except (OSError, WriteError) as e:
            self.metastore.end_write(write_id)
            if isinstance(e, WriteError):
                raise
            raise WriteError(f"Cannot write into {target}: {staging} cannot be created ({e})") from e

    def _bucket_merge_locations(self, t: Table) -> tuple[tuple[str, str], ...]:
        """Where an INSERT INTO a bucketed table finds the bucket files it merges."""
        if not t.num_buckets:
            return ()
        if not t.partition_columns:
            return (("", t.location),)  # type: ignore[return-value]
        return tuple((p.spec, p.location) for p in self.metastore.list_partitions(t.db, t.name))

    def write(
        self, db: str, name: str, data: Any, *, overwrite: bool = False, partition: PartitionSpec = (),
        max_rows_per_file: int | None = None, max_partitions: int | None = None,
    ) -> WriteResult:
        """Write ``data`` (an RDD of RecordBatch, or an iterable of batches/tables) atomically.

        An RDD is written by one task per partition (``mapPartitionsWithIndex``), in
        parallel; an iterable by one task in this thread.
        """
        pending = self.start_write(db, name, overwrite=overwrite, partition=partition,
                                   max_rows_per_file=max_rows_per_file, max_partitions=max_partitions)
        try:
            return pending.commit(run_tasks(pending.spec, _rows_of(data)))
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
        self._make_staging(write_id, staging, table.qualified_name)
        spec = WriteSpec(table=with_codec_options(table), write_id=write_id, staging=staging,
                         max_rows_per_file=max_rows_per_file or 1_000_000)
        pending = PendingWrite(self, spec, overwrite=False, create=table)
        try:
            return pending.commit(run_tasks(spec, _rows_of(data)))
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
        magic = {"parquet": (b"PAR1", "Parquet"), "orc": (b"ORC", "ORC")}.get(fmt.NAME)
        if magic is not None:
            for f in files:
                with src_fs.open_input_file(f.path) as fh:
                    head = fh.read(len(magic[0]))
                if head != magic[0]:
                    raise WriteError(
                        f"LOAD DATA: {f.path} is not a {magic[1]} file but {t.qualified_name} is stored as {magic[1]}"
                    )
        if t.num_buckets:
            return self._load_bucketed(t, values, path, files, overwrite=overwrite, local=local)
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
                sync(fs, f"{target_dir}/{base}")
                written.append(WrittenFile(values, base, -1, f.size))
            delete_after = [] if local else [_uri_like(path, f.path) for f in files]
            return pending.commit([written], delete_after=delete_after, unique_names=True)
        except BaseException:
            pending.abort()
            raise

    def _load_bucketed(self, t: Table, values: tuple[tuple[str, str | None], ...], path: str, files: list[Any], *,
                       overwrite: bool, local: bool) -> WriteResult:
        """LOAD DATA into a bucketed table, rewritten as an INSERT (as Hive 3 does): the
        files are read in the table's format and their rows written through the bucketed
        writer, so the table keeps one hashed, sorted file per bucket. Copying them as
        they are would leave rows in files whose names claim a bucket they are not in."""
        rows = TableSource(table=replace(t, partition_columns=()), root=path,
                           parts=(PartitionFiles((), tuple(files)),))
        pending = self.start_write(t.db, t.name, overwrite=overwrite, partition=values)
        try:
            batches = (b for split in rows.splits() for b in rows.read_split(split))
            delete_after = [] if local else [_uri_like(path, f.path) for f in files]
            return pending.commit([pending.run_task(0, batches)], delete_after=delete_after)
        except BaseException:
            pending.abort()
            raise

    def write_directory(self, location: str, columns: Sequence[Column], storage: Any, data: Any, *,
                        max_rows_per_file: int = 1_000_000) -> WriteResult:
        """INSERT OVERWRITE [LOCAL] DIRECTORY: replace a directory's files with ``data``,
        atomically (staging, journaled commit), like a table write without a table."""
        t = Table(db="", name=location, kind=EXTERNAL, columns=tuple(columns), storage=storage, location=location)
        write_id = new_write_id()
        staging = staging_location(location, write_id)
        self.metastore.begin_write(write_id, "", location, staging, self._host, *self._me())
        self._make_staging(write_id, staging, location)
        fs, staging_path = resolve(staging)
        try:
            spec = WriteSpec(table=t, write_id=write_id, staging=staging, max_rows_per_file=max_rows_per_file)
            files = [f for group in run_tasks(spec, _rows_of(data)) for f in group]
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
