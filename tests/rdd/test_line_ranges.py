"""Byte-range text splits read every line exactly once, for every split size.

Seeded random files mix ``\\n``, ``\\r\\n`` and lone ``\\r`` terminators, empty lines and a
missing final terminator; cutting each file at every step size must give the same lines
as splitting the whole text (Hadoop's ``LineRecordReader`` contract).
"""

from __future__ import annotations

import random
import re

import pytest

from rdd.sources import read_line_range


def _expected(text: str) -> list[str]:
    if not text:
        return []
    lines = re.split("\r\n|\r|\n", text)
    if text.endswith(("\n", "\r")):
        lines.pop()
    return lines


@pytest.mark.parametrize("seed", range(40))
def test_every_split_size_reads_each_line_once(tmp_path, seed):
    rng = random.Random(seed)
    text = "".join(
        "é" * rng.randint(0, 3) + "x" * rng.randint(0, 6) + rng.choice(["\n", "\r\n", "\r"])
        for _ in range(rng.randint(0, 30))
    ) + ("last" if rng.random() < 0.5 else "")
    path = tmp_path / "lines.txt"
    path.write_bytes(text.encode())
    size = path.stat().st_size
    for step in range(1, size + 2):
        lines = []
        for start in range(0, size, step):
            lines += read_line_range(str(path), start, min(size, start + step))
        assert lines == _expected(text), f"split size {step}"
