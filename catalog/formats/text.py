"""Delimited text (``STORED AS TEXTFILE``), with Hive LazySimpleSerDe semantics.

Fields split on the field delimiter (default ``\\x01``), complex values on the
collection-item / map-key delimiters (``\\x02`` / ``\\x03``, deeper levels ``\\x04``..),
``\\N`` (or ``NULL DEFINED AS``) is NULL, missing trailing fields are NULL and extra
fields ignored, ``ESCAPED BY`` protects delimiters inside values. No quoting: that is
``STORED AS CSV``. BINARY values are base64 (``formats.b64``); CHAR(n) values are
written padded to n and read without the padding (``types.enforce_length``).

Lines are split and fields cut with Arrow kernels over the whole split, not a Python
loop; pyarrow.csv is not used because it rejects ragged rows, which Hive accepts.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from catalog.errors import DataFormatError
from catalog.formats import b64
from catalog.formats import lines as linesmod
from catalog.formats.base import ReadRequest
from catalog.formats.textconv import element_or_null, parse_column, separators
from catalog.model import Column, StorageFormat
from catalog.types import HiveType, parse_hive_type

NAME = "textfile"
EXTENSION = ".txt"
SPLITTABLE = True

# Private-use code points standing in for escaped separators while fields are cut.
_PUA = 0xE000


def storage_separators(s: StorageFormat) -> tuple[str, ...]:
    return separators(s.field_delim, s.collection_delim, s.map_key_delim)


def read(fs: pafs.FileSystem, req: ReadRequest) -> Iterator[tuple[pa.RecordBatch, int]]:
    for chunk in linesmod.read_chunks(fs, req.path, req.start, req.length, req.chunk_bytes):
        lines = linesmod.split_lines(chunk.data, req.storage.line_delim)
        skipped = 0
        if chunk.at_file_start and req.skip_header_lines:
            skipped = min(req.skip_header_lines, len(lines))
            lines = lines.slice(skipped)
        yield parse_lines(lines, req, lambda row, c=chunk, k=skipped: c.first_line() + k + row)


def parse_lines(lines: pa.Array, req: ReadRequest, line_of) -> tuple[pa.RecordBatch, int]:  # type: ignore[no-untyped-def]
    """Cut ``lines`` into the wanted typed columns; returns the batch and bad-field count."""
    storage = req.storage
    seps = storage_separators(storage)
    esc = storage.escape
    if esc:
        lines = _protect_escapes(lines, esc, seps)
    fields = pc.split_pattern(lines, storage.field_delim)
    positions = {c.name.lower(): i for i, c in enumerate(req.columns)}
    arrays = []
    bad_total = 0
    for col in req.wanted_columns():
        raw = element_or_null(fields, positions[col.name.lower()])
        if esc:
            raw = _restore_escapes(raw, esc, seps)
        htype = parse_hive_type(col.type)
        parsed = parse_column(raw, htype, seps, storage.null_format, binary_base64=True)
        n_bad = int(parsed.bad.sum())
        if n_bad and req.strict:
            row = int(np.argmax(parsed.bad > 0))
            value = raw[row].as_py()
            raise DataFormatError(
                f"value {value!r} is not a valid {col.type}", req.path, line_of(row), col.name
            )
        bad_total += n_bad
        arrays.append(parsed.array)
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in req.wanted_columns()])
    if not arrays:
        return rows_only(len(lines)), bad_total
    return pa.RecordBatch.from_arrays(arrays, schema=schema), bad_total


def rows_only(n: int) -> pa.RecordBatch:
    """A batch of ``n`` rows and no columns (``SELECT count(*)`` reads no column)."""
    return pa.record_batch([pa.nulls(n)], names=["_"]).select([])


def _protect_escapes(lines: pa.Array, esc: str, seps: tuple[str, ...]) -> pa.Array:
    lines = pc.replace_substring(lines, esc + esc, chr(_PUA + 255))
    for k, sep in enumerate(seps):
        lines = pc.replace_substring(lines, esc + sep, chr(_PUA + k))
    return lines


def _restore_escapes(values: pa.Array, esc: str, seps: tuple[str, ...]) -> pa.Array:
    for k, sep in enumerate(seps):
        values = pc.replace_substring(values, chr(_PUA + k), sep)
    return pc.replace_substring(values, chr(_PUA + 255), esc)


# -- writing ----------------------------------------------------------------------------


def format_table(table: pa.Table, columns: tuple[Column, ...], storage: StorageFormat) -> bytes:
    """The text file body of ``table`` (vectorized), one line per row."""
    if table.num_rows == 0:
        return b""
    seps = storage_separators(storage)
    cols = [
        format_column(table.column(c.name).combine_chunks(), parse_hive_type(c.type), seps, storage, 1)
        for c in columns
    ]
    if len(cols) == 1:
        rows = cols[0]
    else:
        rows = pc.binary_join_element_wise(*cols, storage.field_delim.encode())
    big = pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows.cast(pa.large_binary()).cast(pa.binary()))
    body = pc.binary_join(big, storage.line_delim.encode())[0].as_py()
    return body + storage.line_delim.encode()


def format_column(
    arr: pa.Array, htype: HiveType, seps: tuple[str, ...], storage: StorageFormat, level: int
) -> pa.Array:
    """Binary text of each value; nulls become the null format."""
    null_text = pa.scalar(storage.null_format.encode(), pa.binary())
    if htype.name == "array":
        values = format_column(arr.values, htype.children[0], seps, storage, level + 1)
        lists = pa.ListArray.from_arrays(arr.offsets, values, mask=arr.is_null())
        out = pc.binary_join(lists, seps[level].encode())
    elif htype.name == "map":
        keys = format_column(arr.keys, htype.children[0], seps, storage, level + 2)
        items = format_column(arr.items, htype.children[1], seps, storage, level + 2)
        entries = pc.binary_join_element_wise(keys, items, seps[level + 1].encode())
        lists = pa.ListArray.from_arrays(arr.offsets, entries, mask=arr.is_null())
        out = pc.binary_join(lists, seps[level].encode())
    elif htype.name == "struct":
        kids = [
            format_column(arr.field(i), child, seps, storage, level + 1)
            for i, child in enumerate(htype.children)
        ]
        out = pc.binary_join_element_wise(*kids, seps[level].encode()) if len(kids) > 1 else kids[0]
        out = pc.if_else(arr.is_null(), pa.scalar(None, pa.binary()), out)
    else:
        out = _format_primitive(arr, htype, seps, storage)
    return pc.fill_null(out.cast(pa.binary()), null_text)


def _format_primitive(arr: pa.Array, htype: HiveType, seps: tuple[str, ...], storage: StorageFormat) -> pa.Array:
    if htype.name == "timestamp":
        text = pc.strftime(arr, format="%Y-%m-%d %H:%M:%S")
        # Hive prints no fractional zeros: 10:00:00.500000 -> 10:00:00.5
        text = pc.replace_substring_regex(text, r"(\.[0-9]*?)0+$", r"\1")
        return pc.replace_substring_regex(text, r"\.$", "")
    if htype.name == "binary":
        return b64.encode(arr)  # raw bytes could hold a delimiter or a newline
    text = arr.cast(pa.string())
    if htype.name == "char":
        text = pc.utf8_rpad(text, htype.params[0], " ")  # Hive's text files hold CHAR padded
    if storage.escape and htype.name in ("string", "varchar", "char"):
        esc = storage.escape
        text = pc.replace_substring(text, esc, esc + esc)
        for sep in seps:
            text = pc.replace_substring(text, sep, esc + sep)
        text = pc.replace_substring(text, "\n", esc + "n")
    return text


def header_lines(columns: tuple[Column, ...], storage: StorageFormat, sep: str) -> bytes:
    """The header lines readers of this table skip (``skip.header.line.count``): the
    column names, then empty lines, so that no data row is ever skipped."""
    n = int(storage.serde_options.get("skip.header.line.count", "0") or 0)
    if n <= 0:
        return b""
    first = sep.join(c.name for c in columns) + storage.line_delim
    return (first + storage.line_delim * (n - 1)).encode()


def write(fs: pafs.FileSystem, path: str, table: pa.Table, columns: tuple[Column, ...], storage: StorageFormat) -> None:
    body = format_table(table, columns, storage)
    with fs.open_output_stream(path) as out:
        out.write(header_lines(columns, storage, storage.field_delim))
        out.write(body)
