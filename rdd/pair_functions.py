"""Key/value operations of the public RDD API: shuffles, joins, sorting by key.

Aggregations go through ``combineByKey`` (one shuffle, map-side combining); the join
family goes through ``cogroup``, which shuffles both sides unless they are already
partitioned alike, in which case it zips their partitions (no shuffle).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from rdd.partitioner import HashPartitioner, RangePartitioner, portable_hash

if TYPE_CHECKING:
    from rdd.base import RDD


class PairFunctions:
    def keys(self: RDD) -> RDD:
        return self.map(lambda kv: kv[0])

    def values(self: RDD) -> RDD:
        return self.map(lambda kv: kv[1])

    def mapValues(self: RDD, f: Callable[[Any], Any]) -> RDD:
        return self.map(lambda kv: (kv[0], f(kv[1])), preservesPartitioning=True)

    def flatMapValues(self: RDD, f: Callable[[Any], Any]) -> RDD:
        return self.flatMap(lambda kv: ((kv[0], v) for v in f(kv[1])), preservesPartitioning=True)

    def partitionBy(self: RDD, numPartitions: int | None,
                    partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        from rdd.shuffled import ShuffledRDD

        partitioner = HashPartitioner(numPartitions or self._default_reducers(), partitionFunc)
        if self.partitioner == partitioner:
            return self
        return ShuffledRDD(self, partitioner)

    def _default_reducers(self: RDD) -> int:
        configured = self.ctx.settings.default_parallelism
        return configured or max(1, self.getNumPartitions())

    # -- aggregation ------------------------------------------------------------------

    def combineByKey(
        self: RDD,
        createCombiner: Callable[[Any], Any],
        mergeValue: Callable[[Any, Any], Any],
        mergeCombiners: Callable[[Any, Any], Any],
        numPartitions: int | None = None,
        partitionFunc: Callable[[Any], int] = portable_hash,
    ) -> RDD:
        from rdd.dependency import Aggregator
        from rdd.shuffled import ShuffledRDD

        aggregator = Aggregator(createCombiner, mergeValue, mergeCombiners)
        partitioner = HashPartitioner(numPartitions or self._default_reducers(), partitionFunc)
        if self.partitioner == partitioner:
            # Already partitioned by key: combine in place, no shuffle.
            return self.mapPartitions(lambda it: _combine_locally(aggregator, it), True)
        return ShuffledRDD(self, partitioner, aggregator, map_side_combine=True)

    def reduceByKey(self: RDD, func: Callable[[Any, Any], Any], numPartitions: int | None = None,
                    partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        return self.combineByKey(lambda v: v, func, func, numPartitions, partitionFunc)

    def foldByKey(self: RDD, zeroValue: Any, func: Callable[[Any, Any], Any],
                  numPartitions: int | None = None,
                  partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        return self.combineByKey(
            lambda v: func(copy.deepcopy(zeroValue), v), func, func, numPartitions, partitionFunc
        )

    def aggregateByKey(self: RDD, zeroValue: Any, seqFunc: Callable[[Any, Any], Any],
                       combFunc: Callable[[Any, Any], Any], numPartitions: int | None = None,
                       partitionFunc: Callable[[Any], int] = portable_hash) -> RDD:
        return self.combineByKey(
            lambda v: seqFunc(copy.deepcopy(zeroValue), v), seqFunc, combFunc, numPartitions, partitionFunc
        )

    def groupByKey(self: RDD, numPartitions: int | None = None,
                   partitionFunc: Callable[[Any], int] | None = None) -> RDD:
        return self.combineByKey(
            lambda v: [v], _append, _extend, numPartitions, partitionFunc or portable_hash
        )

    def reduceByKeyLocally(self: RDD, func: Callable[[Any, Any], Any]) -> dict[Any, Any]:
        def merge_maps(left: dict[Any, Any], right: dict[Any, Any]) -> dict[Any, Any]:
            for key, value in right.items():
                left[key] = func(left[key], value) if key in left else value
            return left

        partials = self.ctx._run_job(self, lambda it: _reduce_partition_by_key(func, it))
        result: dict[Any, Any] = {}
        for partial in partials:
            merge_maps(result, partial)
        return result

    # -- joins ------------------------------------------------------------------------

    def cogroup(self: RDD, other: RDD, numPartitions: int | None = None) -> RDD:
        return self.groupWith(other, numPartitions=numPartitions)

    def groupWith(self: RDD, other: RDD, *others: RDD, numPartitions: int | None = None) -> RDD:
        """``(key, (values of self, values of other, …))`` for every key of any side."""
        rdds = [self, other, *others]
        width = len(rdds)
        partitioner = HashPartitioner(numPartitions or max(r.getNumPartitions() for r in rdds))
        if all(r.partitioner == partitioner for r in rdds) and width == 2:
            return self.zipPartitions(other, lambda a, b: _cogroup_local(width, [a, b]), True)
        tagged = [
            rdd.map(lambda kv, tag=tag: (kv[0], (tag, kv[1]))) for tag, rdd in enumerate(rdds)
        ]
        return (
            self.ctx.union(tagged)
            .combineByKey(
                lambda tv: _new_groups(width, tv),
                _add_to_groups,
                _merge_groups,
                partitioner.numPartitions,
            )
            .mapValues(tuple)
        )

    def join(self: RDD, other: RDD, numPartitions: int | None = None) -> RDD:
        return self.cogroup(other, numPartitions).flatMapValues(
            lambda groups: [(v, w) for v in groups[0] for w in groups[1]]
        )

    def leftOuterJoin(self: RDD, other: RDD, numPartitions: int | None = None) -> RDD:
        return self.cogroup(other, numPartitions).flatMapValues(
            lambda groups: [(v, w) for v in groups[0] for w in (groups[1] or [None])]
        )

    def rightOuterJoin(self: RDD, other: RDD, numPartitions: int | None = None) -> RDD:
        return self.cogroup(other, numPartitions).flatMapValues(
            lambda groups: [(v, w) for v in (groups[0] or [None]) for w in groups[1]]
        )

    def fullOuterJoin(self: RDD, other: RDD, numPartitions: int | None = None) -> RDD:
        return self.cogroup(other, numPartitions).flatMapValues(
            lambda groups: [(v, w) for v in (groups[0] or [None]) for w in (groups[1] or [None])]
        )

    def subtractByKey(self: RDD, other: RDD, numPartitions: int | None = None) -> RDD:
        return self.cogroup(other, numPartitions).flatMap(
            lambda kv: [(kv[0], v) for v in kv[1][0]] if not kv[1][1] else []
        )

    # -- sorting ----------------------------------------------------------------------

    def sortByKey(self: RDD, ascending: bool = True, numPartitions: int | None = None,
                  keyfunc: Callable[[Any], Any] = lambda k: k) -> RDD:
        """Globally sorted: range-partitioned from a sample of keys, each partition sorted.

        Sampling runs a job now, as in Spark.
        """
        from rdd.sampling import range_bounds
        from rdd.shuffled import ShuffledRDD

        partitions = numPartitions or self.getNumPartitions()
        if partitions <= 1 or self.getNumPartitions() == 0:
            return self.coalesce(1).mapPartitions(
                lambda it: sorted(it, key=lambda kv: keyfunc(kv[0]), reverse=not ascending), True
            )
        bounds = range_bounds(self, partitions, keyfunc)
        shuffled = ShuffledRDD(self, RangePartitioner(bounds, ascending, keyfunc))
        return shuffled.mapPartitions(
            lambda it: sorted(it, key=lambda kv: keyfunc(kv[0]), reverse=not ascending), True
        )

    def repartitionAndSortWithinPartitions(
        self: RDD, numPartitions: int | None = None,
        partitionFunc: Callable[[Any], int] = portable_hash,
        ascending: bool = True, keyfunc: Callable[[Any], Any] = lambda k: k,
    ) -> RDD:
        return self.partitionBy(numPartitions, partitionFunc).mapPartitions(
            lambda it: sorted(it, key=lambda kv: keyfunc(kv[0]), reverse=not ascending), True
        )


def _append(values: list[Any], value: Any) -> list[Any]:
    values.append(value)
    return values


def _extend(left: list[Any], right: list[Any]) -> list[Any]:
    left.extend(right)
    return left


def _new_groups(width: int, tagged: tuple[int, Any]) -> list[list[Any]]:
    groups: list[list[Any]] = [[] for _ in range(width)]
    groups[tagged[0]].append(tagged[1])
    return groups


def _add_to_groups(groups: list[list[Any]], tagged: tuple[int, Any]) -> list[list[Any]]:
    groups[tagged[0]].append(tagged[1])
    return groups


def _merge_groups(left: list[list[Any]], right: list[list[Any]]) -> list[list[Any]]:
    for mine, theirs in zip(left, right):
        mine.extend(theirs)
    return left


def _combine_locally(aggregator: Any, iterator: Iterator[Any]) -> Iterator[Any]:
    combined: dict[Any, Any] = {}
    for key, value in iterator:
        combined[key] = (
            aggregator.merge_value(combined[key], value) if key in combined
            else aggregator.create_combiner(value)
        )
    return iter(combined.items())


def _cogroup_local(width: int, iterators: list[Iterator[Any]]) -> Iterator[Any]:
    groups: dict[Any, list[list[Any]]] = {}
    for tag, iterator in enumerate(iterators):
        for key, value in iterator:
            groups.setdefault(key, [[] for _ in range(width)])[tag].append(value)
    return ((key, tuple(value)) for key, value in groups.items())


def _reduce_partition_by_key(func: Callable[[Any, Any], Any], iterator: Iterator[Any]) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, value in iterator:
        result[key] = func(result[key], value) if key in result else value
    return result

