"""What kernels share: scalars as arrays, the bytes of string columns as numpy arrays,
and evaluation once per distinct value for functions Arrow has no kernel for.

``per_distinct`` is the engine's one sanctioned place for Python work inside a kernel:
it calls a Python function once per distinct argument tuple of a batch (``md5``,
``parse_url``, ``get_json_object``...), never once per row, and maps the answers back
with a vectorized ``take``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import Value


def as_array(v: Value, n: int = 1) -> pa.Array:
    """``v`` as one contiguous array (a scalar repeated ``n`` times)."""
    if isinstance(v, pa.Scalar):
        return pa.nulls(n, v.type) if not v.is_valid else pa.repeat(v, n)
    if isinstance(v, pa.ChunkedArray):
        return v.combine_chunks() if v.num_chunks != 1 else v.chunk(0)
    return v


def broadcast(*vals: Value) -> tuple[list[pa.Array], bool]:
    """The arguments as arrays of one length, and whether they were all scalars (then
    the answer should be a scalar too: see ``restore``)."""
    lengths = {len(v) for v in vals if not isinstance(v, pa.Scalar)}
    if len(lengths) > 1:
        raise ValueError(f"arguments of different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else 1
    return [as_array(v, n) for v in vals], not lengths and n == 1 and all(isinstance(v, pa.Scalar) for v in vals)


def restore(out: pa.Array | pa.ChunkedArray, scalar: bool) -> Value:
    return out[0] if scalar else out


def byte_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets rebased to 0 as int64, bytes as uint8) of a string or binary array: the
    layout numpy kernels work on (row ``i`` is ``data[offsets[i]:offsets[i + 1]]``)."""
    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        arr = arr.cast(pa.string() if pa.types.is_large_string(arr.type) else pa.binary())
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
    if len(offsets) == 0:
        offsets = np.zeros(1, np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    data = (np.frombuffer(buffers[2], dtype=np.uint8)[start:end] if buffers[2] is not None and end > start
            else np.zeros(0, np.uint8))
    return offsets - start, data


def row_of_byte(offsets: np.ndarray) -> np.ndarray:
    """For each byte of ``byte_buffers``' data, the row it belongs to."""
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


def from_byte_buffers(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None,
                      type_: pa.DataType = T.STRING) -> pa.Array:
    """A string (or binary) array from int64 offsets, uint8 bytes and a validity mask."""
    n = len(offsets) - 1
    big = len(data) >= 2**31
    offset_type = np.int64 if big else np.int32
    mask = None
    if valid is not None and not valid.all():
        mask = pa.array(valid, pa.bool_()).buffers()[1]
    large = pa.large_string() if type_ == pa.string() else pa.large_binary()
    out = pa.Array.from_buffers(large if big else type_, n,
                                [mask, pa.py_buffer(offsets.astype(offset_type)), pa.py_buffer(data.tobytes())],
                                null_count=-1 if mask is not None else 0)
    return out.cast(type_) if big else out


def valid_mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.is_valid(arr), dtype=bool)


def distinct_tuples(*vals: Value) -> tuple[list[tuple[Any, ...]], np.ndarray, bool]:
    """The distinct argument tuples of a batch (as Python values, None for NULL), each
    row's index into them, and whether every argument was a scalar. Scalar arguments
    (a format, a base, a key) are constants of every tuple, never encoded per row."""
    lengths = {len(v) for v in vals if not isinstance(v, pa.Scalar)}
    if not lengths:
        return [tuple(v.as_py() for v in vals)], np.zeros(1, np.int64), True
    n = lengths.pop()
    codes, dictionaries = [], []
    for v in vals:
        if not isinstance(v, pa.Scalar):
            encoded = pc.dictionary_encode(as_array(v), null_encoding="encode")
            codes.append(np.asarray(encoded.indices, dtype=np.int64))
            dictionaries.append(encoded.dictionary.to_pylist())
    if n == 0:
        return [], np.zeros(0, np.int64), False
    if len(codes) == 1:
        inverse, rows = codes[0], [(c,) for c in range(len(dictionaries[0]))]
    else:
        sizes = [max(len(d), 1) for d in dictionaries]
        if math.prod(sizes) < 2**62:  # one int64 key per row: a mixed-radix number
            key = np.zeros(n, np.int64)
            for c, size in zip(codes, sizes):
                key = key * size + c
            unique, inverse = np.unique(key, return_inverse=True)
            rows = []
            for k in unique.tolist():
                digits = []
                for size in reversed(sizes):
                    k, c = divmod(k, size)
                    digits.append(c)
                rows.append(tuple(reversed(digits)))
        else:
            unique_rows, inverse = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)
            rows = [tuple(r) for r in unique_rows.tolist()]
    tuples = []
    for r in rows:
        parts = iter(d[c] for d, c in zip(dictionaries, r))
        tuples.append(tuple(v.as_py() if isinstance(v, pa.Scalar) else next(parts) for v in vals))
    return tuples, np.asarray(inverse).ravel(), False


def per_distinct(fn: Callable[..., Any], out_type: pa.DataType, *vals: Value) -> Value:
    """``fn`` over the argument tuples of each row, called once per distinct tuple.

    ``fn`` receives Python values (None for NULL) and returns one (None for NULL). Used
    where Arrow has no kernel (hashes, URL and JSON parsing, number formatting): the
    Python work is per distinct value, and columns of such functions are usually far
    less distinct than long.
    """
    tuples, inverse, scalar = distinct_tuples(*vals)
    answers = pa.array([fn(*t) for t in tuples], out_type)
    return restore(pc.take(answers, pa.array(inverse)), scalar)


def per_distinct_batch(fn: Callable[..., pa.Array], *vals: Value) -> Value:
    """Like ``per_distinct``, but ``fn`` takes each argument's distinct tuples as one
    list and returns all the answers as an array (for kernels vectorized across values,
    such as levenshtein's)."""
    tuples, inverse, scalar = distinct_tuples(*vals)
    columns = [list(c) for c in zip(*tuples)] if tuples else [[] for _ in vals]
    return restore(pc.take(fn(*columns), pa.array(inverse)), scalar)
