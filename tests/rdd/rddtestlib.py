"""Helpers shared by the rdd tests (no fixtures here; see conftest.py).

Everything in this module is pickled *by value* (conftest registers it with cloudpickle),
so functions built here can run inside worker processes of ``local-cluster[N]`` even
though those processes cannot import the tests directory.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# -- file-based counters: work across threads and worker processes -----------------------


class CallLog:
    """Append-only log file; each call appends one short line (atomic with O_APPEND)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)

    def hit(self, tag: object = "x") -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{tag}\n")

    def lines(self) -> list[str]:
        try:
            with open(self.path, encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f]
        except FileNotFoundError:
            return []

    def count(self, tag: object = None) -> int:
        lines = self.lines()
        if tag is None:
            return len(lines)
        return sum(1 for line in lines if line == str(tag))

    def clear(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def counting_partitions(log_path: str):
    """A mapPartitionsWithIndex function that logs the partition index, then passes rows."""

    def f(index, iterator):
        CallLog(log_path).hit(index)
        yield from iterator

    return f


def first_time(marker_path: str) -> bool:
    """True exactly once per marker path, across threads and processes."""
    try:
        fd = os.open(marker_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


# -- lineage and shuffle files --------------------------------------------------------------


def debug_text(rdd) -> str:
    s = rdd.toDebugString()
    if isinstance(s, bytes):
        s = s.decode("utf-8")
    return s


def shuffle_boundaries(text: str) -> int:
    return sum(1 for line in text.splitlines() if "+-" in line)


def shuffle_files(ctx) -> list[str]:
    local_dir = getattr(ctx, "local_dir", None)
    assert local_dir, "hook missing: Context.local_dir (directory holding shuffle files)"
    return sorted(
        p for p in glob.glob(os.path.join(str(local_dir), "**", "shuffle_*"), recursive=True)
        if os.path.isfile(p)
    )


# -- reference implementations ----------------------------------------------------------------


def slices(data, n: int) -> list[list]:
    """What PySpark's ``sc.parallelize(data, n).glom().collect()`` returns.

    A ``range`` is cut element-wise at Spark's ParallelCollectionRDD positions
    ``[i*len/n, (i+1)*len/n)``. Any other collection is first grouped into batches of
    ``max(1, min(len // n, 1024))`` elements (PySpark's serializer batches) and the list of
    batches is cut at those positions, so e.g. 11 elements in 3 slices give 3/3/5.
    """
    def cut(seq):
        length = len(seq)
        return [seq[(i * length) // n: ((i + 1) * length) // n] for i in range(n)]

    if isinstance(data, range):
        return [list(part) for part in cut(data)]
    data = list(data)
    size = max(1, min(len(data) // n, 1024))
    batches = [data[i:i + size] for i in range(0, len(data), size)]
    return [[x for batch in part for x in batch] for part in cut(batches)]


def hadoop_lines(text: str) -> list[str]:
    """Lines as Hadoop's LineReader yields them (LF or CRLF terminators, final line kept)."""
    if text == "":
        return []
    parts = re.split(r"\r\n|\n", text)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def ref_join(left, right, how="inner"):
    out = []
    rkeys = {}
    for k, w in right:
        rkeys.setdefault(k, []).append(w)
    lkeys = {}
    for k, v in left:
        lkeys.setdefault(k, []).append(v)
    for k, vs in lkeys.items():
        ws = rkeys.get(k)
        if ws:
            out.extend((k, (v, w)) for v in vs for w in ws)
        elif how in ("left", "full"):
            out.extend((k, (v, None)) for v in vs)
    if how in ("right", "full"):
        for k, ws in rkeys.items():
            if k not in lkeys:
                out.extend((k, (None, w)) for w in ws)
    return out


def sort_key(x):
    """A total order over mixes of None, numbers, strings and tuples of them."""
    if x is None:
        return (0,)
    if isinstance(x, tuple):
        return (3, tuple(sort_key(i) for i in x))
    if isinstance(x, (int, float)):
        return (1, x)
    return (2, str(x))


def canon(rows):
    return sorted(rows, key=sort_key)


# -- subprocesses -------------------------------------------------------------------------------


def run_python(code: str, hashseed: str) -> str:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = hashseed
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout
