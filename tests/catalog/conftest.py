"""Catalog tests: real files and a real SQLite metastore in tmp dirs."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from catalog import Catalog  # noqa: E402


@pytest.fixture
def warehouse(tmp_path):
    return str(tmp_path / "wh")


@pytest.fixture
def cat(warehouse):
    c = Catalog.open(warehouse)
    yield c
    c.close()
