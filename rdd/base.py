"""The RDD: five things (partitions, dependencies, compute, preferred locations,
partitioner), and ``iterator()``, the one place caching and checkpoints are applied.

Subclasses (``sources``, ``narrow``, ``shuffled``) override only ``_get_partitions``,
``_get_dependencies`` and ``compute``. The public PySpark API comes from the mixins in
``transformations``, ``pair_functions`` and ``actions``, which build on these.
"""

from __future__ import annotations

import functools
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rdd.actions import Actions
from rdd.dependency import Dependency, NarrowDependency, ShuffleDependency
from rdd.pair_functions import PairFunctions
from rdd.storage import StorageLevel
from rdd.task_context import TaskContext
from rdd.transformations import Transformations

if TYPE_CHECKING:
    from rdd.context import Context

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True, slots=True)
class Partition:
    """A partition's identity; families subclass it to carry what ``compute`` needs."""

    index: int


@functools.lru_cache(maxsize=1024)
def _in_package(filename: str) -> bool:
    return os.path.dirname(os.path.abspath(filename)) == _PACKAGE_DIR


def _callsite() -> str:
    """The name of the outermost function of this package on the stack: the public method."""
    frame = sys._getframe(1)
    name = "RDD"
    while frame is not None:
        if not _in_package(frame.f_code.co_filename):
            break
        if not frame.f_code.co_name.startswith("_"):
            name = frame.f_code.co_name
        frame = frame.f_back
    return name


class RDD(Transformations, PairFunctions, Actions):
    """A resilient distributed dataset: an immutable, partitioned, lazily computed collection."""

    #: Attributes that stay on the driver: a task carries its own stage, never the
    #: context, the dependency graph or (for parallelized data) every partition's data.
    _driver_only: tuple[str, ...] = ("ctx", "_partitions", "_dependencies")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._id = ctx._new_rdd_id()
        self.callsite = _callsite()
        self.storage_level: StorageLevel = StorageLevel.NONE
        self.partitioner: Any = None
        self._name: str | None = None
        self._partitions: list[Partition] | None = None
        self._dependencies: list[Dependency] | None = None
        self._checkpoint_files: list[str] | None = None
        self._checkpoint_requested = False

    # -- the five-part interface -------------------------------------------------------

    def _get_partitions(self) -> Sequence[Partition]:
        raise NotImplementedError

    def _get_dependencies(self) -> list[Dependency]:
        raise NotImplementedError

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        raise NotImplementedError

    def preferred_locations(self, split: Partition) -> list[str]:
        return []

    def partitions(self) -> list[Partition]:
        if self._partitions is None:
            self._partitions = list(self._get_partitions())
        return self._partitions

    @property
    def dependencies(self) -> list[Dependency]:
        if self._checkpoint_files is not None:
            return []
        if self._dependencies is None:
            self._dependencies = self._get_dependencies()
        return self._dependencies

    def iterator(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        """Elements of ``split``: from a checkpoint, from the cache, or computed."""
        if self._checkpoint_files is not None:
            return _read_checkpoint(self._checkpoint_files[split.index])
        level = self.storage_level
        if level == StorageLevel.NONE:
            return self.compute(split, context)
        block_id = f"rdd_{self._id}_{split.index}"
        values = context.env.block_manager.get_or_compute(
            block_id, level, lambda: self.compute(split, context)
        )
        context.stored_blocks.append(block_id)
        return iter(values)

    # -- identity and pickling ----------------------------------------------------------

    def id(self) -> int:
        return self._id

    @property
    def context(self) -> Context:
        return self.ctx

    def name(self) -> str | None:
        return self._name

    def setName(self, name: str) -> RDD:
        self._name = name
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for attribute in self._driver_only:
            state.pop(attribute, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __reduce__(self) -> Any:
        if self._checkpoint_files is not None:
            # Lineage is truncated: ship only the files, never the parents.
            from rdd.sources import CheckpointedRDD

            return (CheckpointedRDD._restore, (self._id, self._checkpoint_files, self.partitioner))
        return super().__reduce__()

    def __repr__(self) -> str:
        return f"{self._name or type(self).__name__}[{self._id}] at {self.callsite}"

    # -- persistence ------------------------------------------------------------------

    def persist(self, storageLevel: StorageLevel = StorageLevel.MEMORY_ONLY) -> RDD:
        if self.storage_level != StorageLevel.NONE and self.storage_level != storageLevel:
            raise ValueError(
                f"cannot change the storage level of RDD {self._id} from "
                f"{self.storage_level} to {storageLevel}; unpersist it first"
            )
        self.storage_level = storageLevel
        self.ctx._register_persisted(self)
        return self

    def cache(self) -> RDD:
        return self.persist(StorageLevel.MEMORY_ONLY)

    def unpersist(self, blocking: bool = False) -> RDD:
        self.storage_level = StorageLevel.NONE
        self.ctx._unpersist(self._id)
        return self

    @property
    def is_cached(self) -> bool:
        return self.storage_level != StorageLevel.NONE

    def getStorageLevel(self) -> StorageLevel:
        return self.storage_level

    def checkpoint(self) -> None:
        """Mark for checkpointing: the next job writes it out and truncates its lineage."""
        if self.ctx._checkpoint_dir is None:
            raise RuntimeError("checkpoint directory has not been set: call Context.setCheckpointDir first")
        self._checkpoint_requested = True

    def isCheckpointed(self) -> bool:
        return self._checkpoint_files is not None

    def getCheckpointFile(self) -> str | None:
        if self._checkpoint_files is None:
            return None
        return os.path.dirname(self._checkpoint_files[0]) if self._checkpoint_files else None

    def getNumPartitions(self) -> int:
        return len(self.partitions())

    # -- lineage ----------------------------------------------------------------------

    def toDebugString(self) -> str:
        """The lineage, one RDD a line; each shuffle (a stage boundary) indents with ``+-``."""
        lines: list[str] = []
        self._debug_lines(lines, prefix="", first_prefix="", stage_head=True)
        return "\n".join(lines)

    def _debug_lines(self, lines: list[str], prefix: str, first_prefix: str, stage_head: bool) -> None:
        storage = ""
        if self.storage_level != StorageLevel.NONE:
            storage = str(self.storage_level)
        label = self._name or type(self).__name__
        count = f"({self.getNumPartitions()}) " if stage_head else ""
        checkpoint = " (checkpointed)" if self._checkpoint_files is not None else ""
        lines.append(
            f"{first_prefix}{count}{label}[{self._id}] at {self.callsite}"
            f"{checkpoint} [{storage}]"
        )
        for dependency in self.dependencies:
            if isinstance(dependency, ShuffleDependency):
                dependency.rdd._debug_lines(lines, prefix + "   ", prefix + " +-", True)
            elif isinstance(dependency, NarrowDependency):
                dependency.rdd._debug_lines(lines, prefix, prefix + " |  ", False)


def lineage(rdd: RDD, cross_shuffles: bool = True) -> Iterator[RDD]:
    """Every RDD ``rdd`` depends on, each once, ``rdd`` first; with ``cross_shuffles``
    false, only those computed in ``rdd``'s own stage (through narrow dependencies)."""
    seen: set[int] = set()
    stack = [rdd]
    while stack:
        current = stack.pop()
        if current.id() in seen:
            continue
        seen.add(current.id())
        yield current
        stack.extend(
            dependency.rdd
            for dependency in current.dependencies
            if cross_shuffles or isinstance(dependency, NarrowDependency)
        )


def _read_checkpoint(path: str) -> Iterator[Any]:
    with open(path, "rb") as source:
        return iter(pickle.load(source))
