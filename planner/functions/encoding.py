"""Hashing and encoding functions."""

from __future__ import annotations

import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import Value


def _hash(*args: Value) -> Value:
    from pyarrow import compute as _pc
    out = None
    for a in args:
        h = pc.cast(_pc.hash64(a) if hasattr(_pc, "hash64") else pc.cast(a, T.INT64), T.INT64)
        out = h if out is None else pc.add(pc.multiply(out, 31), h)
    return pc.cast(out, T.INT32)
