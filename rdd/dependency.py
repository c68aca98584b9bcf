"""How an RDD's partitions depend on its parents' — the line the scheduler cuts stages at.

A narrow dependency lets a child partition be computed from a few parent partitions in
the same task (pipelined); a shuffle dependency needs every parent partition first, so
it ends a stage. Dependencies live only on the driver: tasks never carry them (a task
of a shuffled RDD reads the shuffle's blocks by id, not through its parent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdd.base import RDD


class Dependency:
    rdd: RDD

    def __reduce__(self) -> Any:
        raise TypeError("dependencies belong to the driver and are never shipped in a task")


class NarrowDependency(Dependency):
    """Each child partition depends on a small, known set of parent partitions."""

    def __init__(self, rdd: RDD) -> None:
        self.rdd = rdd

    def get_parents(self, partition_index: int) -> list[int]:
        raise NotImplementedError


class OneToOneDependency(NarrowDependency):
    """Child partition i is computed from parent partition i (map, filter, …)."""

    def get_parents(self, partition_index: int) -> list[int]:
        return [partition_index]


class RangeDependency(NarrowDependency):
    """A contiguous range of parent partitions appears at an offset in the child (union)."""

    def __init__(self, rdd: RDD, in_start: int, out_start: int, length: int) -> None:
        super().__init__(rdd)
        self.in_start, self.out_start, self.length = in_start, out_start, length

    def get_parents(self, partition_index: int) -> list[int]:
        if self.out_start <= partition_index < self.out_start + self.length:
            return [partition_index - self.out_start + self.in_start]
        return []


class ManyToOneDependency(NarrowDependency):
    """Child partitions read an explicit list of parent partitions (coalesce, cartesian)."""

    def __init__(self, rdd: RDD, parents: Callable[[int], list[int]]) -> None:
        super().__init__(rdd)
        self._parents = parents

    def get_parents(self, partition_index: int) -> list[int]:
        return self._parents(partition_index)


@dataclass(frozen=True, slots=True)
class Aggregator:
    """Spark's combiner triple: the map-side combine and reduce-side merge of a key's values."""

    create_combiner: Callable[[Any], Any]
    merge_value: Callable[[Any, Any], Any]
    merge_combiners: Callable[[Any, Any], Any]


def partition_count(partitioner: Any) -> int:
    """Partitions of a key partitioner (``numPartitions``) or a batch one (``num_partitions``)."""
    count = getattr(partitioner, "numPartitions", None)
    return int(count if count is not None else partitioner.num_partitions)


@dataclass(frozen=True, slots=True)
class ShuffleWriteSpec:
    """What a map task needs to write its shuffle output: plain data, shipped in the task."""

    shuffle_id: int
    num_partitions: int
    partitioner: Any
    aggregator: Aggregator | None
    map_side_combine: bool
    columnar: bool


class ShuffleDependency(Dependency):
    """Every child partition needs a slice of every parent partition: a stage boundary.

    ``columnar`` shuffles move ``pyarrow.RecordBatch`` elements as Arrow IPC blocks split
    by a batch partitioner; the others move ``(key, value)`` pairs, optionally combined on
    the map side with ``aggregator``.
    """

    def __init__(
        self,
        rdd: RDD,
        shuffle_id: int,
        partitioner: Any,
        aggregator: Aggregator | None = None,
        map_side_combine: bool = False,
        columnar: bool = False,
    ) -> None:
        self.rdd = rdd
        self.shuffle_id = shuffle_id
        self.partitioner = partitioner
        self.aggregator = aggregator
        self.map_side_combine = map_side_combine
        self.columnar = columnar

    @property
    def write_spec(self) -> ShuffleWriteSpec:
        return ShuffleWriteSpec(
            shuffle_id=self.shuffle_id,
            num_partitions=partition_count(self.partitioner),
            partitioner=self.partitioner,
            aggregator=self.aggregator,
            map_side_combine=self.map_side_combine,
            columnar=self.columnar,
        )
