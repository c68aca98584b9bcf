"""JSON lines (``STORED AS JSONFILE``): one object per line, keys matched to columns.

The normal path is pyarrow.json with the table schema as explicit schema (vectorized).
When that rejects a split (a value of the wrong JSON type), or the table has MAP
columns (which pyarrow.json cannot type), the split is read line by line instead: a
value that does not convert becomes NULL and is counted, or in strict mode raises
naming the line and column. Writing JSON is a per-row loop (no Arrow JSON writer);
decimals are written as strings (exact) and binary as base64.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.json as pajson

from catalog.errors import DataFormatError
from catalog.formats import lines as linesmod
from catalog.formats.base import ReadRequest, conform
from catalog.formats.text import rows_only
from catalog.model import Column, StorageFormat
from catalog.types import parse_hive_type

NAME = "json"
EXTENSION = ".json"
SPLITTABLE = True


def _has_map(t) -> bool:  # type: ignore[no-untyped-def]
    return t.name == "map" or any(_has_map(c) for c in t.children)


def read(fs: pafs.FileSystem, req: ReadRequest) -> Iterator[tuple[pa.RecordBatch, int]]:
    for chunk in linesmod.read_chunks(fs, req.path, req.start, req.length, req.chunk_bytes):
        yield from _read_chunk(req, chunk)


def _read_chunk(req: ReadRequest, chunk: linesmod.Chunk) -> Iterator[tuple[pa.RecordBatch, int]]:
    data = chunk.data
    wanted = req.wanted_columns()
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in wanted])
    if not data.strip():
        yield pa.RecordBatch.from_pylist([], schema=schema), 0
        return
    if not wanted:
        yield rows_only(len(linesmod.split_lines(data))), 0
        return
    if not any(_has_map(parse_hive_type(c.type)) for c in wanted) and not _keys_differ_in_case(data, wanted):
        try:
            table = pajson.read_json(
                pa.BufferReader(data),
                read_options=pajson.ReadOptions(use_threads=False),
                parse_options=pajson.ParseOptions(
                    explicit_schema=schema, unexpected_field_behavior="ignore"
                ),
            )
            yield _decode_binary(conform(table, wanted, req.path), wanted), 0
            return
        except pa.ArrowInvalid:
            pass  # find the bad values line by line below
    yield _read_slow(req, data, chunk.first_line, wanted, schema)


def _decode_binary(batch: pa.RecordBatch, wanted: list[Column]) -> pa.RecordBatch:
    """BINARY travels as base64 text in JSON (as Hive's JsonSerDe writes it)."""
    if not any(c.type == "binary" for c in wanted):
        return batch
    arrays = []
    for c, arr in zip(wanted, batch.columns):
        if c.type == "binary":
            arr = pa.array([None if v is None else base64.b64decode(v) for v in arr.to_pylist()], pa.binary())
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _keys_differ_in_case(data: bytes, wanted: list[Column]) -> bool:
    """Whether the first object spells a column name in another case ("ID" for id).

    Hive's JsonSerDe matches keys case-insensitively; pyarrow's reader does not, so such
    files take the line-by-line path (files are consistent in practice: one line tells).
    """
    first = data[: data.find(b"\n")] if b"\n" in data else data
    try:
        obj = json.loads(first)
    except ValueError:
        return False
    if not isinstance(obj, dict):
        return False
    names = {c.name for c in wanted}
    return any(k not in names and str(k).lower() in names for k in obj)


def _read_slow(req, data, line_of_first, wanted, schema) -> tuple[pa.RecordBatch, int]:  # type: ignore[no-untyped-def]
    first_line = None
    columns: dict[str, list[Any]] = {c.name: [] for c in wanted}
    bad = 0
    for i, line in enumerate(data.decode("utf-8", errors="replace").split("\n")):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")  # noqa: TRY004 - reported below as malformed JSON
        except ValueError as e:
            if first_line is None:
                first_line = line_of_first()
            raise DataFormatError(f"malformed JSON: {e}", req.path, first_line + i) from e
        lowered = {str(k).lower(): v for k, v in obj.items()}
        for c in wanted:
            value = lowered.get(c.name.lower())
            try:
                pa.array([_adapt(value, c.arrow_type)], c.arrow_type)
                columns[c.name].append(_adapt(value, c.arrow_type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError,
                    decimal.InvalidOperation):
                if req.strict:
                    if first_line is None:
                        first_line = line_of_first()
                    raise DataFormatError(
                        f"value {value!r} is not a valid {c.type}", req.path, first_line + i, c.name
                    ) from None
                bad += 1
                columns[c.name].append(None)
    arrays = [pa.array(columns[c.name], c.arrow_type) for c in wanted]
    return pa.RecordBatch.from_arrays(arrays, schema=schema), bad


def _adapt(value: Any, t: pa.DataType) -> Any:
    """JSON value -> what pa.array accepts for ``t`` (dict -> map items, text -> dates)."""
    if value is None:
        return None
    if pa.types.is_map(t):
        if not isinstance(value, dict):
            raise TypeError("expected an object")
        return [(_adapt(k, t.key_type), _adapt(v, t.item_type)) for k, v in value.items()]
    if pa.types.is_struct(t):
        if not isinstance(value, dict):
            raise TypeError("expected an object")
        low = {str(k).lower(): v for k, v in value.items()}
        return {f.name: _adapt(low.get(f.name.lower()), f.type) for f in t}
    if pa.types.is_list(t):
        if not isinstance(value, list):
            raise TypeError("expected an array")
        return [_adapt(v, t.value_type) for v in value]
    if pa.types.is_decimal(t):
        return decimal.Decimal(str(value)).quantize(decimal.Decimal(1).scaleb(-t.scale), decimal.ROUND_HALF_UP)
    if pa.types.is_date(t) and isinstance(value, str):
        return datetime.date.fromisoformat(value)
    if pa.types.is_timestamp(t) and isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    if pa.types.is_binary(t) and isinstance(value, str):
        return base64.b64decode(value)
    if pa.types.is_integer(t) and not (isinstance(value, int) and not isinstance(value, bool)):
        raise TypeError("expected an integer")
    if pa.types.is_boolean(t) and not isinstance(value, bool):
        raise TypeError("expected a boolean")
    if pa.types.is_string(t) and not isinstance(value, str):
        raise TypeError("expected a string")
    return value


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            # a string: JSON readers (pyarrow's too) parse numbers through double, losing digits
            return str(o)
        if isinstance(o, (datetime.datetime, datetime.date)):
            return o.isoformat(sep=" ") if isinstance(o, datetime.datetime) else o.isoformat()
        if isinstance(o, bytes):
            return base64.b64encode(o).decode()
        return super().default(o)


def _plain(value: Any, t: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_map(t):
        return {str(k): _plain(v, t.item_type) for k, v in value}
    if pa.types.is_struct(t):
        return {f.name: _plain(value.get(f.name), f.type) for f in t}
    if pa.types.is_list(t):
        return [_plain(v, t.value_type) for v in value]
    return value


def write(fs: pafs.FileSystem, path: str, table: pa.Table, columns: tuple[Column, ...], storage: StorageFormat) -> None:
    names = [c.name for c in columns]
    types = [c.arrow_type for c in columns]
    with fs.open_output_stream(path) as out:
        for batch in table.select(names).to_batches(max_chunksize=8192):
            rows = batch.to_pylist()
            text = "".join(
                json.dumps({n: _plain(r[n], t) for n, t in zip(names, types)}, cls=_Encoder) + "\n"
                for r in rows
            )
            out.write(text.encode())
