"""The 22 queries on the real engine through sql.connect, validated at SF 0.01, from
external .tbl tables, from managed Parquet and cached (every table in the columnar
cache, issue 6).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tpch.datadir import DataSet
from tpch.engines import LamnaEngine
from tpch.load import load
from tpch.queries import ALL
from tpch.reference import Reference
from tpch.runner import run_queries

@pytest.mark.parametrize("how", ["external-tbl", "parquet", "cached"])
def test_all_22_validate_on_lamna(tbl_data: DataSet, tmp_path: Path, how: str) -> None:
    loaded = load(tbl_data, how, warehouse=tmp_path / "warehouse", show=False)
    engine = LamnaEngine(
        loaded.database, tmp_path / "warehouse", "cached" if how == "cached" else "files"
    )
    engine.prepare()
    ref = Reference(tbl_data)
    try:
        results = run_queries(engine, ALL, runs=1, warmup=0, reference=ref.answer, show=False, sf=tbl_data.sf)
    finally:
        engine.close()
        ref.close()
    bad = [f"{r.name}: {r.status}: {r.detail}" for r in results if r.status != "ok"]
    assert not bad, "\n".join(bad)
