"""The differential tests' tables, built once from a fixed seed: t (200 rows, NULLs in
every column), u (60 rows), s3 (5 rows, duplicate keys), e (empty), nn (a NULL key).

A module of its own (not conftest) so that a test can import the same data by a name no
other directory's conftest shadows."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pyarrow as pa


def build_tables() -> dict[str, pa.Table]:
    rnd = random.Random(7)
    n = 200
    t = {
        "id": pa.array(list(range(n)), pa.int64()),
        "k": pa.array([rnd.choice([1, 2, 3, 4, None]) for _ in range(n)], pa.int32()),
        "g": pa.array([rnd.choice(["a", "b", "c", None]) for _ in range(n)], pa.string()),
        "x": pa.array([rnd.choice([None, rnd.randint(-50, 50)]) for _ in range(n)], pa.int64()),
        "y": pa.array([None if rnd.random() < 0.1 else round(rnd.uniform(-10, 10), 3) for _ in range(n)], pa.float64()),
        "d": pa.array([None if rnd.random() < 0.1 else Decimal(rnd.randint(-100000, 100000)) / 100 for _ in range(n)],
                      pa.decimal128(12, 2)),
        "dt": pa.array([None if rnd.random() < 0.1 else dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randint(0, 1000))
                        for _ in range(n)], pa.date32()),
        "s": pa.array([None if rnd.random() < 0.1 else rnd.choice(["apple", "banana", "cherry", "date", "Elder", "fig tree", ""])
                       for _ in range(n)], pa.string()),
        "b": pa.array([rnd.choice([True, False, None]) for _ in range(n)], pa.bool_()),
    }
    m = 60
    u = {
        "k": pa.array([rnd.choice([1, 2, 3, 5, None]) for _ in range(m)], pa.int32()),
        "g": pa.array([rnd.choice(["a", "b", "d", None]) for _ in range(m)], pa.string()),
        "v": pa.array([rnd.choice([None, rnd.randint(0, 20)]) for _ in range(m)], pa.int64()),
        "w": pa.array([Decimal(rnd.randint(0, 10000)) / 100 for _ in range(m)], pa.decimal128(10, 2)),
    }
    small = {
        "k": pa.array([1, 2, 2, None, 5], pa.int32()),
        "name": pa.array(["one", "two", "two-bis", "none", "five"], pa.string()),
    }
    return {
        "t": pa.table(t),
        "u": pa.table(u),
        "s3": pa.table(small),
        "e": pa.table({"k": pa.array([], pa.int32()), "v": pa.array([], pa.int64())}),
        "nn": pa.table({"k": pa.array([1, 2, None], pa.int32())}),
    }


TABLES = build_tables()
