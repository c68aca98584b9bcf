"""Stages: runs of pipelined narrow transformations between shuffles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rdd.base import RDD
from rdd.dependency import ShuffleDependency


@dataclass(eq=False, slots=True)
class Stage:
    id: int
    rdd: RDD
    parents: list[ShuffleMapStage]
    #: The latest attempt's number (0 for the first run), shared by the jobs that run it.
    attempt: int = field(default=-1)

    @property
    def name(self) -> str:
        return f"{self.rdd.callsite} ({type(self.rdd).__name__}[{self.rdd.id()}])"


@dataclass(eq=False, slots=True)
class ShuffleMapStage(Stage):
    """Writes the map side of ``dependency``; available once every map output exists."""

    dependency: ShuffleDependency | None = None

    @property
    def shuffle_id(self) -> int:
        assert self.dependency is not None
        return self.dependency.shuffle_id


@dataclass(eq=False, slots=True)
class ResultStage(Stage):
    """Applies the job's function to the requested partitions of the final RDD."""

    func: Callable[[Iterator[Any]], Any] | None = None
    partitions: list[int] = field(default_factory=list)
