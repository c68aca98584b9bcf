"""Fixtures for the shell tests: a small warehouse, and ``run`` for in-process shell runs."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SETUP = [
    "CREATE TABLE people (id INT, name STRING, age INT, score DOUBLE)",
    "INSERT INTO people VALUES (1, 'ann', 34, 1.5), (2, 'bob', NULL, 20.25), (3, NULL, 7, NULL)",
    "CREATE TABLE pets (owner INT, kind STRING)",
    "INSERT INTO pets VALUES (1, 'cat'), (1, 'dog'), (3, 'fish')",
]


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A warehouse with ``people`` and ``pets``, built once (read-only for the tests)."""
    import sql

    path = str(tmp_path_factory.mktemp("warehouse"))
    with sql.connect(warehouse=path) as conn:
        cur = conn.cursor()
        for stmt in SETUP:
            cur.execute(stmt)
    return path


@pytest.fixture(autouse=True)
def _quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's history or pages through their $PAGER."""
    monkeypatch.setenv("LAMNA_HISTORY", str(tmp_path / "history"))
    monkeypatch.setenv("PAGER", "")
    monkeypatch.delenv("LAMNA_WAREHOUSE", raising=False)


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, warehouse: str) -> Run:
    """``run(*argv, stdin=None, warehouse=…)`` → (exit status, stdout, stderr) of the shell."""
    from sql.shell import main

    def go(*argv: str, stdin: str | None = None, wh: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        status = main(["--warehouse", wh or warehouse, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    return go


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PAGER="")
    env.update(extra)
    env.pop("LAMNA_WAREHOUSE", None)
    return env
