"""Deciding which partition a key goes to, deterministically in every process.

Python's ``hash`` of ``str``/``bytes`` is salted per process, so a shuffle whose map tasks
run in different worker processes would scatter one key over several partitions.
``portable_hash`` hashes those types with CRC32 and combines tuples the way PySpark does.
"""

from __future__ import annotations

import bisect
import datetime
import zlib
from collections.abc import Callable, Sequence
from typing import Any

_MASK = (1 << 64) - 1


def portable_hash(value: Any) -> int:
    """A hash that is the same in every process and on every machine."""
    kind = type(value)
    if kind is str:
        return zlib.crc32(value.encode("utf-8", "surrogatepass"))
    if kind is int:
        return hash(value)
    if value is None:
        return 0
    if isinstance(value, str):
        return zlib.crc32(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return zlib.crc32(value)
    if isinstance(value, tuple):
        h = 0x345678
        for item in value:
            h ^= portable_hash(item)
            h = (h * 1000003) & _MASK
        h ^= len(value)
        if h == _MASK:
            h = -2
        return h
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        # datetime hashes are salted like str; their ISO text is not.
        return zlib.crc32(str(value).encode())
    if isinstance(value, frozenset):
        return portable_hash(tuple(sorted(map(portable_hash, value))))
    # int, float, bool, Decimal, and user types with their own __hash__ are not salted.
    return hash(value)


class Partitioner:
    """Maps keys to partitions; equal partitioners mean co-partitioned data."""

    numPartitions: int

    def __call__(self, key: Any) -> int:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:  # pragma: no cover - overridden
        return NotImplemented

    def __hash__(self) -> int:  # pragma: no cover - overridden
        return hash(self.numPartitions)


class HashPartitioner(Partitioner):
    """``partitionFunc(key) % numPartitions``, PySpark's ``partitionBy`` rule."""

    def __init__(self, numPartitions: int, partitionFunc: Callable[[Any], int] = portable_hash):
        if numPartitions <= 0:
            raise ValueError(f"number of partitions must be positive, got {numPartitions}")
        self.numPartitions = numPartitions
        self.partitionFunc = partitionFunc

    def __call__(self, key: Any) -> int:
        return self.partitionFunc(key) % self.numPartitions

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, HashPartitioner)
            and other.numPartitions == self.numPartitions
            and other.partitionFunc is self.partitionFunc
        )

    def __hash__(self) -> int:
        return hash((self.numPartitions, id(self.partitionFunc)))

    def __repr__(self) -> str:
        return f"HashPartitioner({self.numPartitions})"


class RangePartitioner(Partitioner):
    """Keys below ``bounds[0]`` go to partition 0, and so on: ordered partitions.

    ``bounds`` come from a sample of the data (see ``pairs.sort_by_key``), so the
    partitions are roughly equal in size, as Spark's ``RangePartitioner``.
    """

    def __init__(
        self,
        bounds: Sequence[Any],
        ascending: bool = True,
        keyfunc: Callable[[Any], Any] = lambda k: k,
    ) -> None:
        self.bounds = list(bounds)
        self.ascending = ascending
        self.keyfunc = keyfunc
        self.numPartitions = len(self.bounds) + 1

    def __call__(self, key: Any) -> int:
        index = bisect.bisect_left(self.bounds, self.keyfunc(key))
        return index if self.ascending else self.numPartitions - 1 - index

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RangePartitioner)
            and other.bounds == self.bounds
            and other.ascending == self.ascending
        )

    def __hash__(self) -> int:
        return hash((self.numPartitions, self.ascending))

    def __repr__(self) -> str:
        return f"RangePartitioner({self.numPartitions})"
