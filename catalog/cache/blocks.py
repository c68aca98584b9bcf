"""One cache block: the rows of one storage split, columnar, compressed where it pays,
with the statistics that let scans skip it.

A block is a list with one ``pyarrow.RecordBatch`` (the block manager stores, spills
and reads back lists of batches). Its ``BlockInfo`` (row count, sizes, per-column
min/max/null count and small distinct sets) travels inside the batch's schema
metadata, so it is beside the block wherever the block is: in memory, in its Arrow IPC
spill file, or returned by the task that built it.

Compression, where it pays, always in a form Arrow casts back exactly: a string column
whose dictionary encoding is much smaller is kept dictionary-encoded (int8/int16
indices); integers are kept in the narrowest integer type their block's range fits
(widening back costs ~1 ns a value). The scan casts each column back to its type when
it reads it. Reading selects columns of the stored batch: no copy.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.formats.text import rows_only
from catalog.scan import ScanSource, ScanSplit

#: largest distinct set kept per column and block (Shark kept such sets for pruning)
MAX_DISTINCT = 32
#: keep a dictionary encoding when it is at most this fraction of the plain column
DICTIONARY_GAIN = 0.5
#: rows sampled to decide whether a string column is worth encoding
_SAMPLE_ROWS = 8192
_INFO_KEY = b"lamna.cache.block"


@dataclass(frozen=True, slots=True)
class ColumnSummary:
    """What one block knows of one column; ``min``/``max`` None when unknown.

    ``values``: every distinct non-null value when there are at most ``MAX_DISTINCT``
    (None otherwise).
    """

    min: Any = None
    max: Any = None
    null_count: int = 0
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """Rows, Arrow bytes before (``raw_bytes``) and after (``stored_bytes``) encoding,
    the names of columns stored in a smaller type and a summary per data column."""

    rows: int
    raw_bytes: int
    stored_bytes: int
    encoded: tuple[str, ...]
    columns: tuple[tuple[str, ColumnSummary], ...]

    def column(self, name: str) -> ColumnSummary | None:
        for n, s in self.columns:
            if n == name:
                return s
        return None


def compute_block(storage: ScanSource, split: ScanSplit) -> list[pa.RecordBatch]:
    """Task body: read one storage split (its data columns) and encode it as a block."""
    data = [n for n in storage.schema.names if n not in set(storage.partition_columns)]
    schema = pa.schema([storage.schema.field(n) for n in data])
    batches = [b for b in storage.read_split(split, data) if b.num_rows]
    table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    return encode(table.combine_chunks())


def encode(table: pa.Table) -> list[pa.RecordBatch]:
    """``table`` as a one-batch block: compressed columns, summaries in the metadata."""
    arrays, fields, encoded, summaries = [], [], [], []
    for f in table.schema:
        col = table.column(f.name)
        arr = col.chunk(0) if col.num_chunks == 1 else pa.concat_arrays(col.chunks) if col.num_chunks \
            else pa.array([], f.type)
        summary, dictionary = _summarize(arr, f.type)
        summaries.append((f.name, summary))
        if dictionary is not None:
            arr = dictionary
            encoded.append(f.name)
        arrays.append(arr)
        fields.append(pa.field(f.name, arr.type, f.nullable))
    batch = pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
    info = BlockInfo(rows=table.num_rows, raw_bytes=table.nbytes, stored_bytes=batch.nbytes,
                     encoded=tuple(encoded), columns=tuple(summaries))
    return [batch.replace_schema_metadata({_INFO_KEY: pickle.dumps(info, protocol=pickle.HIGHEST_PROTOCOL)})]


def info_of(values: Sequence[pa.RecordBatch]) -> BlockInfo:
    """The ``BlockInfo`` a block carries."""
    meta = values[0].schema.metadata or {}
    return pickle.loads(meta[_INFO_KEY])


def read_block(
    values: Sequence[pa.RecordBatch], schema: pa.Schema, partition_values: tuple[tuple[str, Any], ...],
    columns: Sequence[str] | None,
) -> Iterator[pa.RecordBatch]:
    """The block's batches with only ``columns`` (None = all of ``schema``); partition
    columns are constants of the split. Data columns are the stored arrays themselves
    (dictionary-encoded ones stay encoded: the reader casts)."""
    names = list(schema.names) if columns is None else list(columns)
    constants = dict(partition_values)
    for batch in values:
        if not batch.num_rows:
            continue
        if not names:
            yield rows_only(batch.num_rows)  # count(*): rows, no columns
            continue
        arrays = []
        for n in names:
            if n in constants:
                arrays.append(pa.repeat(pa.scalar(constants[n], schema.field(n).type), batch.num_rows))
            else:
                arrays.append(batch.column(n))
        yield pa.RecordBatch.from_arrays(arrays, names=names)


# -- statistics and encoding of one column ---------------------------------------------


def _orderable(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_date(t)
            or pa.types.is_timestamp(t) or pa.types.is_boolean(t))


def _summarize(arr: pa.Array, t: pa.DataType) -> tuple[ColumnSummary, pa.Array | None]:
    """(summary, a smaller stored form if one pays, else None) of one column."""
    nulls = arr.null_count
    if not _orderable(t) or len(arr) == nulls:
        return ColumnSummary(null_count=nulls), None
    if pa.types.is_floating(t) and pc.any(pc.is_nan(arr)).as_py():
        # NaN sorts above every number in Hive but min_max ignores it: no range, no set
        return ColumnSummary(null_count=nulls), None
    mm = pc.min_max(arr)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    values: tuple[Any, ...] | None = None
    dictionary = None
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        dictionary = _dictionary(arr)
        if dictionary is not None and len(dictionary.dictionary) <= MAX_DISTINCT:
            values = tuple(dictionary.dictionary.to_pylist())
        if dictionary is not None and dictionary.nbytes > DICTIONARY_GAIN * arr.nbytes:
            dictionary = None
    else:
        if _few_values(t, lo, hi):
            values = tuple(pc.unique(arr.drop_null()).to_pylist())
        dictionary = _narrowed(arr, t, lo, hi)
    return ColumnSummary(lo, hi, nulls, values), dictionary


def _narrowed(arr: pa.Array, t: pa.DataType, lo: Any, hi: Any) -> pa.Array | None:
    """``arr`` in a smaller type that holds every value exactly, or None."""
    if pa.types.is_integer(t):
        for narrow in (pa.int8(), pa.int16(), pa.int32()):
            if narrow.bit_width >= t.bit_width:
                return None
            info = _INT_RANGES[narrow.bit_width]
            if info[0] <= lo and hi <= info[1]:
                return arr.cast(narrow)
        return None
    # (decimal128 -> decimal64 would halve decimals, but casting back costs a scan
    # ~18 ns a value, more than the decode a cache is there to save)
    return None


_INT_RANGES = {8: (-(2**7), 2**7 - 1), 16: (-(2**15), 2**15 - 1), 32: (-(2**31), 2**31 - 1)}


def _dictionary(arr: pa.Array) -> pa.DictionaryArray | None:
    """The dictionary encoding of a string column, unless a sample shows it is mostly
    distinct values (then encoding would cost a hash pass for nothing)."""
    sample = arr.slice(0, _SAMPLE_ROWS)
    distinct = pc.count_distinct(sample).as_py()
    if len(sample) > MAX_DISTINCT and distinct > DICTIONARY_GAIN * len(sample):
        return None
    encoded = pc.dictionary_encode(arr)
    n = len(encoded.dictionary)
    narrow = pa.int8() if n <= 127 else pa.int16() if n <= 32767 else None
    if narrow is None:
        return encoded
    return pa.DictionaryArray.from_arrays(encoded.indices.cast(narrow), encoded.dictionary)


def _few_values(t: pa.DataType, lo: Any, hi: Any) -> bool:
    """Whether a column of range [lo, hi] can hold at most ``MAX_DISTINCT`` values (so
    its distinct set is worth computing): booleans, and integers and dates of a narrow
    range."""
    if pa.types.is_boolean(t):
        return True
    if pa.types.is_integer(t):
        return hi - lo < MAX_DISTINCT
    if pa.types.is_date(t):
        return (hi - lo).days < MAX_DISTINCT
    return False
