"""Vectorized, process-independent hashing of Arrow columns, and batch partitioners.

A columnar shuffle assigns each row of a record batch to a reduce partition without a
Python loop over rows. The hash must be identical in every process and on every machine
(map tasks may run in different worker processes), so it is computed here with numpy
from the column's values — integers and floats through SplitMix64, strings and binaries
through a polynomial hash over their bytes — never with Python's salted ``hash``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NULL_HASH = np.uint64(0x6A09E667F3BCC909)
_STRING_BASE = np.uint64(0x100000001B3)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=8)
def _powers(length: int) -> np.ndarray:
    """``base**i mod 2**64`` for i < length (rounded up to limit the cache's variety)."""
    powers = np.full(length, _STRING_BASE, dtype=np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


def _hash_binary(array: pa.Array) -> np.ndarray:
    array = array.cast(pa.large_binary())
    count = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + count + 1]
    data_buffer = array.buffers()[2]
    start = int(offsets[0]) if count else 0
    relative = offsets - start
    total = int(relative[-1]) if count else 0
    lengths = np.diff(relative)
    if total == 0:
        return _splitmix64(lengths.astype(np.uint64))
    data = np.frombuffer(data_buffer, dtype=np.uint8)[start : start + total].astype(np.uint64)
    positions = np.arange(total, dtype=np.int64) - np.repeat(relative[:-1], lengths)
    longest = int(lengths.max())
    contributions = (data + np.uint64(1)) * _powers(1 << max(4, longest.bit_length()))[positions]
    # one trailing zero keeps every start a valid index, so that empty (or null) values
    # at the end never cut the range of the value before them short
    contributions = np.append(contributions, np.uint64(0))
    sums = np.add.reduceat(contributions, relative[:-1])
    sums[lengths == 0] = 0
    return _splitmix64(sums ^ lengths.astype(np.uint64))


def _hash_numbers(array: pa.Array) -> np.ndarray:
    kind = array.type
    if pa.types.is_floating(kind):
        values = pc.fill_null(array.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        values = np.where(values == 0.0, 0.0, values)  # -0.0 and 0.0 are equal keys
        values = np.where(np.isnan(values), np.nan, values)
        bits = values.view(np.uint64)
    elif pa.types.is_decimal(kind):
        # Equal decimals of one type are equal doubles; the planner aligns key types.
        return _hash_numbers(array.cast(pa.float64()))
    else:
        if pa.types.is_boolean(kind):
            array = array.cast(pa.int8())
        elif not pa.types.is_integer(kind):
            array = array.view(pa.int64() if kind.bit_width == 64 else pa.int32())
        bits = pc.fill_null(array.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).view(np.uint64)
    return _splitmix64(bits)


def hash_array(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A uint64 hash per value; equal values hash equal in any process, nulls to one constant."""
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 0:
            return np.empty(0, dtype=np.uint64)
        return np.concatenate([hash_array(chunk) for chunk in array.chunks])
    kind = array.type
    if pa.types.is_dictionary(kind):
        hashes = hash_array(array.dictionary)
        indices = pc.fill_null(array.indices, 0).to_numpy(zero_copy_only=False)
        result = hashes[indices] if len(hashes) else np.zeros(len(array), dtype=np.uint64)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind) \
            or pa.types.is_large_binary(kind):
        result = _hash_binary(array)
    elif pa.types.is_null(kind):
        return np.full(len(array), _NULL_HASH, dtype=np.uint64)
    elif pa.types.is_fixed_size_binary(kind) or pa.types.is_string_view(kind) \
            or pa.types.is_binary_view(kind):
        return hash_array(array.cast(pa.large_binary()))
    else:
        result = _hash_numbers(array)
    if array.null_count:
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        result = np.where(valid, result, _NULL_HASH)
    return result


def hash_columns(data: pa.RecordBatch | pa.Table, key_columns: Sequence[str | int]) -> np.ndarray:
    """One combined uint64 hash per row over ``key_columns``."""
    combined = np.zeros(data.num_rows, dtype=np.uint64)
    for key in key_columns:
        combined = _splitmix64(combined * np.uint64(31) + hash_array(data.column(key)))
    return combined


def hash_partition_ids(
    data: pa.RecordBatch | pa.Table, key_columns: Sequence[str | int], num_partitions: int
) -> np.ndarray:
    """The reduce partition (0 ≤ id < num_partitions) of every row, as int64."""
    if num_partitions == 1:
        return np.zeros(data.num_rows, dtype=np.int64)
    return (hash_columns(data, key_columns) % np.uint64(num_partitions)).astype(np.int64)


@dataclass(frozen=True, slots=True)
class BatchHashPartitioner:
    """Hash-partitions record batches on key columns; equal instances mean co-partitioned data."""

    keys: tuple[str, ...]
    num_partitions: int

    @property
    def numPartitions(self) -> int:
        return self.num_partitions

    def partition_ids(self, batch: pa.RecordBatch) -> np.ndarray:
        return hash_partition_ids(batch, self.keys, self.num_partitions)


def split_batch(batch: pa.RecordBatch, partition_ids: np.ndarray, num_partitions: int) -> list[pa.RecordBatch | None]:
    """``batch`` cut into one piece per partition (None where a partition gets no rows)."""
    if num_partitions == 1:
        return [batch]
    order = np.argsort(partition_ids, kind="stable")
    counts = np.bincount(partition_ids, minlength=num_partitions)
    ordered = batch.take(pa.array(order))
    pieces: list[pa.RecordBatch | None] = []
    start = 0
    for count in counts.tolist():
        pieces.append(ordered.slice(start, count) if count else None)
        start += count
    return pieces
