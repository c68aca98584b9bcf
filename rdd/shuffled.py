"""RDDs on the reduce side of a shuffle: they read blocks by shuffle id, not their parent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rdd.base import RDD, Partition
from rdd.dependency import Aggregator, Dependency, ShuffleDependency, partition_count
from rdd.shuffle import read_batches, read_records
from rdd.task_context import TaskContext


class ShuffledRDD(RDD):
    """``(key, value)`` pairs regrouped by ``partitioner``, combined when an aggregator is given."""

    _driver_only = (*RDD._driver_only, "_shuffle_dependency")

    def __init__(
        self,
        prev: RDD,
        partitioner: Any,
        aggregator: Aggregator | None = None,
        map_side_combine: bool = False,
    ) -> None:
        super().__init__(prev.ctx)
        self.partitioner = partitioner
        self.aggregator = aggregator
        self.map_side_combine = map_side_combine and aggregator is not None
        self._shuffle_dependency = ShuffleDependency(
            prev, prev.ctx._new_shuffle_id(), partitioner, aggregator, self.map_side_combine
        )
        self.shuffle_id = self._shuffle_dependency.shuffle_id

    def _get_partitions(self) -> list[Partition]:
        return [Partition(i) for i in range(partition_count(self.partitioner))]

    def _get_dependencies(self) -> list[Dependency]:
        return [self._shuffle_dependency]

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        statuses = context.shuffle_statuses[self.shuffle_id]
        return read_records(statuses, split.index, self.aggregator, self.map_side_combine)


class ShuffledBatchesRDD(RDD):
    """Record batches regrouped by a batch partitioner: the SQL engine's exchange."""

    _driver_only = (*RDD._driver_only, "_shuffle_dependency")

    def __init__(self, prev: RDD, partitioner: Any) -> None:
        super().__init__(prev.ctx)
        self.partitioner = partitioner
        self._shuffle_dependency = ShuffleDependency(
            prev, prev.ctx._new_shuffle_id(), partitioner, columnar=True
        )
        self.shuffle_id = self._shuffle_dependency.shuffle_id

    def _get_partitions(self) -> list[Partition]:
        return [Partition(i) for i in range(partition_count(self.partitioner))]

    def _get_dependencies(self) -> list[Dependency]:
        return [self._shuffle_dependency]

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        return read_batches(context.shuffle_statuses[self.shuffle_id], split.index)
