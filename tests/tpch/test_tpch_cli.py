"""The command line: subcommands registered, errors on one line without traceback."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tpch import cli
from tpch.datadir import DataSet


def _run(args: list[str], repo_root: Path, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=str(repo_root), **env)
    return subprocess.run(
        [sys.executable, "-m", "tpch", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=repo_root,
        timeout=300,
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["gen", "--sf", "abc"], "scale factor"),
        (["gen", "--sf", "0"], "scale factor"),
        (["gen", "--sf", "1", "--format", "csv"], "--format"),
        (["gen", "--parts", "x"], "--parts"),
        (["load", "--sf", "0.01", "--data", "/nonexistent/tpch"], "lamna tpch gen"),
        (["load", "--sf", "0.01", "--as", "orc", "--data", "/nonexistent"], "--as"),
        (["run", "--queries", "1,30"], "query 30"),
        (["run", "--runs", "0"], "--runs"),
        (["run", "--mode", "fast"], "--mode"),
        (["bench", "--compare", "oracle"], "oracle"),
        (["gen", "--no-such-option"], "unrecognized"),
    ],
)
def test_errors_are_one_line(args: list[str], words: str, repo_root: Path, tmp_path: Path) -> None:
    proc = _run(args, repo_root, LAMNA_TPCH_DATA=str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert words in lines[0]
    assert lines[0].startswith("lamna tpch")


def test_gen_via_cli(repo_root: Path, tmp_path: Path) -> None:
    proc = _run(
        ["gen", "--sf", "0.01", "--format", "parquet", "--out", str(tmp_path / "d")], repo_root
    )
    assert proc.returncode == 0, proc.stderr
    assert "generated SF 0.01 as .parquet" in proc.stdout
    assert (tmp_path / "d" / "lineitem" / "lineitem.1.parquet").is_file()
    # progress goes to stderr, never stdout
    assert "gen SF 0.01" in proc.stderr


def test_add_subcommands_registers_all() -> None:
    parser = argparse.ArgumentParser(prog="lamna")
    top = parser.add_subparsers(dest="cmd")
    tp = top.add_parser("tpch")
    cli.add_subcommands(tp.add_subparsers(dest="tpch_cmd"))
    for name in ("gen", "load", "run", "bench", "quickstart"):
        args = parser.parse_args(["tpch", name])
        assert callable(args.func)


def test_run_on_a_missing_database_is_one_line(repo_root: Path, tbl_data: DataSet) -> None:
    """`run` before `load`: one line that says to load first."""
    warehouse = tbl_data.root.parent / "empty-warehouse"
    proc = _run(
        ["run", "--sf", "0.01", "--data", str(tbl_data.root), "--warehouse", str(warehouse)],
        repo_root,
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (1, 2), proc.stderr
    if proc.returncode == 2:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "lamna tpch load" in proc.stderr


def test_quickstart_and_run_on_lamna(
    tbl_data: DataSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    results = tmp_path / "results"
    code = cli.main(
        [
            "quickstart",
            "--data",
            str(tbl_data.root),
            "--warehouse",
            str(tmp_path / "w"),
            "--results",
            str(results),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count(" ok") == 22
    assert "22/22 valid" in out
    assert f"report: {results / 'report.md'}" in out
    assert (results / "report.json").is_file()

    code = cli.main(
        [
            "run",
            "--sf",
            "0.01",
            "--data",
            str(tbl_data.root),
            "--warehouse",
            str(tmp_path / "w"),
            "--queries",
            "1,5-6",
            "--runs",
            "2",
            "--validate",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert [line.split()[0] for line in out.splitlines()[2:5]] == ["q01", "q05", "q06"]
    assert "3/3 valid" in out


def test_an_internal_error_is_one_line_unless_debug(capsys: pytest.CaptureFixture[str]) -> None:
    """A bug or an engine's own exception (not a TpchError) still reaches the user as
    one line; --debug shows the traceback."""

    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("engine exploded\nsecond line")

    handler = cli.guarded(broken)
    assert handler(argparse.Namespace(debug=False)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["lamna tpch: internal error: RuntimeError: engine exploded (rerun with --debug for the traceback)"]
    with pytest.raises(RuntimeError):
        handler(argparse.Namespace(debug=True))
