"""Parquet: the managed-table format. Splits are row-group ranges of big files."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from catalog.errors import DataFormatError
from catalog.formats.base import ReadRequest, conform, enforced_lengths, length_metadata
from catalog.formats.text import rows_only
from catalog.model import Column, StorageFormat

NAME = "parquet"
EXTENSION = ".parquet"
SPLITTABLE = False


def open_file(fs: pafs.FileSystem, path: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(fs.open_input_file(path))
    except (pa.ArrowException, OSError) as e:
        raise DataFormatError(f"not a readable Parquet file: {e}", path) from e


def read(fs: pafs.FileSystem, req: ReadRequest) -> Iterator[tuple[pa.RecordBatch, int]]:
    f = open_file(fs, req.path)
    wanted = req.wanted_columns()
    present = {n.lower(): n for n in f.schema_arrow.names}
    file_cols = [present[c.name.lower()] for c in wanted if c.name.lower() in present]
    row_groups = list(req.row_groups) if req.row_groups is not None else list(range(f.num_row_groups))
    if not row_groups:
        return
    try:
        if not wanted:
            yield rows_only(sum(f.metadata.row_group(i).num_rows for i in row_groups)), 0
            return
        trusted = enforced_lengths(f.schema_arrow.metadata, wanted)
        for batch in f.iter_batches(batch_size=req.batch_rows, row_groups=row_groups, columns=file_cols):
            yield conform(batch, wanted, req.path, trusted), 0
    except (pa.ArrowException, OSError) as e:
        if isinstance(e, DataFormatError):
            raise
        raise DataFormatError(f"corrupt Parquet data: {e}", req.path) from e


def write(fs: pafs.FileSystem, path: str, table: pa.Table, columns: tuple[Column, ...], storage: StorageFormat) -> None:
    lengths = length_metadata(columns)
    if lengths:  # values arrive cut to their CHAR/VARCHAR length: readers need not check
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **lengths})
    with fs.open_output_stream(path) as out:
        # Decimals as integers (not fixed-length byte arrays): 5x faster to decode.
        pq.write_table(table, out, compression=storage.serde_options.get("parquet.compression", "snappy").lower(),
                       row_group_size=128 * 1024, store_decimal_as_integer=True)
