"""Generation: the eight tables, the expected row counts, one directory per table."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tpch.datadir import DataSet, open_dataset
from tpch.errors import TpchError
from tpch.generate import GenOptions, generate
from tpch.schema import TABLE_NAMES, TABLES, table

# dbgen's row counts at SF 0.01 (lineitem depends on the random 1-7 lines per order).
EXPECTED = {
    "region": 5,
    "nation": 25,
    "supplier": 100,
    "customer": 1_500,
    "part": 2_000,
    "partsupp": 8_000,
    "orders": 15_000,
    "lineitem": 60_175,
}


def _tbl_rows(ds: DataSet, name: str) -> int:
    return sum(sum(1 for _ in f.open("rb")) for f in ds.files(name))


def test_eight_tables_with_expected_row_counts(tbl_data: DataSet) -> None:
    assert sorted(
        p.name for p in tbl_data.root.iterdir() if p.is_dir() and not p.name.startswith(".")
    ) == sorted(TABLE_NAMES)
    for name, rows in EXPECTED.items():
        assert _tbl_rows(tbl_data, name) == rows, name


def test_expected_rows_formula_matches_generator() -> None:
    for t in TABLES:
        if t.name != "lineitem":
            assert t.expected_rows(0.01) == EXPECTED[t.name]
    assert (
        abs(table("lineitem").expected_rows(0.01) - EXPECTED["lineitem"])
        < 0.01 * EXPECTED["lineitem"]
    )


def test_tbl_lines_end_with_trailing_delimiter(tbl_data: DataSet) -> None:
    for t in TABLES:
        line = tbl_data.files(t.name)[0].open().readline().rstrip("\n")
        assert line.endswith("|")
        assert line.count("|") == len(t.columns)


def test_parquet_parts_and_row_counts(parquet_data: DataSet) -> None:
    assert len(parquet_data.files("lineitem")) == 2
    for name, rows in EXPECTED.items():
        got = sum(pq.read_metadata(f).num_rows for f in parquet_data.files(name))
        assert got == rows, name


def test_parquet_types_match_schema(parquet_data: DataSet) -> None:
    """tpchgen-cli's Parquet types agree with our DDL types, so CTAS keeps them."""
    import pyarrow as pa

    expect = {"BIGINT": pa.int64(), "INT": pa.int32(), "DATE": pa.date32()}
    for t in TABLES:
        schema = pq.read_schema(parquet_data.files(t.name)[0])
        assert schema.names == list(t.column_names)
        for c in t.columns:
            got = schema.field(c.name).type
            if c.type in expect:
                assert got == expect[c.type], c.name
            elif c.type.startswith("DECIMAL"):
                assert got == pa.decimal128(15, 2), c.name
            else:
                assert pa.types.is_string(got) or pa.types.is_string_view(got), c.name


def test_manifest_and_reuse(tbl_data: DataSet) -> None:
    body = json.loads((tbl_data.root / "tpch.json").read_text())
    assert body == {"sf": 0.01, "format": "tbl", "parts": 1}
    before = tbl_data.files("lineitem")[0].stat().st_mtime_ns
    again = generate(GenOptions(sf=0.01, out=tbl_data.root), show=False)
    assert again == tbl_data
    assert tbl_data.files("lineitem")[0].stat().st_mtime_ns == before
    assert open_dataset(tbl_data.root) == tbl_data


def test_different_data_in_out_dir_needs_overwrite(tbl_data: DataSet) -> None:
    with pytest.raises(TpchError, match="--overwrite"):
        generate(GenOptions(sf=0.02, out=tbl_data.root), show=False)


@pytest.mark.parametrize("sf", [0.0, -1.0, float("nan")])
def test_bad_scale_factor(tmp_path: Path, sf: float) -> None:
    with pytest.raises(TpchError, match="scale factor"):
        generate(GenOptions(sf=sf, out=tmp_path / "x"), show=False)


def test_bad_format_and_parts(tmp_path: Path) -> None:
    with pytest.raises(TpchError, match="--format"):
        generate(GenOptions(sf=0.01, out=tmp_path / "x", format="csv"), show=False)
    with pytest.raises(TpchError, match="--parts"):
        generate(GenOptions(sf=0.01, out=tmp_path / "x", parts=0), show=False)


def test_out_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(TpchError, match="not a directory"):
        generate(GenOptions(sf=0.01, out=f), show=False)


def test_open_dataset_errors(tmp_path: Path, tbl_data: DataSet) -> None:
    with pytest.raises(TpchError, match="lamna tpch gen"):
        open_dataset(tmp_path / "missing")
    with pytest.raises(TpchError, match="does not look like"):
        open_dataset(tmp_path)
    with pytest.raises(TpchError, match="scale factor 0.01, not 1"):
        open_dataset(tbl_data.root, sf=1.0)
    with pytest.raises(TpchError, match="not .parquet"):
        open_dataset(tbl_data.root, fmt="parquet")
