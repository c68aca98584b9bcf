"""Writing an RDD to files atomically: all part files appear, or none.

Each task writes its part into a staging directory beside the target under an
attempt-specific name and renames it to ``part-NNNNN`` there; when the job succeeds the
driver writes ``_SUCCESS`` and renames the whole staging directory into place. A job
that fails leaves no target directory, and its staging directory is removed.
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from rdd.task_context import TaskContext

if TYPE_CHECKING:
    from rdd.base import RDD


def _target_path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path.removeprefix("file:")


def save_atomically(rdd: RDD, path: str, write_part: Callable[[BinaryIO, Iterator[Any]], None],
                    suffix: str = "") -> None:
    target = _target_path(path)
    if os.path.exists(target):
        raise FileExistsError(f"Output directory {path} already exists")
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, f".{os.path.basename(target)}.staging-{uuid.uuid4().hex}")
    os.makedirs(staging)
    try:
        rdd.ctx._run_job(rdd, lambda it: _write_part(staging, suffix, write_part, it))
        for leftover in os.listdir(staging):
            if ".attempt-" in leftover:  # a failed or killed attempt's partial part file
                os.unlink(os.path.join(staging, leftover))
        open(os.path.join(staging, "_SUCCESS"), "wb").close()
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_part(staging: str, suffix: str, write_part: Callable[[BinaryIO, Iterator[Any]], None],
                iterator: Iterator[Any]) -> str:
    context = TaskContext.get()
    assert context is not None
    name = f"part-{context.partitionId():05d}{suffix}"
    attempt_path = os.path.join(staging, f".{name}.attempt-{context.taskAttemptId()}")
    opener = gzip.open if suffix.endswith(".gz") else open
    try:
        with opener(attempt_path, "wb") as sink:
            write_part(sink, iterator)
    except BaseException:
        if os.path.exists(attempt_path):
            os.unlink(attempt_path)
        raise
    os.replace(attempt_path, os.path.join(staging, name))
    return name


def write_text(sink: BinaryIO, iterator: Iterator[Any]) -> None:
    for element in iterator:
        if isinstance(element, (bytes, bytearray)):
            sink.write(element)
        else:
            sink.write(str(element).encode("utf-8"))
        sink.write(b"\n")


def pickle_writer(batch_size: int) -> Callable[[BinaryIO, Iterator[Any]], None]:
    def write(sink: BinaryIO, iterator: Iterator[Any]) -> None:
        batch: list[Any] = []
        for element in iterator:
            batch.append(element)
            if len(batch) >= batch_size:
                pickle.dump(batch, sink, protocol=pickle.HIGHEST_PROTOCOL)
                batch = []
        if batch:
            pickle.dump(batch, sink, protocol=pickle.HIGHEST_PROTOCOL)

    return write
