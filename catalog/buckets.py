"""Bucketed tables: ``CLUSTERED BY (c, ...) [SORTED BY (c [ASC|DESC], ...)] INTO n BUCKETS``.

A write leaves exactly n files in every partition it touches (in the table's directory
when it is not partitioned), one per bucket, named ``bucket-00003-<layout>-<write id>.<ext>``:
the bucket is read back from the name, and ``<layout>`` (a digest of the bucket columns
and n) tells files written under another ``CLUSTERED BY`` — an ``ALTER TABLE`` changes
only the definition, as in Hive — from files the current layout vouches for. Row r belongs to bucket
``rdd.columnar.hash_partition_ids(rows, columns, n)[r]`` over the declared column types:
the hash and modulus of the engine's own shuffle (never Python's ``hash``), so bucket i
of a table is exactly partition i of a shuffle on the bucket columns, in any process.
Each file is sorted by the SORTED BY columns (Hive's order: ASC puts NULLs first, DESC
last).

How a write gets there:

1. An RDD input is conformed to the table's types and exchanged with
   ``BatchHashPartitioner(columns, n)``: reduce task i receives every row of bucket i
   (``bucket_partition_task``); an iterator input is bucketed in one task.
2. ``write_bucketed`` routes the rows to their Hive partition and writes one file per
   (partition, bucket) with rows. INSERT INTO *merges*: the bucket's current file in
   that partition is read, the new rows are added and the whole is sorted again and
   written as its replacement, so a partition never holds two files of one bucket and
   every file stays sorted. The file names the write's id, never the old file's name,
   so a scan planned before the commit keeps reading the file it listed.
3. The commit adds an empty file for each bucket that got no rows (``empty_buckets``)
   and, for INSERT INTO, checks inside its transaction that the files a task merged
   are still the bucket's files (``merge_conflicts``): of two concurrent INSERTs into
   one bucket, one fails and writes nothing instead of losing the other's rows.

Files of a bucketed partition that do not follow the current layout (written before an
``ALTER TABLE ... CLUSTERED BY``, or by another tool) stop an INSERT INTO with an error
naming them, and the scan source then reports no bucketing; INSERT OVERWRITE rewrites
the partition bucketed.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog import formats
from catalog.errors import WriteError
from catalog.files import DataFile, join, list_data_files, resolve, sync
from catalog.formats.base import ReadRequest

if TYPE_CHECKING:
    from catalog.model import Table
    from catalog.writer import WriteSpec, WrittenFile

BUCKET_PREFIX = "bucket-"
_BUCKET_NAME = re.compile(r"^bucket-(\d+)-([0-9a-f]{8})-")

PartitionKey = tuple[tuple[str, str | None], ...]


def layout_tag(t: Table) -> str:
    """8 hex digits naming a table's bucket layout (its bucket columns and count)."""
    text = ",".join(t.bucket_columns) + "/" + str(t.num_buckets)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def bucket_file_name(t: Table, bucket: int, write_id: str, extension: str) -> str:
    return f"{BUCKET_PREFIX}{bucket:05d}-{layout_tag(t)}-{write_id[:12]}{extension}"


def bucket_of(name: str, t: Table) -> int | None:
    """The bucket of a file of ``t`` from its name; None unless it is a bucket file
    written under ``t``'s current layout."""
    m = _BUCKET_NAME.match(posixpath.basename(name))
    if m is None or m.group(2) != layout_tag(t) or int(m.group(1)) >= (t.num_buckets or 0):
        return None
    return int(m.group(1))


def bucket_ids(rows: pa.Table | pa.RecordBatch, columns: tuple[str, ...], num_buckets: int) -> np.ndarray:
    """The bucket of every row: the engine's shuffle hash of the bucket columns."""
    # imported here: only bucketed writes need rdd, the rest of catalog never imports it
    from rdd.columnar import hash_partition_ids

    return hash_partition_ids(rows, list(columns), num_buckets)


def partitioner(columns: tuple[str, ...], num_buckets: int) -> Any:
    from rdd.columnar import BatchHashPartitioner

    return BatchHashPartitioner(tuple(columns), num_buckets)


def sort_rows(rows: pa.Table, sort_columns: tuple[tuple[str, str], ...]) -> pa.Table:
    """Rows ordered by SORTED BY: ASC with NULLs first, DESC with NULLs last (Hive's)."""
    if not sort_columns or rows.num_rows < 2:
        return rows
    keys: dict[str, pa.Array] = {}
    order: list[tuple[str, str]] = []
    for i, (name, direction) in enumerate(sort_columns):
        col = rows.column(name)
        descending = direction.upper() == "DESC"
        # a leading flag per key places NULLs, whatever Arrow's own null placement
        keys[f"n{i}"] = pc.is_null(col) if descending else pc.is_valid(col)
        keys[f"v{i}"] = col
        order += [(f"n{i}", "ascending"), (f"v{i}", "descending" if descending else "ascending")]
    indices = pc.sort_indices(pa.table(keys), sort_keys=order)
    return rows.take(indices)


def list_bucket_files(location: str, t: Table) -> tuple[dict[int, list[DataFile]], list[DataFile]]:
    """A partition directory's visible files (empty ones too) by bucket, and the rest."""
    fs, path = resolve(location)
    by_bucket: dict[int, list[DataFile]] = {}
    others: list[DataFile] = []
    for f in list_data_files(fs, path, recursive=False, include_empty=True):
        b = bucket_of(f.path, t)
        if b is None:
            others.append(f)
        else:
            by_bucket.setdefault(b, []).append(f)
    return by_bucket, others


# -- the task side --------------------------------------------------------------------------


def conform_batches(spec: WriteSpec, batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    """One input batch in the write's declared types and names (before the exchange,
    so that every process hashes the same typed values)."""
    from catalog.writer import conform_input

    if batch.num_rows == 0:
        return []
    return conform_input(batch, spec.input_columns, spec.table.qualified_name).combine_chunks().to_batches()


def bucket_partition_task(spec: WriteSpec, index: int, batches: Iterator[Any]) -> Iterator[list[WrittenFile]]:
    """``mapPartitionsWithIndex`` form of ``write_bucketed`` after the exchange: partition
    ``index`` holds exactly bucket ``index``."""
    yield write_bucketed(spec, index, batches, conformed=True, only_bucket=index)


def write_bucketed(spec: WriteSpec, task_index: int, batches: Iterable[Any], *, conformed: bool = False,
                   only_bucket: int | None = None) -> list[WrittenFile]:
    """Write rows of a bucketed table: one sorted file per (Hive partition, bucket)."""
    from catalog.writer import _route, conform_input

    t = spec.table
    n = t.num_buckets
    assert n
    pending: dict[tuple[PartitionKey, int], list[pa.Table]] = {}
    for batch in batches:
        if batch.num_rows == 0:
            continue
        if not conformed:
            table = conform_input(batch, spec.input_columns, t.qualified_name)
        else:
            table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        for key, part in _route(spec, table):
            ids = bucket_ids(part, t.bucket_columns, n)
            if only_bucket is not None:
                if (ids != only_bucket).any():
                    raise WriteError(f"Write into {t.qualified_name}: rows of another bucket reached the "
                                     f"task of bucket {only_bucket} (the exchange and the bucket hash disagree)")
                pending.setdefault((key, only_bucket), []).append(part)
                continue
            for b in np.unique(ids).tolist():
                pending.setdefault((key, b), []).append(part.filter(pa.array(ids == b)))
    written = []
    for (key, b), parts in sorted(pending.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        written.append(_write_bucket_file(spec, key, b, pa.concat_tables(parts)))
    return written


def _write_bucket_file(spec: WriteSpec, key: PartitionKey, bucket: int, rows: pa.Table) -> WrittenFile:
    from catalog.model import partition_spec_path
    from catalog.writer import WrittenFile, _make_dirs_under

    t = spec.table
    fmt = formats.get(t.storage.format)
    replaces: tuple[str, ...] = ()
    old_rows = old_bytes = 0
    rel = partition_spec_path(key)
    location = dict(spec.partition_locations).get(rel)
    if not spec.overwrite and location is not None:
        old, replaces, old_bytes = _read_bucket(spec, location, bucket)
        if old is not None:
            old_rows = old.num_rows
            rows = pa.concat_tables([old, rows])
    rows = sort_rows(rows.combine_chunks(), t.sort_columns)
    fs, staging = resolve(spec.staging)
    directory = _make_dirs_under(fs, staging, rel, spec)
    name = bucket_file_name(t, bucket, spec.write_id, fmt.EXTENSION)
    path = posixpath.join(directory, name)
    fmt.write(fs, path, rows, t.columns, t.storage)
    sync(fs, path)
    return WrittenFile(key, name, rows.num_rows, fs.get_file_info(path).size, bucket=bucket, replaces=replaces,
                       replaced_rows=old_rows, replaced_bytes=old_bytes)


def _read_bucket(spec: WriteSpec, location: str, bucket: int) -> tuple[pa.Table | None, tuple[str, ...], int]:
    """The rows of one bucket's current file(s) in a partition, their names and size."""
    t = spec.table
    by_bucket, others = list_bucket_files(location, t)
    if others:
        raise WriteError(
            f"Cannot INSERT INTO bucketed table {t.qualified_name}: {others[0].path} is not one of its bucket "
            f"files (written before the table was bucketed or re-bucketed, or by another tool); "
            f"INSERT OVERWRITE that partition to rewrite it bucketed"
        )
    files = by_bucket.get(bucket, [])
    if not files:
        return None, (), 0
    fs, _ = resolve(location)
    fmt = formats.get(t.storage.format)
    names = tuple(c.name for c in t.columns)
    skip = int(t.props.get("skip.header.line.count", "0") or 0)
    batches = []
    for f in files:
        if f.size == 0:
            continue
        req = ReadRequest(path=f.path, columns=t.columns, wanted=names, storage=t.storage, skip_header_lines=skip)
        batches += [b for b, _ in fmt.read(fs, req)]
    schema = t.data_schema()
    old = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    return old, tuple(posixpath.basename(f.path) for f in files), sum(f.size for f in files)


# -- the driver side, at commit -----------------------------------------------------------------


def empty_buckets(spec: WriteSpec, files: list[WrittenFile], affected: dict[str, PartitionKey],
                  locations: dict[str, str], overwrite: bool) -> list[WrittenFile]:
    """Write an empty file (into staging) for each bucket of each affected partition that
    will otherwise have none, so that every partition keeps exactly n bucket files."""
    from catalog.writer import WrittenFile, _make_dirs_under

    t = spec.table
    fmt = formats.get(t.storage.format)
    fs, staging = resolve(spec.staging)
    empty = t.data_schema().empty_table()
    out = []
    for rel, values in sorted(affected.items()):
        have = {f.bucket for f in files if f.rel_dir == rel}
        if not overwrite and rel in locations:
            have |= set(list_bucket_files(locations[rel], t)[0])
        for b in range(t.num_buckets or 0):
            if b in have:
                continue
            directory = _make_dirs_under(fs, staging, rel, spec)
            name = bucket_file_name(t, b, spec.write_id, fmt.EXTENSION)
            fmt.write(fs, posixpath.join(directory, name), empty, t.columns, t.storage)
            out.append(WrittenFile(values, name, 0, fs.get_file_info(posixpath.join(directory, name)).size,
                                   bucket=b))
    return out


def merge_conflicts(spec: WriteSpec, files: list[WrittenFile], locations: dict[str, str]) -> list[str]:
    """For an INSERT INTO (inside the commit transaction): the files the merge replaces,
    after checking that each touched bucket's files are still those the task merged."""
    remove = []
    listings: dict[str, dict[int, list[DataFile]]] = {}
    for f in files:
        location = locations[f.rel_dir]
        if location not in listings:
            listings[location] = list_bucket_files(location, spec.table)[0]
        now = {posixpath.basename(d.path) for d in listings[location].get(f.bucket, [])}  # type: ignore[arg-type]
        if now != set(f.replaces):
            raise WriteError(
                f"Bucket {f.bucket} of {spec.table.qualified_name}"
                + (f" partition {f.rel_dir}" if f.rel_dir else "")
                + " was changed by a concurrent write while this INSERT merged it; nothing was written, "
                  "run the INSERT again"
            )
        remove += [join(location, name) for name in f.replaces]
    return remove
