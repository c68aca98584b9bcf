"""A stage attempt's tasks: which partitions are pending, running, and how often each failed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TaskSet:
    """Failure counts decide retries: a partition may fail ``max_failures - 1`` times."""

    stage_id: int
    max_failures: int
    pending: set[int] = field(default_factory=set)
    failures: dict[int, int] = field(default_factory=dict)

    def record_failure(self, partition: int) -> bool:
        """Count a failure; True while the partition may still be retried."""
        self.failures[partition] = self.failures.get(partition, 0) + 1
        return self.failures[partition] < self.max_failures

    def attempts(self, partition: int) -> int:
        return self.failures.get(partition, 0)
