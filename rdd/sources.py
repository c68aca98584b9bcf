"""RDDs that read data from outside lineage: collections, ranges, files, checkpoints."""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import os
import pickle
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from rdd.base import RDD, Partition
from rdd.dependency import Dependency
from rdd.storage import StorageLevel
from rdd.task_context import TaskContext

if TYPE_CHECKING:
    from rdd.context import Context

#: Largest byte range one text split covers (Hadoop's local block size).
MAX_TEXT_SPLIT = 32 << 20
_COMPRESSED = (".gz", ".bz2", ".zst", ".zstd")


@dataclass(frozen=True, slots=True)
class CollectionPartition(Partition):
    values: Sequence[Any]


class ParallelCollectionRDD(RDD):
    """A driver-side collection cut into slices; each slice ships only with its own task."""

    _driver_only = (*RDD._driver_only, "_slices")

    def __init__(self, ctx: Context, data: Sequence[Any], num_slices: int) -> None:
        super().__init__(ctx)
        if num_slices <= 0:
            raise ValueError(f"Positive number of partitions required, got numSlices={num_slices}")
        self._slices = _slice(data, num_slices)

    def _get_partitions(self) -> list[Partition]:
        return [CollectionPartition(i, values) for i, values in enumerate(self._slices)]

    def _get_dependencies(self) -> list[Dependency]:
        return []

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        assert isinstance(split, CollectionPartition)
        return iter(split.values)


def _slice(data: Sequence[Any], num_slices: int) -> list[Sequence[Any]]:
    """PySpark's slicing, so ``glom()`` matches it element for element.

    A ``range`` is cut at positions ``int(i * n / k)``. Any other collection is first
    grouped in batches of ``max(1, min(n // k, 1024))`` elements (PySpark's serializer
    batches) and the list of batches is cut at those positions: 11 elements in 3 slices
    give 3, 3 and 5.
    """
    if isinstance(data, range):
        n = len(data)
        return [data[int(i * n / num_slices) : int((i + 1) * n / num_slices)] for i in range(num_slices)]
    items = data if isinstance(data, list) else list(data)
    size = max(1, min(len(items) // num_slices, 1024))
    starts = list(range(0, len(items), size))
    count = len(starts)
    cuts = [starts[i * count // num_slices] if i * count // num_slices < count else len(items)
            for i in range(num_slices)] + [len(items)]
    return [items[cuts[i] : cuts[i + 1]] for i in range(num_slices)]


@dataclass(frozen=True, slots=True)
class FileRangePartition(Partition):
    path: str
    start: int
    end: int  # exclusive; -1 for a whole (compressed) file


def list_input_files(path: str) -> list[str]:
    """Files named by ``path``: a file, a directory's visible files, a glob, or a comma list."""
    files: list[str] = []
    for part in path.split(","):
        local = part[len("file://"):] if part.startswith("file://") else part
        local = local[len("file:"):] if local.startswith("file:") else local
        matches = sorted(glob.glob(local)) if glob.has_magic(local) else [local]
        if not matches or not all(os.path.exists(m) for m in matches):
            raise FileNotFoundError(f"Input path does not exist: {part}")
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, names in os.walk(match):
                    dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                    files.extend(
                        os.path.join(root, name)
                        for name in sorted(names)
                        if not name.startswith((".", "_"))
                    )
            else:
                files.append(match)
    return files


class TextFileRDD(RDD):
    """Lines of text files; large plain files are split into byte ranges on line ends.

    A range that does not start at 0 skips its first (partial) line and every range reads
    past its end to finish its last line, so each line is read exactly once (Hadoop's
    ``LineRecordReader`` rule). Compressed files are read whole, one partition each.
    """

    def __init__(self, ctx: Context, path: str, min_partitions: int) -> None:
        super().__init__(ctx)
        self.path = path
        self._files = list_input_files(path)
        self._min_partitions = max(1, min_partitions)

    def _get_partitions(self) -> list[Partition]:
        sizes = {f: os.path.getsize(f) for f in self._files}
        splittable = [f for f in self._files if not f.endswith(_COMPRESSED)]
        total = sum(sizes[f] for f in splittable)
        goal = max(1, min(MAX_TEXT_SPLIT, -(-total // self._min_partitions)))
        ranges: list[tuple[str, int, int]] = []
        for name in self._files:
            if name.endswith(_COMPRESSED):
                ranges.append((name, 0, -1))
                continue
            size = sizes[name]
            if size == 0:
                ranges.append((name, 0, 0))
            for start in range(0, size, goal):
                ranges.append((name, start, min(size, start + goal)))
        return [FileRangePartition(i, *r) for i, r in enumerate(ranges)]

    def _get_dependencies(self) -> list[Dependency]:
        return []

    def compute(self, split: Partition, context: TaskContext) -> Iterator[str]:
        assert isinstance(split, FileRangePartition)
        if split.end < 0:
            return _compressed_lines(split.path)
        return iter(read_line_range(split.path, split.start, split.end))


_TERMINATOR = re.compile(rb"\r\n|\r|\n")


def _read_through_terminator(source: io.BufferedReader) -> bytes:
    """Bytes up to and including the next line terminator (``\r\n``, ``\r`` or ``\n``)."""
    collected = b""
    while chunk := source.read(1 << 16):
        match = _TERMINATOR.search(chunk)
        if match is None:
            collected += chunk
            continue
        end = match.end()
        if match.group() == b"\r" and end == len(chunk):
            following = source.read(1)
            return collected + chunk + (following if following == b"\n" else b"")
        return collected + chunk[:end]
    return collected


def split_lines(data: bytes) -> list[str]:
    """Lines of ``data`` split on ``\n``, ``\r\n`` or a lone ``\r``, as Hadoop's reader."""
    if not data:
        return []
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n") if "\r" not in text else re.split("\r\n|\r|\n", text)
    if text.endswith(("\n", "\r")):
        lines.pop()
    return lines


def read_line_range(path: str, start: int, end: int) -> list[str]:
    """The lines that begin in ``[start, end]`` (a line beginning exactly at ``end`` too).

    A range not starting at 0 skips through its first terminator (that line belongs to
    the previous range), and every range reads past ``end`` through the next terminator.
    """
    if end <= start and start > 0:
        return []
    with open(path, "rb") as source:
        source.seek(start)
        data = source.read(end - start)
        if end > start:
            data += _read_through_terminator(source)
    if start > 0:
        match = _TERMINATOR.search(data)
        data = b"" if match is None else data[match.end() :]
    return split_lines(data)


def _open_compressed(path: str) -> io.BufferedIOBase:
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    return pa.CompressedInputStream(pa.OSFile(path, "rb"), "zstd")


def _compressed_lines(path: str) -> Iterator[str]:
    with _open_compressed(path) as raw:
        return iter(split_lines(raw.read()))


@dataclass(frozen=True, slots=True)
class FileGroupPartition(Partition):
    paths: tuple[str, ...]


class WholeTextFilesRDD(RDD):
    """``(file:path, content)`` for each file, files grouped into partitions."""

    def __init__(self, ctx: Context, path: str, min_partitions: int) -> None:
        super().__init__(ctx)
        self._files = list_input_files(path)
        self._min_partitions = max(1, min_partitions)

    def _get_partitions(self) -> list[Partition]:
        count = max(1, min(self._min_partitions, len(self._files)))
        groups = _slice(self._files, count)
        return [FileGroupPartition(i, tuple(g)) for i, g in enumerate(groups)]

    def _get_dependencies(self) -> list[Dependency]:
        return []

    def compute(self, split: Partition, context: TaskContext) -> Iterator[tuple[str, str]]:
        assert isinstance(split, FileGroupPartition)
        for path in split.paths:
            if path.endswith(_COMPRESSED):
                with _open_compressed(path) as raw:
                    data = raw.read()
            else:
                with open(path, "rb") as source:
                    data = source.read()
            yield "file:" + os.path.abspath(path), data.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class PickleFilePartition(Partition):
    paths: tuple[str, ...]


class PickleFileRDD(RDD):
    """Reads what ``saveAsPickleFile`` wrote: each part file a sequence of pickled batches."""

    def __init__(self, ctx: Context, path: str, min_partitions: int) -> None:
        super().__init__(ctx)
        self._files = list_input_files(path)
        self._min_partitions = max(1, min_partitions)

    def _get_partitions(self) -> list[Partition]:
        return [PickleFilePartition(i, (f,)) for i, f in enumerate(self._files)]

    def _get_dependencies(self) -> list[Dependency]:
        return []

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        assert isinstance(split, PickleFilePartition)
        for path in split.paths:
            with open(path, "rb") as source:
                while True:
                    try:
                        batch = pickle.load(source)
                    except EOFError:
                        break
                    yield from batch


class CheckpointedRDD(RDD):
    """What a checkpointed RDD becomes inside a task: its files, and no lineage."""

    @staticmethod
    def _restore(rdd_id: int, files: list[str], partitioner: Any) -> CheckpointedRDD:
        restored = CheckpointedRDD.__new__(CheckpointedRDD)
        restored.__dict__.update(
            _id=rdd_id,
            _checkpoint_files=files,
            partitioner=partitioner,
            storage_level=StorageLevel.NONE,
            callsite="checkpoint",
            _name=None,
        )
        return restored

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        raise AssertionError("a checkpointed RDD is read through iterator()")


class EmptyRDD(RDD):
    def _get_partitions(self) -> list[Partition]:
        return []

    def _get_dependencies(self) -> list[Dependency]:
        return []

    def compute(self, split: Partition, context: TaskContext) -> Iterator[Any]:
        return iter(())
