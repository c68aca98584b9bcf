"""What every storage format module provides, and helpers they share.

A format module exposes ``NAME``, ``EXTENSION``, ``SPLITTABLE`` (byte-range splits on
line ends), ``read(...)`` yielding ``(batch, bad_field_count)`` pairs with exactly the
requested data columns typed as the table declares, and ``write(...)`` of one file.
Readers name the file in every error they raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from catalog.errors import DataFormatError
from catalog.model import Column, StorageFormat
from catalog.types import enforce_length, parse_hive_type


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One split's worth of reading: plain data handed to a format's ``read``."""

    path: str
    columns: tuple[Column, ...]  # the table's data columns, in table order
    wanted: tuple[str, ...]  # the data columns to return, in this order
    storage: StorageFormat
    start: int = 0
    length: int | None = None
    row_groups: tuple[int, ...] | None = None
    strict: bool = False
    skip_header_lines: int = 0
    batch_rows: int = 65536
    chunk_bytes: int = 32 * 1024 * 1024  # decompressed text is parsed this much at a time

    def wanted_columns(self) -> list[Column]:
        by_name = {c.name.lower(): c for c in self.columns}
        return [by_name[w.lower()] for w in self.wanted]


def conform(batch: pa.RecordBatch | pa.Table, columns: Sequence[Column], path: str,
            lengths_enforced: frozenset[str] = frozenset()) -> pa.RecordBatch:
    """Select ``columns`` from a batch read from ``path`` (case-insensitive), in order,
    cast to their declared types; columns the file lacks (added by ALTER TABLE) are null.
    CHAR/VARCHAR values are cut to their length unless the column is in
    ``lengths_enforced`` (the file was written by us under the same declared type).
    """
    if isinstance(batch, pa.Table):
        batch = batch.combine_chunks().to_batches()[0] if batch.num_rows else pa.RecordBatch.from_pylist([], schema=batch.schema)
    index = {name.lower(): i for i, name in enumerate(batch.schema.names)}
    arrays = []
    for c in columns:
        target = c.arrow_type
        i = index.get(c.name.lower())
        if i is None:
            arrays.append(pa.nulls(batch.num_rows, target))
            continue
        arr = batch.column(i)
        if arr.type != target:
            # timestamps written at ns (INT96 Parquet from Hive/Impala, ORC) are truncated
            # to our microseconds; every other conversion must be exact
            lossy_ok = pa.types.is_timestamp(arr.type) and pa.types.is_timestamp(target)
            try:
                arr = pc.cast(arr, target, safe=not lossy_ok)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise DataFormatError(
                    f"column {c.name} holds {arr.type}, which does not convert to {c.type}: {e}",
                    path, column=c.name,
                ) from e
        if c.type.startswith(("varchar", "char")) and c.name not in lengths_enforced:
            # files from other writers may hold longer or padded values (Hive's ORC pads CHAR)
            arr = enforce_length(arr, parse_hive_type(c.type), check_first=True)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema([pa.field(c.name, c.arrow_type) for c in columns]))


def empty_batch(columns: Sequence[Column]) -> pa.RecordBatch:
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in columns])
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


#: key of the file metadata in which our writers record the declared CHAR/VARCHAR types
#: of the values they wrote (already cut to length), so that readers can skip the check
LENGTHS_KEY = b"lamna.enforced_lengths"


def length_metadata(columns: Sequence[Column]) -> dict[bytes, bytes] | None:
    """File metadata recording which columns were written cut to their declared length."""
    import json

    typed = {c.name: c.type for c in columns if c.type.startswith(("varchar", "char"))}
    return {LENGTHS_KEY: json.dumps(typed).encode()} if typed else None


def enforced_lengths(metadata: dict[bytes, bytes] | None, columns: Sequence[Column]) -> frozenset[str]:
    """The columns whose values a file's metadata vouches for under their current types."""
    import json

    if not metadata or LENGTHS_KEY not in metadata:
        return frozenset()
    try:
        typed = json.loads(metadata[LENGTHS_KEY])
    except ValueError:
        return frozenset()
    return frozenset(c.name for c in columns if typed.get(c.name) == c.type)
