"""Actions of the public RDD API: they run jobs and bring results to the driver."""

from __future__ import annotations

import functools
import heapq
import itertools
import os
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rdd.stats import StatCounter

if TYPE_CHECKING:
    from rdd.base import RDD



class Actions:
    # -- collecting -------------------------------------------------------------------

    def collect(self: RDD) -> list[Any]:
        return [x for part in self.ctx._run_job(self, list) for x in part]

    def toLocalIterator(self: RDD, prefetchPartitions: bool = False) -> Iterator[Any]:
        """Elements one partition at a time: the driver holds one partition at most."""
        for index in range(self.getNumPartitions()):
            yield from self.ctx._run_job(self, list, [index])[0]

    def count(self: RDD) -> int:
        return sum(self.ctx._run_job(self, _count))

    def first(self: RDD) -> Any:
        taken = self.take(1)
        if not taken:
            raise ValueError("RDD is empty")
        return taken[0]

    def take(self: RDD, num: int) -> list[Any]:
        """The first ``num`` elements, scanning one partition, then more and more (Spark's)."""
        result: list[Any] = []
        total = self.getNumPartitions()
        scanned = 0
        while len(result) < num and scanned < total:
            step = 1 if scanned == 0 else min(total - scanned, max(1, scanned * 4))
            wanted = num - len(result)
            parts = self.ctx._run_job(
                self, lambda it, n=wanted: list(itertools.islice(it, n)),
                list(range(scanned, scanned + step)),
            )
            for part in parts:
                result.extend(part[: num - len(result)])
            scanned += step
        return result

    def top(self: RDD, num: int, key: Callable[[Any], Any] | None = None) -> list[Any]:
        parts = self.ctx._run_job(self, lambda it: heapq.nlargest(num, it, key=key))
        return heapq.nlargest(num, itertools.chain.from_iterable(parts), key=key)

    def takeOrdered(self: RDD, num: int, key: Callable[[Any], Any] | None = None) -> list[Any]:
        parts = self.ctx._run_job(self, lambda it: heapq.nsmallest(num, it, key=key))
        return heapq.nsmallest(num, itertools.chain.from_iterable(parts), key=key)

    def takeSample(self: RDD, withReplacement: bool, num: int, seed: int | None = None) -> list[Any]:
        if num < 0:
            raise ValueError("Sample size cannot be negative")
        if num == 0:
            return []
        data = self.collect()
        rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(4), "little"))
        if withReplacement:
            return [rng.choice(data) for _ in range(num)] if data else []
        return rng.sample(data, min(num, len(data)))

    def collectAsMap(self: RDD) -> dict[Any, Any]:
        return dict(self.collect())

    def lookup(self: RDD, key: Any) -> list[Any]:
        """Values for ``key``; reads only the key's partition when the RDD has a partitioner."""
        values = self.filter(lambda kv: kv[0] == key).values()
        if self.partitioner is not None:
            return self.ctx._run_job(values, list, [self.partitioner(key)])[0]
        return values.collect()

    # -- reducing ---------------------------------------------------------------------

    def reduce(self: RDD, f: Callable[[Any, Any], Any]) -> Any:
        parts = self.ctx._run_job(self, lambda it: _reduce_partition(f, it))
        values = [value for present, value in parts if present]
        if not values:
            raise ValueError("Can not reduce() empty RDD")
        return functools.reduce(f, values)

    def treeReduce(self: RDD, f: Callable[[Any, Any], Any], depth: int = 2) -> Any:
        return self.reduce(f)

    def fold(self: RDD, zeroValue: Any, op: Callable[[Any, Any], Any]) -> Any:
        parts = self.ctx._run_job(self, lambda it: functools.reduce(op, it, _copy(zeroValue)))
        return functools.reduce(op, parts, zeroValue)

    def aggregate(self: RDD, zeroValue: Any, seqOp: Callable[[Any, Any], Any],
                  combOp: Callable[[Any, Any], Any]) -> Any:
        parts = self.ctx._run_job(self, lambda it: functools.reduce(seqOp, it, _copy(zeroValue)))
        return functools.reduce(combOp, parts, zeroValue)

    def treeAggregate(self: RDD, zeroValue: Any, seqOp: Callable[[Any, Any], Any],
                      combOp: Callable[[Any, Any], Any], depth: int = 2) -> Any:
        return self.aggregate(zeroValue, seqOp, combOp)

    def sum(self: RDD) -> Any:
        return sum(self.ctx._run_job(self, lambda it: sum(it)), 0)

    def stats(self: RDD) -> StatCounter:
        parts = self.ctx._run_job(self, StatCounter)
        return functools.reduce(StatCounter.mergeStats, parts, StatCounter())

    def mean(self: RDD) -> float:
        return self.stats().mean()

    def variance(self: RDD) -> float:
        return self.stats().variance()

    def stdev(self: RDD) -> float:
        return self.stats().stdev()

    def sampleVariance(self: RDD) -> float:
        return self.stats().sampleVariance()

    def sampleStdev(self: RDD) -> float:
        return self.stats().sampleStdev()

    def max(self: RDD, key: Callable[[Any], Any] | None = None) -> Any:
        return self.reduce(lambda a, b: max(a, b, key=key) if key else max(a, b))

    def min(self: RDD, key: Callable[[Any], Any] | None = None) -> Any:
        return self.reduce(lambda a, b: min(a, b, key=key) if key else min(a, b))

    def histogram(self: RDD, buckets: int | list[float]) -> tuple[list[float], list[int]]:
        if isinstance(buckets, int):
            low, high = self.min(), self.max()
            width = (high - low) / buckets if high != low else 1
            edges = [low + i * width for i in range(buckets)] + [high]
        else:
            edges = list(buckets)
        import bisect

        def count(it: Iterator[Any]) -> list[int]:
            counts = [0] * (len(edges) - 1)
            for x in it:
                if x is None or not edges[0] <= x <= edges[-1]:
                    continue
                index = min(bisect.bisect_right(edges, x) - 1, len(counts) - 1)
                counts[index] += 1
            return counts

        parts = self.ctx._run_job(self, count)
        return edges, [sum(c) for c in zip(*parts)] if parts else [0] * (len(edges) - 1)

    # -- counting by ------------------------------------------------------------------

    def countByKey(self: RDD) -> dict[Any, int]:
        return self.map(lambda kv: kv[0]).countByValue()

    def countByValue(self: RDD) -> dict[Any, int]:
        def count(it: Iterator[Any]) -> dict[Any, int]:
            counts: dict[Any, int] = defaultdict(int)
            for x in it:
                counts[x] += 1
            return counts

        result: dict[Any, int] = defaultdict(int)
        for part in self.ctx._run_job(self, count):
            for value, n in part.items():
                result[value] += n
        return result

    # -- side effects and output --------------------------------------------------------

    def foreach(self: RDD, f: Callable[[Any], None]) -> None:
        self.ctx._run_job(self, lambda it: _consume(map(f, it)))

    def foreachPartition(self: RDD, f: Callable[[Iterator[Any]], None]) -> None:
        self.ctx._run_job(self, lambda it: f(it) and None)

    def saveAsTextFile(self: RDD, path: str, compressionCodecClass: str | None = None) -> None:
        from rdd.output import save_atomically, write_text

        suffix = ".gz" if compressionCodecClass and "gzip" in compressionCodecClass.lower() else ""
        save_atomically(self, path, write_text, suffix)

    def saveAsPickleFile(self: RDD, path: str, batchSize: int = 10) -> None:
        from rdd.output import pickle_writer, save_atomically

        save_atomically(self, path, pickle_writer(max(1, batchSize)))

    def isEmpty(self: RDD) -> bool:
        return self.getNumPartitions() == 0 or len(self.take(1)) == 0


def _reduce_partition(f: Callable[[Any, Any], Any], iterator: Iterator[Any]) -> tuple[bool, Any]:
    """``(True, reduced)``, or ``(False, None)`` for an empty partition (picklable either way)."""
    iterator = iter(iterator)
    for first in iterator:
        return True, functools.reduce(f, iterator, first)
    return False, None


def _count(iterator: Iterator[Any]) -> int:
    return sum(1 for _ in iterator)


def _consume(iterator: Iterator[Any]) -> None:
    for _ in iterator:
        pass


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)

