"""``TableSource``: a stored table as a ``catalog.scan.ScanSource``.

Built on the driver by ``Catalog.scan_source`` from a snapshot of the table: its
definition, its partitions and the list of its visible data files (taken while no
commit is in flight, so a scan never sees half of a write). Everything here is plain
picklable data; ``read_split`` runs inside executor tasks and reopens files itself.

Pruning, from coarse to fine, all with Arrow's own expression machinery:

* partitions: each partition's ``key=value`` values become a partition expression of a
  ``pyarrow.dataset`` (never opened), whose ``get_fragments(filter=...)`` keeps only
  partitions the predicate may match (unknown data columns count as "maybe");
* Parquet row groups: ``ParquetFileFragment.split_by_row_group(filter)`` drops row
  groups whose min/max statistics rule the predicate out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from catalog import formats
from catalog.buckets import bucket_of
from catalog.errors import DataFormatError
from catalog.files import DataFile, compression_of, resolve
from catalog.formats.base import ReadRequest
from catalog.formats.textconv import parse_column
from catalog.model import Column, Table
from catalog.scan import Bucketing, ScanSplit, TableStatistics
from catalog.types import parse_hive_type
from catalog.writer import find_in_trash

log = logging.getLogger(__name__)

DEFAULT_SPLIT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PartitionFiles:
    """One directory's worth of a snapshot: its partition values and data files."""

    values: tuple[tuple[str, Any], ...]  # typed Python values, partition-column order
    files: tuple[DataFile, ...]
    raw: tuple[tuple[str, str | None], ...] = ()  # the metastore's text values


def typed_partition_values(
    columns: Sequence[Column], values: Sequence[tuple[str, str | None]]
) -> tuple[tuple[str, Any], ...]:
    """Directory strings -> typed values (``None`` for the default partition)."""
    out = []
    for col, (_, text) in zip(columns, values):
        if text is None:
            out.append((col.name, None))
            continue
        parsed = parse_column(pa.array([text]), parse_hive_type(col.type), ("\x01",) * 8, "\x00")
        out.append((col.name, parsed.array[0].as_py()))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TableSource:
    table: Table
    root: str  # the table location (a URI or local path): tells tasks which filesystem
    parts: tuple[PartitionFiles, ...]
    stats: TableStatistics | None = None
    strict: bool = False
    split_bytes: int = DEFAULT_SPLIT_BYTES
    #: anything with ``add(int)`` (an rdd Accumulator): receives counts of bad fields
    bad_fields: Any = None

    # -- the ScanSource protocol ------------------------------------------------------

    @property
    def schema(self) -> pa.Schema:
        return self.table.arrow_schema()

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return self.table.partition_names

    @property
    def bucketing(self) -> Bucketing | None:
        """The table's bucketing when every listed file is one of its bucket files under
        the current layout (``catalog.buckets``); the splits of those files carry their
        bucket. None for unbucketed tables and for data that does not follow the layout
        (files from before an ``ALTER TABLE ... CLUSTERED BY``), which the planner must
        not trust."""
        t = self.table
        if not t.num_buckets:
            return None
        for p in self.parts:
            for f in p.files:
                if bucket_of(f.path, t) is None:
                    return None
        return Bucketing(t.bucket_columns, t.num_buckets, t.sort_columns)

    def statistics(self) -> TableStatistics | None:
        total = sum(f.size for p in self.parts for f in p.files)
        if self.stats is None:
            return TableStatistics(row_count=None, total_bytes=total)
        if self.stats.total_bytes is None:
            return TableStatistics(self.stats.row_count, total, self.stats.columns)
        return self.stats

    def splits(self, predicate: pc.Expression | None = None) -> list[ScanSplit]:
        parts = self.prune_partitions(predicate)
        out: list[ScanSplit] = []
        fmt = formats.get(self.table.storage.format)
        for part in parts:
            pexpr = self._partition_expression(part.values)
            for f in part.files:
                out.extend(self._file_splits(fmt, f, part.values, pexpr, predicate))
        return out

    def read_split(
        self,
        split: ScanSplit,
        columns: Sequence[str] | None = None,
        predicate: pc.Expression | None = None,
    ) -> Iterator[pa.RecordBatch]:
        schema = self.schema
        names = list(schema.names) if columns is None else list(columns)
        part_names = {n.lower(): n for n in self.partition_columns}
        data_wanted = tuple(n for n in names if n.lower() not in part_names)
        fs, path = resolve(split.path)
        if fs.get_file_info(path).type.name == "NotFound":
            # an INSERT OVERWRITE committed after this snapshot was listed: read the
            # replaced file from the trash, where it is kept for a while for such scans
            moved = find_in_trash(self.root, split.path)
            if moved is None:
                raise DataFormatError("file vanished (the table was overwritten or dropped during the scan)", split.path)
            fs, path = resolve(moved)
        req = ReadRequest(
            path=path,
            columns=self.table.columns,
            wanted=data_wanted,
            storage=self.table.storage,
            start=split.start,
            length=split.length,
            row_groups=split.row_groups,
            strict=self.strict,
            skip_header_lines=int(self.table.props.get("skip.header.line.count", "0") or 0),
            chunk_bytes=self.split_bytes,
        )
        values = dict(split.partition_values)
        out_schema = pa.schema([schema.field(n) for n in names])
        for batch, bad in formats.get(split.format).read(fs, req):
            if bad:
                self._report_bad(bad, split.path)
            by_name = {n.lower(): batch.column(i) for i, n in enumerate(batch.schema.names)}
            arrays = []
            for n in names:
                if n.lower() in part_names:
                    f = schema.field(n)
                    arrays.append(pa.repeat(pa.scalar(values.get(f.name), f.type), batch.num_rows))
                else:
                    arrays.append(by_name[n.lower()])
            out = batch if not names else pa.RecordBatch.from_arrays(arrays, schema=out_schema)
            # a text split parses into one big batch; hand it on in bounded (zero-copy) slices
            for start in range(0, max(out.num_rows, 1), req.batch_rows):
                yield out.slice(start, req.batch_rows)

    # -- helpers --------------------------------------------------------------------

    def _report_bad(self, n: int, path: str) -> None:
        log.info("%d field(s) of %s did not parse and were read as NULL", n, path)  # the user hears it through the query's warnings
        if self.bad_fields is not None:
            self.bad_fields.add(n)

    def _partition_expression(self, values: tuple[tuple[str, Any], ...]) -> pc.Expression | None:
        expr = None
        schema = self.schema
        for name, value in values:
            f = schema.field(name)
            term = pc.field(name).is_null() if value is None else pc.field(name) == pa.scalar(value, f.type)
            expr = term if expr is None else expr & term
        return expr

    def prune_partitions(self, predicate: pc.Expression | None) -> tuple[PartitionFiles, ...]:
        if predicate is None or not self.partition_columns or not self.parts:
            return self.parts
        exprs = [self._partition_expression(p.values) for p in self.parts]
        try:
            dataset = ds.FileSystemDataset.from_paths(
                [f"/p/{i}" for i in range(len(self.parts))],
                schema=self.schema,
                format=ds.IpcFileFormat(),
                filesystem=resolve("/")[0],
                partitions=exprs,  # type: ignore[arg-type]
            )
            keep = {int(fr.path.rsplit("/", 1)[1]) for fr in dataset.get_fragments(filter=predicate)}
        except (pa.ArrowException, TypeError, ValueError) as e:
            log.debug("partition pruning skipped: %s", e)
            return self.parts
        return tuple(p for i, p in enumerate(self.parts) if i in keep)

    def _uri(self, path: str) -> str:
        if "://" in self.root:
            scheme = self.root.split("://", 1)[0]
            return f"{scheme}://{path}" if "://" not in path else path
        return path

    def _file_splits(
        self,
        fmt: Any,
        f: DataFile,
        values: tuple[tuple[str, Any], ...],
        pexpr: pc.Expression | None,
        predicate: pc.Expression | None,
    ) -> list[ScanSplit]:
        uri = self._uri(f.path)
        if self.table.num_buckets:
            bucket = bucket_of(f.path, self.table)
            return [replace(s, bucket=bucket) for s in self._unbucketed_splits(fmt, f, uri, values, pexpr, predicate)]
        return self._unbucketed_splits(fmt, f, uri, values, pexpr, predicate)

    def _unbucketed_splits(
        self,
        fmt: Any,
        f: DataFile,
        uri: str,
        values: tuple[tuple[str, Any], ...],
        pexpr: pc.Expression | None,
        predicate: pc.Expression | None,
    ) -> list[ScanSplit]:
        common: dict[str, Any] = {"path": uri, "format": fmt.NAME, "partition_values": values}
        if fmt.NAME == "parquet":
            return self._parquet_splits(f, uri, values, pexpr, predicate)
        if fmt.NAME == "orc" and f.size > self.split_bytes:
            stripes = formats.orc.open_file(*resolve(uri)).nstripes
            per = max(1, stripes * self.split_bytes // max(f.size, 1))
            return [
                ScanSplit(**common, row_groups=tuple(range(i, min(i + per, stripes))),
                          size_bytes=f.size * min(per, stripes - i) // stripes)
                for i in range(0, stripes, per)
            ]
        if fmt.SPLITTABLE and compression_of(f.path) is None and f.size > self.split_bytes:
            return [
                ScanSplit(**common, start=s, length=min(self.split_bytes, f.size - s),
                          size_bytes=min(self.split_bytes, f.size - s))
                for s in range(0, f.size, self.split_bytes)
            ]
        return [ScanSplit(**common, size_bytes=f.size)]

    def _parquet_splits(
        self,
        f: DataFile,
        uri: str,
        values: tuple[tuple[str, Any], ...],
        pexpr: pc.Expression | None,
        predicate: pc.Expression | None,
    ) -> list[ScanSplit]:
        if predicate is None and f.size <= self.split_bytes:
            return [ScanSplit(uri, "parquet", partition_values=values, size_bytes=f.size)]
        fs, path = resolve(uri)
        try:
            frag = ds.ParquetFileFormat().make_fragment(
                path, filesystem=fs, partition_expression=pexpr if pexpr is not None else pc.scalar(True)
            )
            groups = frag.split_by_row_group(filter=predicate, schema=self.schema) if predicate is not None \
                else frag.split_by_row_group()
            infos = [(g.row_groups[0].id, g.row_groups[0].total_byte_size) for g in groups]
        except (pa.ArrowException, OSError, TypeError) as e:
            log.debug("row-group pruning skipped for %s: %s", uri, e)
            return [ScanSplit(uri, "parquet", partition_values=values, size_bytes=f.size)]
        out: list[ScanSplit] = []
        batch: list[int] = []
        size = 0
        for rg, nbytes in infos:
            batch.append(rg)
            size += nbytes
            if size >= self.split_bytes:
                out.append(ScanSplit(uri, "parquet", row_groups=tuple(batch), partition_values=values, size_bytes=size))
                batch, size = [], 0
        if batch:
            out.append(ScanSplit(uri, "parquet", row_groups=tuple(batch), partition_values=values, size_bytes=size))
        return out


def read_all(source: TableSource, columns: Sequence[str] | None = None,
             predicate: pc.Expression | None = None) -> pa.Table:
    """Every row of a source (driver-side; tests, ANALYZE, small tables)."""
    names = list(source.schema.names) if columns is None else list(columns)
    schema = pa.schema([source.schema.field(n) for n in names])
    batches = [b for s in source.splits(predicate) for b in source.read_split(s, names, predicate)]
    table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    if predicate is not None:
        table = table.filter(predicate)
    return table
