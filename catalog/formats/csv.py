"""CSV (``STORED AS CSV`` / OpenCSVSerde): quoted fields, read with pyarrow.csv.

Serde properties ``separatorChar`` (default ``,``), ``quoteChar`` (``"``) and
``escapeChar`` (none unless given; quotes inside values are doubled) apply. NULL is an
empty unquoted field and the empty string is ``""``, so both survive a round trip. Every field is read as text and then converted to its
column's type the way delimited text is, so bad fields become NULL and are counted.
Rows with the wrong number of fields are skipped and counted (strict mode: an error
naming the line). Complex types are not supported by CSV, as in Hive.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs

from catalog.errors import DataFormatError
from catalog.formats import lines as linesmod
from catalog.formats.base import ReadRequest
from catalog.formats.text import header_lines, rows_only
from catalog.formats.textconv import parse_column, separators
from catalog.model import Column, StorageFormat
from catalog.types import parse_hive_type

NAME = "csv"
EXTENSION = ".csv"
SPLITTABLE = True


def _chars(storage: StorageFormat) -> tuple[str, str, str]:
    opts = storage.serde_options
    sep = opts.get("separatorChar", storage.field_delim if storage.field_delim != "\x01" else ",")
    return sep, opts.get("quoteChar", '"'), opts.get("escapeChar", "")


def read(fs: pafs.FileSystem, req: ReadRequest) -> Iterator[tuple[pa.RecordBatch, int]]:
    for chunk in linesmod.read_chunks(fs, req.path, req.start, req.length, req.chunk_bytes):
        yield _read_chunk(req, chunk)


def _read_chunk(req: ReadRequest, chunk: linesmod.Chunk) -> tuple[pa.RecordBatch, int]:
    data = chunk.data
    skip = req.skip_header_lines if chunk.at_file_start else 0
    names = [f"c{i}" for i in range(len(req.columns))]
    positions = {c.name.lower(): i for i, c in enumerate(req.columns)}
    wanted = req.wanted_columns()
    sep, quote, esc = _chars(req.storage)
    skipped = [0]
    first_invalid: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # exceptions raised here are swallowed by pyarrow: remember the row, fail after
        if req.strict:
            first_invalid.append(row)
            return "error"
        skipped[0] += 1
        return "skip"

    if not data.strip():
        return _empty(wanted), 0
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, quote_char=quote or False, escape_char=esc or False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=False,
                include_columns=[names[positions[c.name.lower()]] for c in wanted],
            ),
        )
    except (pa.ArrowInvalid, OSError) as e:
        if first_invalid:
            row = first_invalid[0]
            line = chunk.first_line() + skip + (row.number or 1) - 1
            raise DataFormatError(
                f"row has {row.actual_columns} field(s), table has {row.expected_columns}", req.path, line
            ) from e
        raise DataFormatError(f"malformed CSV: {e}", req.path) from e
    seps = separators(sep, "\x02", "\x03")
    arrays = []
    bad_total = skipped[0]
    for col in wanted:
        raw = table.column(names[positions[col.name.lower()]]).combine_chunks()
        parsed = parse_column(raw, parse_hive_type(col.type), seps, req.storage.null_format)
        n_bad = int(parsed.bad.sum())
        if n_bad and req.strict:
            row = int(np.argmax(parsed.bad > 0))
            line = chunk.first_line() + skip + row
            raise DataFormatError(
                f"value {raw[row].as_py()!r} is not a valid {col.type}", req.path, line, col.name
            )
        bad_total += n_bad
        arrays.append(parsed.array)
    if not arrays:
        return rows_only(table.num_rows), bad_total
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in wanted])
    return pa.RecordBatch.from_arrays(arrays, schema=schema), bad_total


def _empty(columns: list[Column]) -> pa.RecordBatch:
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in columns])
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def write(fs: pafs.FileSystem, path: str, table: pa.Table, columns: tuple[Column, ...], storage: StorageFormat) -> None:
    for c in columns:
        if parse_hive_type(c.type).is_complex:
            raise DataFormatError(f"CSV cannot store complex column {c.name} ({c.type})", path, column=c.name)
    sep, _, _ = _chars(storage)  # pyarrow writes '"' quotes (the default quoteChar)
    # every value quoted, NULL an empty unquoted field: NULL and '' stay distinct
    cols = [pc.cast(table.column(c.name), pa.string()) for c in columns]
    out_table = pa.table(cols, names=[c.name for c in columns])
    with fs.open_output_stream(path) as out:
        out.write(header_lines(columns, storage, sep))
        pacsv.write_csv(
            out_table, out,
            write_options=pacsv.WriteOptions(include_header=False, delimiter=sep, quoting_style="all_valid"),
        )
