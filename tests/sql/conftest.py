"""Shared fixtures: one Lamna connection and one DuckDB connection over the same Arrow tables."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from diff_tables import TABLES  # the tables both engines read

import sql


@pytest.fixture(scope="session")
def lamna() -> Any:
    conn = sql.connect(**{"spark.sql.shuffle.partitions": "3"})
    for name, table in TABLES.items():
        # several splits per table so that shuffles and partial aggregation really run
        conn.session.register_arrow(name, table, rows_per_split=max(1, table.num_rows // 3))
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def duck() -> Any:
    con = duckdb.connect()
    for name, table in TABLES.items():
        con.register(name, table)
    yield con
    con.close()




@pytest.fixture(scope="session")
def lamna_shuffle() -> Any:
    """Every join shuffled (no broadcasts), no map-side aggregation: the other physical paths."""
    conn = sql.connect(**{"spark.sql.shuffle.partitions": "2", "lamna.broadcast.threshold": "0",
                          "hive.map.aggr": "false"})
    for name, table in TABLES.items():
        conn.session.register_arrow(name, table, rows_per_split=max(1, table.num_rows // 4))
    yield conn
    conn.close()
