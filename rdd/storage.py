"""Storage levels and the block manager: where cached partitions live.

A block is one materialized partition of a persisted RDD (``rdd_<id>_<split>``). The
memory store keeps blocks as Python lists under a byte budget and evicts the least
recently used; a block whose level allows disk is spilled there (Arrow IPC when it holds
record batches, pickle otherwise), any other evicted block is simply dropped and later
recomputed from lineage by ``RDD.iterator``.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


class StorageLevel:
    """PySpark's storage levels: which stores a block may use, and replication."""

    def __init__(
        self,
        useDisk: bool,
        useMemory: bool,
        useOffHeap: bool,
        deserialized: bool,
        replication: int = 1,
    ) -> None:
        self.useDisk = useDisk
        self.useMemory = useMemory
        self.useOffHeap = useOffHeap
        self.deserialized = deserialized
        self.replication = replication

    def _key(self) -> tuple[bool, bool, bool, bool, int]:
        return (self.useDisk, self.useMemory, self.useOffHeap, self.deserialized, self.replication)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorageLevel) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "StorageLevel(%s, %s, %s, %s, %s)" % self._key()

    def __str__(self) -> str:
        parts = []
        if self.useDisk:
            parts.append("Disk")
        if self.useMemory:
            parts.append("Memory")
        if self.useOffHeap:
            parts.append("OffHeap")
        parts.append("Deserialized" if self.deserialized else "Serialized")
        parts.append(f"{self.replication}x Replicated")
        return " ".join(parts)

    @property
    def is_valid(self) -> bool:
        return self.useDisk or self.useMemory or self.useOffHeap


StorageLevel.NONE = StorageLevel(False, False, False, False)  # type: ignore[attr-defined]
StorageLevel.DISK_ONLY = StorageLevel(True, False, False, False)  # type: ignore[attr-defined]
StorageLevel.DISK_ONLY_2 = StorageLevel(True, False, False, False, 2)  # type: ignore[attr-defined]
StorageLevel.DISK_ONLY_3 = StorageLevel(True, False, False, False, 3)  # type: ignore[attr-defined]
StorageLevel.MEMORY_ONLY = StorageLevel(False, True, False, False)  # type: ignore[attr-defined]
StorageLevel.MEMORY_ONLY_2 = StorageLevel(False, True, False, False, 2)  # type: ignore[attr-defined]
StorageLevel.MEMORY_AND_DISK = StorageLevel(True, True, False, False)  # type: ignore[attr-defined]
StorageLevel.MEMORY_AND_DISK_2 = StorageLevel(True, True, False, False, 2)  # type: ignore[attr-defined]
StorageLevel.MEMORY_AND_DISK_DESER = StorageLevel(True, True, False, True)  # type: ignore[attr-defined]
StorageLevel.OFF_HEAP = StorageLevel(True, True, True, False, 1)  # type: ignore[attr-defined]


def estimate_size(values: list[Any]) -> int:
    """Bytes a materialized partition holds: exact for Arrow data, sampled otherwise."""
    if not values:
        return 64
    first = values[0]
    if isinstance(first, (pa.RecordBatch, pa.Table)):
        return sum(v.nbytes for v in values if isinstance(v, (pa.RecordBatch, pa.Table))) + 64
    sample = values[:: max(1, len(values) // 100)][:100]
    try:
        per_item = len(pickle.dumps(sample, protocol=pickle.HIGHEST_PROTOCOL)) / len(sample)
    except Exception:
        per_item = sum(sys.getsizeof(v) for v in sample) / len(sample)
    # In-memory Python objects are several times their pickled size.
    return int(per_item * len(values) * 3) + 64


def _all_batches(values: list[Any]) -> bool:
    return bool(values) and all(isinstance(v, pa.RecordBatch) for v in values)


@dataclass(slots=True)
class BlockStats:
    """Counters for tests, EXPLAIN and SHOW CACHE."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    spills: int = 0
    computed: int = 0


@dataclass(slots=True)
class _Entry:
    values: list[Any]
    size: int
    level: StorageLevel


@dataclass(slots=True, weakref_slot=True, eq=False)
class BlockManager:
    """One executor's blocks: an LRU memory store under ``budget`` bytes plus a disk store.

    Besides the totals in ``stats`` it counts hits and evictions per block
    (``block_counters``), so that a client owning a family of blocks can report on
    its own blocks alone.
    """

    budget: int
    disk_dir: str
    stats: BlockStats = field(default_factory=BlockStats)
    _memory: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)
    _disk: dict[str, tuple[str, int, StorageLevel]] = field(default_factory=dict)
    _used: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _computing: dict[str, threading.Event] = field(default_factory=dict)
    _counters: dict[str, list[int]] = field(default_factory=dict)  # block id -> [hits, evictions]

    @property
    def memory_used(self) -> int:
        return self._used

    def set_budget(self, budget: int) -> None:
        """Change the memory budget; blocks beyond a smaller one are evicted now (least
        recently used first; those whose level allows disk are spilled)."""
        with self._lock:
            self.budget = budget
            spilled = self._make_room(0)
        for victim_id, victim in spilled:
            self._write_disk(victim_id, victim.values, victim.level)

    def block_counters(self, block_id: str) -> tuple[int, int]:
        """(hits, evictions from memory) of one block since it was first stored."""
        with self._lock:
            hits, evictions = self._counters.get(block_id, (0, 0))
        return hits, evictions

    def _count(self, block_id: str, which: int) -> None:
        self._counters.setdefault(block_id, [0, 0])[which] += 1

    def get(self, block_id: str) -> list[Any] | None:
        with self._lock:
            entry = self._memory.get(block_id)
            if entry is not None:
                self._memory.move_to_end(block_id)
                self.stats.hits += 1
                self._count(block_id, 0)
                return entry.values
            on_disk = self._disk.get(block_id)
        if on_disk is not None:
            values = _read_block(on_disk[0])
            if values is not None:
                with self._lock:
                    self.stats.hits += 1
                    self._count(block_id, 0)
                return values
            with self._lock:
                self._disk.pop(block_id, None)
        with self._lock:
            self.stats.misses += 1
        return None

    def get_or_compute(
        self, block_id: str, level: StorageLevel, compute: Callable[[], Iterable[Any]]
    ) -> list[Any]:
        """The block's values, computing and storing them once even under concurrent tasks."""
        while True:
            values = self.get(block_id)
            if values is not None:
                return values
            with self._lock:
                waiter = self._computing.get(block_id)
                if waiter is None:
                    self._computing[block_id] = threading.Event()
                    break
            waiter.wait()
        try:
            values = list(compute())
            with self._lock:
                self.stats.computed += 1
            self.put(block_id, values, level)
            return values
        finally:
            with self._lock:
                self._computing.pop(block_id).set()

    def put(self, block_id: str, values: list[Any], level: StorageLevel) -> bool:
        """Store a block; returns False when it fits nowhere (the caller keeps its values)."""
        size = estimate_size(values)
        if level.useMemory and size <= self.budget:
            with self._lock:
                self._remove_memory(block_id)
                spilled = self._make_room(size)
                self._memory[block_id] = _Entry(values, size, level)
                self._used += size
            for victim_id, victim in spilled:
                self._write_disk(victim_id, victim.values, victim.level)
            return True
        if level.useDisk:
            self._write_disk(block_id, values, level)
            return True
        return False

    def remove(self, block_id: str) -> None:
        with self._lock:
            self._remove_memory(block_id)
            self._counters.pop(block_id, None)
            on_disk = self._disk.pop(block_id, None)
        if on_disk is not None:
            _silent_unlink(on_disk[0])

    def remove_rdd(self, rdd_id: int) -> None:
        prefix = f"rdd_{rdd_id}_"
        with self._lock:
            ids = [b for b in [*self._memory, *self._disk, *self._counters] if b.startswith(prefix)]
        for block_id in ids:
            self.remove(block_id)

    def block_ids(self) -> list[str]:
        with self._lock:
            return list(dict.fromkeys([*self._memory, *self._disk]))

    def block_sizes(self, block_id: str) -> tuple[int, int]:
        """(bytes in memory, bytes on disk) of one block."""
        with self._lock:
            entry = self._memory.get(block_id)
            on_disk = self._disk.get(block_id)
        return (entry.size if entry else 0, on_disk[1] if on_disk else 0)

    def clear(self) -> None:
        for block_id in self.block_ids():
            self.remove(block_id)

    def _remove_memory(self, block_id: str) -> None:
        entry = self._memory.pop(block_id, None)
        if entry is not None:
            self._used -= entry.size

    def _make_room(self, size: int) -> list[tuple[str, _Entry]]:
        """Evict least recently used blocks until ``size`` fits; returns those to spill."""
        spilled = []
        while self._memory and self._used + size > self.budget:
            victim_id, victim = self._memory.popitem(last=False)
            self._used -= victim.size
            self.stats.evictions += 1
            self._count(victim_id, 1)
            if victim.level.useDisk:
                spilled.append((victim_id, victim))
        return spilled

    def _write_disk(self, block_id: str, values: list[Any], level: StorageLevel) -> None:
        os.makedirs(self.disk_dir, exist_ok=True)
        path = os.path.join(self.disk_dir, block_id)
        size = _write_block(path, values)
        with self._lock:
            self._disk[block_id] = (path, size, level)
            self.stats.spills += 1


def _write_block(path: str, values: list[Any]) -> int:
    """Write a block beside ``path`` (``.arrow`` or ``.pickle``) atomically; returns bytes."""
    tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
    if _all_batches(values):
        final = path + ".arrow"
        with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_stream(sink, values[0].schema) as writer:
            for batch in values:
                writer.write_batch(batch)
    else:
        final = path + ".pickle"
        with open(tmp, "wb") as sink:
            pickle.dump(values, sink, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, final)
    return os.path.getsize(final)


def _read_block(path: str) -> list[Any] | None:
    if os.path.exists(path + ".arrow"):
        with pa.memory_map(path + ".arrow") as source:
            return list(pa.ipc.open_stream(source))
    if os.path.exists(path + ".pickle"):
        with open(path + ".pickle", "rb") as source:
            return pickle.load(source)
    return None


def _silent_unlink(path: str) -> None:
    for suffix in (".arrow", ".pickle"):
        try:
            os.unlink(path + suffix)
        except FileNotFoundError:
            pass


class BlockLocations:
    """The driver's map of which executor holds each cached block (for task locality)."""

    def __init__(self) -> None:
        self._locations: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, block_id: str, executor_id: str) -> None:
        with self._lock:
            self._locations[block_id] = executor_id

    def location(self, block_id: str) -> str | None:
        with self._lock:
            return self._locations.get(block_id)

    def forget_rdd(self, rdd_id: int) -> None:
        prefix = f"rdd_{rdd_id}_"
        with self._lock:
            for block_id in [b for b in self._locations if b.startswith(prefix)]:
                del self._locations[block_id]

    def forget_executor(self, executor_id: str) -> None:
        with self._lock:
            for block_id in [b for b, e in self._locations.items() if e == executor_id]:
                del self._locations[block_id]
