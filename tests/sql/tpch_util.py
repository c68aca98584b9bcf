"""TPC-H at a small scale for differential tests: generate once, register in both engines."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from planner.types import normalize_schema

TABLES = ("nation", "region", "part", "supplier", "partsupp", "customer", "orders", "lineitem")
QUERIES = Path(__file__).resolve().parents[2] / "tpch" / "queries"


def data_dir(scale: float) -> Path:
    root = Path(os.environ.get("LAMNA_TEST_DATA", "/tmp/lamna_test_data")) / f"sf{scale}"
    if not all((root / f"{t}.parquet").exists() for t in TABLES):
        root.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).with_name("tpchgen-cli")
        subprocess.run([str(exe), "parquet", "-s", str(scale), f"--output-dir={root}"], check=True,
                       capture_output=True)
    return root


def load_tables(scale: float) -> dict[str, pa.Table]:
    d = data_dir(scale)
    out = {}
    for t in TABLES:
        tab = pq.read_table(d / f"{t}.parquet")
        out[t] = tab.cast(normalize_schema(tab.schema))
    return out


def query_text(n: int, scale: float) -> str:
    """Query ``n`` as shipped, with its parameters for ``scale`` (Q11's FRACTION)."""
    from tpch.queries import substitute
    return substitute((QUERIES / f"q{n:02d}.sql").read_text(), scale)


def normalize_value(v):
    if isinstance(v, float):
        return round(v, 2)
    if isinstance(v, Decimal):
        return round(float(v), 2)
    return v
