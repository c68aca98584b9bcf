"""ORC: read stripe by stripe (a split is a range of stripes), written with pyarrow.orc."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.orc as paorc

from catalog.errors import DataFormatError
from catalog.formats.base import ReadRequest, conform
from catalog.formats.text import rows_only
from catalog.model import Column, StorageFormat

NAME = "orc"
EXTENSION = ".orc"
SPLITTABLE = False


def open_file(fs: pafs.FileSystem, path: str) -> paorc.ORCFile:
    try:
        return paorc.ORCFile(fs.open_input_file(path))
    except (pa.ArrowException, OSError) as e:
        raise DataFormatError(f"not a readable ORC file: {e}", path) from e


def read(fs: pafs.FileSystem, req: ReadRequest) -> Iterator[tuple[pa.RecordBatch, int]]:
    f = open_file(fs, req.path)
    wanted = req.wanted_columns()
    present = {n.lower(): n for n in f.schema.names}
    file_cols = [present[c.name.lower()] for c in wanted if c.name.lower() in present]
    stripes = list(req.row_groups) if req.row_groups is not None else list(range(f.nstripes))
    try:
        for i in stripes:
            if not wanted:
                yield rows_only(f.read_stripe(i, columns=[]).num_rows), 0
                continue
            batch = f.read_stripe(i, columns=file_cols)
            yield conform(batch, wanted, req.path), 0
    except (pa.ArrowException, OSError) as e:
        if isinstance(e, DataFormatError):
            raise
        raise DataFormatError(f"corrupt ORC data: {e}", req.path) from e


def write(fs: pafs.FileSystem, path: str, table: pa.Table, columns: tuple[Column, ...], storage: StorageFormat) -> None:
    codec = storage.serde_options.get("orc.compress", "zlib").lower()
    with fs.open_output_stream(path) as out:
        paorc.write_table(table, out, compression="uncompressed" if codec == "none" else codec)
