"""The element-wise and partition-wise transformations of the public RDD API.

Methods are thin: each builds one RDD of a family in ``narrow``/``shuffled``/``sources``
or composes other methods, with PySpark's names and semantics. RDD families are
imported inside methods because they subclass ``RDD``, which subclasses this mixin.
"""

from __future__ import annotations

import itertools
import os
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdd.base import RDD


class Transformations:
    # -- element-wise -----------------------------------------------------------------

    def map(self: RDD, f: Callable[[Any], Any], preservesPartitioning: bool = False) -> RDD:
        return self.mapPartitionsWithIndex(lambda _, it: map(f, it), preservesPartitioning)

    def flatMap(self: RDD, f: Callable[[Any], Iterable[Any]], preservesPartitioning: bool = False) -> RDD:
        return self.mapPartitionsWithIndex(
            lambda _, it: itertools.chain.from_iterable(map(f, it)), preservesPartitioning
        )

    def filter(self: RDD, f: Callable[[Any], bool]) -> RDD:
        return self.mapPartitionsWithIndex(lambda _, it: filter(f, it), True)

    def mapPartitions(self: RDD, f: Callable[[Iterator[Any]], Iterable[Any]], preservesPartitioning: bool = False) -> RDD:
        return self.mapPartitionsWithIndex(lambda _, it: f(it), preservesPartitioning)

    def mapPartitionsWithIndex(
        self: RDD, f: Callable[[int, Iterator[Any]], Iterable[Any]], preservesPartitioning: bool = False
    ) -> RDD:
        from rdd.narrow import MapPartitionsRDD

        return MapPartitionsRDD(self, lambda i, it: iter(f(i, it)), preservesPartitioning)

    def glom(self: RDD) -> RDD:
        return self.mapPartitions(lambda it: [list(it)])

    def keyBy(self: RDD, f: Callable[[Any], Any]) -> RDD:
        return self.map(lambda x: (f(x), x))

    def pipe(self: RDD, command: str, env: dict[str, str] | None = None, checkCode: bool = False) -> RDD:
        """Each partition's elements, one per line, through an external command's stdin."""
        return self.mapPartitions(lambda it: _pipe_partition(command, env, checkCode, it))

    # -- sampling ---------------------------------------------------------------------

    def sample(self: RDD, withReplacement: bool, fraction: float, seed: int | None = None) -> RDD:
        from rdd.sampling import sample_partition

        if fraction < 0:
            raise ValueError(f"fraction must be non-negative, got {fraction}")
        base = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
        return self.mapPartitionsWithIndex(
            lambda i, it: sample_partition(it, withReplacement, fraction, base + i), True
        )

    def randomSplit(self: RDD, weights: list[float], seed: int | None = None) -> list[RDD]:
        from rdd.sampling import split_partition

        total = float(sum(weights))
        bounds = list(itertools.accumulate(w / total for w in weights))
        base = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
        return [
            self.mapPartitionsWithIndex(
                lambda i, it, lo=lo, hi=hi: split_partition(it, lo, hi, base + i), True
            )
            for lo, hi in zip([0.0, *bounds[:-1]], bounds)
        ]

    # -- combining RDDs ---------------------------------------------------------------

    def union(self: RDD, other: RDD) -> RDD:
        from rdd.narrow import UnionRDD

        return UnionRDD(self.ctx, [self, other])

    def __add__(self: RDD, other: RDD) -> RDD:
        return self.union(other)

    def intersection(self: RDD, other: RDD) -> RDD:
        return (
            self.map(lambda v: (v, None))
            .cogroup(other.map(lambda v: (v, None)))
            .filter(lambda kv: len(kv[1][0]) > 0 and len(kv[1][1]) > 0)
            .keys()
        )

    def subtract(self: RDD, other: RDD, numPartitions: int | None = None) -> RDD:
        return (
            self.map(lambda x: (x, True))
            .subtractByKey(other.map(lambda x: (x, True)), numPartitions)
            .keys()
        )

    def distinct(self: RDD, numPartitions: int | None = None) -> RDD:
        return (
            self.map(lambda x: (x, None))
            .reduceByKey(lambda x, _: x, numPartitions)
            .map(lambda kv: kv[0])
        )

    def cartesian(self: RDD, other: RDD) -> RDD:
        from rdd.narrow import CartesianRDD

        return CartesianRDD(self, other)

    def zip(self: RDD, other: RDD) -> RDD:
        """Pairs of same-position elements; both RDDs need equal partition sizes."""
        from rdd.narrow import ZippedPartitionsRDD

        return ZippedPartitionsRDD(self, other, _zip_strict)

    def zipPartitions(self: RDD, other: RDD, f: Callable[[Iterator[Any], Iterator[Any]], Iterable[Any]],
                      preservesPartitioning: bool = False) -> RDD:
        from rdd.narrow import ZippedPartitionsRDD

        return ZippedPartitionsRDD(self, other, lambda a, b: iter(f(a, b)), preservesPartitioning)

    def zipWithIndex(self: RDD) -> RDD:
        """``(element, index)`` in partition order; counts partitions first (one job)."""
        starts = [0]
        if self.getNumPartitions() > 1:
            counts = self.ctx._run_job(self, _count, list(range(self.getNumPartitions() - 1)))
            starts = list(itertools.accumulate([0, *counts]))
        return self.mapPartitionsWithIndex(
            lambda i, it: ((x, starts[i] + k) for k, x in enumerate(it))
        )

    def zipWithUniqueId(self: RDD) -> RDD:
        n = self.getNumPartitions()
        return self.mapPartitionsWithIndex(lambda i, it: ((x, k * n + i) for k, x in enumerate(it)))

    # -- partitioning -----------------------------------------------------------------

    def coalesce(self: RDD, numPartitions: int, shuffle: bool = False) -> RDD:
        from rdd.narrow import CoalescedRDD

        if shuffle:
            return self.repartition(numPartitions)
        return CoalescedRDD(self, numPartitions)

    def repartition(self: RDD, numPartitions: int) -> RDD:
        """Elements spread round-robin (from a per-partition offset) over new partitions."""
        return (
            self.mapPartitionsWithIndex(
                lambda i, it: ((i + k, x) for k, x in enumerate(it))
            )
            .partitionBy(numPartitions, _identity_hash)
            .values()
        )

    def shuffleBatches(self: RDD, partitioner: Any) -> RDD:
        """A columnar exchange: record batches regrouped by ``partitioner.partition_ids``."""
        from rdd.shuffled import ShuffledBatchesRDD

        if self.partitioner == partitioner:
            return self
        return ShuffledBatchesRDD(self, partitioner)

    def groupBy(self: RDD, f: Callable[[Any], Any], numPartitions: int | None = None,
                partitionFunc: Callable[[Any], int] | None = None) -> RDD:
        return self.map(lambda x: (f(x), x)).groupByKey(numPartitions, partitionFunc)

    def sortBy(self: RDD, keyfunc: Callable[[Any], Any], ascending: bool = True,
               numPartitions: int | None = None) -> RDD:
        return self.keyBy(keyfunc).sortByKey(ascending, numPartitions).values()


def _identity_hash(key: int) -> int:
    return key


def _count(iterator: Iterator[Any]) -> int:
    return sum(1 for _ in iterator)


def _zip_strict(left: Iterator[Any], right: Iterator[Any]) -> Iterator[tuple[Any, Any]]:
    try:
        yield from zip(left, right, strict=True)
    except ValueError as error:
        raise ValueError(
            "Can only zip RDDs with the same number of elements in each partition"
        ) from error


def _pipe_partition(command: str, env: dict[str, str] | None, check_code: bool,
                    iterator: Iterator[Any]) -> Iterator[str]:
    process = subprocess.Popen(
        shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )

    def feed() -> None:
        assert process.stdin is not None
        try:
            for element in iterator:
                text = element if isinstance(element, (bytes, bytearray)) else str(element).encode()
                process.stdin.write(text.rstrip(b"\n") + b"\n")
        except BrokenPipeError:
            pass  # the command stopped reading (head, grep -m): not an error
        finally:
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    assert process.stdout is not None
    for line in process.stdout:
        yield line.decode("utf-8", errors="replace").rstrip("\n")
    writer.join()
    code = process.wait()
    if check_code and code:
        raise RuntimeError(f"pipe() command {command!r} exited with status {code}")
