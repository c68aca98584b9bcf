"""Pending tasks grouped in pools and served fairly: Spark's FAIR scheduling mode.

A pool is a named group of jobs (``spark.scheduler.pool``, else the job group, else
``default``). The next free executor slot goes to the pool with the fewest running
tasks, first come first served within a pool, so a query with a hundred tasks cannot
hold every slot while another session's one-task query waits behind it.

Not thread-safe by itself: each backend guards it with its own lock.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    def __init__(self) -> None:
        self._pools: dict[str, deque[T]] = {}
        self._running: Counter[str] = Counter()

    def __len__(self) -> int:
        return sum(len(items) for items in self._pools.values())

    def put(self, pool: str, item: T) -> None:
        self._pools.setdefault(pool, deque()).append(item)

    def in_fair_order(self) -> Iterator[tuple[str, T]]:
        """Every pending item, pools with fewer running tasks first, FIFO inside a pool."""
        order = sorted(self._pools, key=lambda pool: self._running[pool])
        for pool in order:
            for item in list(self._pools.get(pool, ())):
                yield pool, item

    def starving(self) -> tuple[str, T] | None:
        """The oldest pending item of a pool with no task running, if there is one."""
        for pool, items in self._pools.items():
            if items and not self._running[pool]:
                return pool, items[0]
        return None

    def remove(self, pool: str, item: T) -> None:
        items = self._pools[pool]
        items.remove(item)
        if not items:
            del self._pools[pool]

    def remove_where(self, predicate: Callable[[T], bool]) -> list[T]:
        """Take out every pending item ``predicate`` accepts (a killed task, say)."""
        taken = [(pool, item) for pool, item in self.in_fair_order() if predicate(item)]
        for pool, item in taken:
            self.remove(pool, item)
        return [item for _, item in taken]

    def started(self, pool: str) -> None:
        self._running[pool] += 1

    def finished(self, pool: str) -> None:
        self._running[pool] -= 1
        if self._running[pool] <= 0:
            del self._running[pool]

    def drain(self) -> list[T]:
        items = [item for pool in self._pools.values() for item in pool]
        self._pools.clear()
        return items
