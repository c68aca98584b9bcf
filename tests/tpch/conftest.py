"""Shared TPC-H test data: SF 0.01 generated once per session with tpchgen-cli.

Real data, not fixtures on disk: the tests check the generator, the query text and the
validator against what users will actually run. SF 0.01 takes a couple of seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tpch.datadir import DataSet
from tpch.generate import GenOptions, generate

SF = 0.01


@pytest.fixture(scope="session")
def tbl_data(tmp_path_factory: pytest.TempPathFactory) -> DataSet:
    out = tmp_path_factory.mktemp("tpch") / "sf0.01-tbl"
    return generate(GenOptions(sf=SF, out=out, format="tbl"), show=False)


@pytest.fixture(scope="session")
def parquet_data(tmp_path_factory: pytest.TempPathFactory) -> DataSet:
    out = tmp_path_factory.mktemp("tpch") / "sf0.01-parquet"
    return generate(GenOptions(sf=SF, out=out, format="parquet", parts=2), show=False)


@pytest.fixture(scope="session")
def duck_answers(tbl_data: DataSet) -> dict:
    """DuckDB's answers to all 22 queries on the .tbl data."""
    from tpch import duck
    from tpch.queries import load_all

    con = duck.connect(tbl_data, materialize=True)
    try:
        return {q.number: duck.run(con, q) for q in load_all(sf=SF)}
    finally:
        con.close()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
