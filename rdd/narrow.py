"""RDDs whose partitions depend on a few parent partitions: computed inside one task."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdd.base import RDD, Partition
from rdd.dependency import (
    Dependency,
    ManyToOneDependency,
    OneToOneDependency,
    RangeDependency,
)
from rdd.task_context import TaskContext

if TYPE_CHECKING:
    from rdd.context import Context


class MapPartitionsRDD(RDD):
    """``func(partition_index, parent_iterator)`` applied to each parent partition."""

    def __init__(
        self,
        prev: RDD,
        func: Callable[[int, Iterator[Any]], Iterator[Any]],
        preserves_partitioning: bool = False,
    ) -> None:
        super().__init__(prev.ctx)
        self.prev = prev
        self.func = func
        if preserves_partitioning:
            self.partitioner = prev.partitioner

    def _get_partitions(self) -> list[Partition]:
        return self.prev.partitions()

    def _get_dependencies(self) -> list[Dependency]:
        return [OneToOneDependency(self.prev)]

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        return self.func(split.index, self.prev.iterator(split, context))

    def preferred_locations(self, split: Partition) -> list[str]:
        return self.prev.preferred_locations(split)


@dataclass(frozen=True, slots=True)
class UnionPartition(Partition):
    parent_index: int
    parent_split: Partition


class UnionRDD(RDD):
    """The partitions of several RDDs, one after another."""

    def __init__(self, ctx: Context, rdds: list[RDD]) -> None:
        super().__init__(ctx)
        self.rdds = rdds

    def _get_partitions(self) -> list[Partition]:
        result: list[Partition] = []
        for parent_index, rdd in enumerate(self.rdds):
            for split in rdd.partitions():
                result.append(UnionPartition(len(result), parent_index, split))
        return result

    def _get_dependencies(self) -> list[Dependency]:
        dependencies: list[Dependency] = []
        offset = 0
        for rdd in self.rdds:
            count = rdd.getNumPartitions()
            dependencies.append(RangeDependency(rdd, 0, offset, count))
            offset += count
        return dependencies

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        assert isinstance(split, UnionPartition)
        return self.rdds[split.parent_index].iterator(split.parent_split, context)


@dataclass(frozen=True, slots=True)
class GroupPartition(Partition):
    parent_splits: tuple[Partition, ...]


class CoalescedRDD(RDD):
    """Fewer partitions without a shuffle: contiguous runs of parent partitions."""

    def __init__(self, prev: RDD, num_partitions: int) -> None:
        super().__init__(prev.ctx)
        self.prev = prev
        self._target = max(1, num_partitions)

    def _groups(self) -> list[list[int]]:
        count = self.prev.getNumPartitions()
        target = min(self._target, count) if count else 0
        return [list(range(i * count // target, (i + 1) * count // target)) for i in range(target)]

    def _get_partitions(self) -> list[Partition]:
        parents = self.prev.partitions()
        return [
            GroupPartition(i, tuple(parents[j] for j in group))
            for i, group in enumerate(self._groups())
        ]

    def _get_dependencies(self) -> list[Dependency]:
        groups = self._groups()
        return [ManyToOneDependency(self.prev, lambda i: groups[i])]

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        assert isinstance(split, GroupPartition)
        for parent_split in split.parent_splits:
            yield from self.prev.iterator(parent_split, context)


@dataclass(frozen=True, slots=True)
class PairPartition(Partition):
    left: Partition
    right: Partition


class CartesianRDD(RDD):
    """Every pair of a left and a right partition is one partition of the product."""

    def __init__(self, left: RDD, right: RDD) -> None:
        super().__init__(left.ctx)
        self.left, self.right = left, right

    def _get_partitions(self) -> list[Partition]:
        rights = self.right.partitions()
        return [
            PairPartition(i * len(rights) + j, a, b)
            for i, a in enumerate(self.left.partitions())
            for j, b in enumerate(rights)
        ]

    def _get_dependencies(self) -> list[Dependency]:
        width = self.right.getNumPartitions()
        return [
            ManyToOneDependency(self.left, lambda i: [i // width]),
            ManyToOneDependency(self.right, lambda i: [i % width]),
        ]

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        assert isinstance(split, PairPartition)
        rights = list(self.right.iterator(split.right, context))
        for x in self.left.iterator(split.left, context):
            for y in rights:
                yield (x, y)


class ZippedPartitionsRDD(RDD):
    """``func(iter_a, iter_b)`` over same-index partitions of two equally partitioned RDDs."""

    def __init__(self, left: RDD, right: RDD, func: Callable[[Iterator[Any], Iterator[Any]], Iterator[Any]],
                 preserves_partitioning: bool = False) -> None:
        super().__init__(left.ctx)
        if left.getNumPartitions() != right.getNumPartitions():
            raise ValueError(
                "can only zip RDDs with the same number of partitions, got "
                f"{left.getNumPartitions()} and {right.getNumPartitions()}"
            )
        self.left, self.right, self.func = left, right, func
        if preserves_partitioning:
            self.partitioner = left.partitioner

    def _get_partitions(self) -> list[Partition]:
        return [
            PairPartition(i, a, b)
            for i, (a, b) in enumerate(zip(self.left.partitions(), self.right.partitions()))
        ]

    def _get_dependencies(self) -> list[Dependency]:
        return [OneToOneDependency(self.left), OneToOneDependency(self.right)]

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        assert isinstance(split, PairPartition)
        return self.func(
            self.left.iterator(split.left, context), self.right.iterator(split.right, context)
        )
