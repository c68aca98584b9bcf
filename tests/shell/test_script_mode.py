"""Non-interactive runs: -e, -f, standard input, exit status, errors with a caret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.shell.conftest import ROOT, Run, subprocess_env

PEOPLE = """\
┌────┬──────┬──────┬───────┐
│ id │ name │ age  │ score │
├────┼──────┼──────┼───────┤
│  1 │ ann  │   34 │   1.5 │
│  2 │ bob  │ NULL │ 20.25 │
│  3 │ NULL │    7 │  NULL │
└────┴──────┴──────┴───────┘
(3 rows)
"""


def test_execute_prints_an_aligned_table_with_nulls_and_right_aligned_numbers(run: Run) -> None:
    status, out, err = run("-e", "SELECT * FROM people ORDER BY id")
    assert (status, out, err) == (0, PEOPLE, "")


def test_execute_runs_every_statement_in_order(run: Run) -> None:
    status, out, _ = run("-e", "select 1 as a; select 'x' as b;", "--format", "csv")
    assert (status, out) == (0, "a\n1\nb\nx\n")


def test_repeated_execute_options_run_in_order(run: Run) -> None:
    status, out, _ = run("-e", "select 1 as a", "-e", "select 2 as a", "--format", "csv", "--no-header")
    assert (status, out) == (0, "1\n2\n")


def test_file_runs_a_script_with_comments_and_multi_line_statements(run: Run, tmp_path: Path) -> None:
    script = tmp_path / "q.sql"
    script.write_text("-- people by age\nSELECT name,\n       age\n  FROM people\n WHERE age > 10; /* done */\n")
    status, out, _ = run("-f", str(script), "--format", "tsv")
    assert (status, out) == (0, "name\tage\nann\t34\n")


def test_standard_input_is_a_script_when_not_a_terminal(run: Run) -> None:
    status, out, _ = run("--format", "csv", stdin="select count(*) as n from people;\nselect 'a;b' as s;\n")
    assert (status, out) == (0, "n\n3\ns\na;b\n")


def test_statement_without_final_semicolon_still_runs(run: Run) -> None:
    assert run("--format", "csv", "--no-header", stdin="select 42")[:2] == (0, "42\n")


def test_first_error_stops_a_script_with_status_1(run: Run, tmp_path: Path) -> None:
    script = tmp_path / "bad.sql"
    script.write_text("select 1 as one;\n\nselect id,\n       zzz\n  from people;\nselect 2 as two;\n")
    status, out, err = run("-f", str(script), "--format", "csv")
    assert status == 1
    assert out == "one\n1\n"  # the statement after the error did not run
    assert err == (
        f"{script}:4: Error: Column 'zzz' cannot be resolved\n"
        "LINE 2:        zzz\n"
        "               ^\n")


def test_continue_on_error_runs_the_rest_and_still_fails(run: Run) -> None:
    status, out, err = run("--continue-on-error", "--format", "csv", "-e", "select zzz from people; select 2 as two")
    assert status == 1
    assert out == "two\n2\n"
    assert err.startswith("Error: Column 'zzz' cannot be resolved\nLINE 1: select zzz from people\n")


def test_syntax_error_shows_the_line_and_a_caret(run: Run) -> None:
    status, _, err = run("-e", "select * from\npeople where")
    assert status == 1
    lines = err.splitlines()
    assert lines[0].startswith("Error: syntax error")
    assert lines[1] == "LINE 2: people where"
    assert lines[2].endswith("^") and lines[2].strip() == "^"


def test_unknown_table_error_has_position_and_no_traceback(run: Run) -> None:
    status, _, err = run("-e", "select * from nosuch")
    assert status == 1
    assert err == "Error: Table or view not found: nosuch\nLINE 1: select * from nosuch\n                      ^\n"
    assert "Traceback" not in err


def test_long_error_lines_are_cut_around_the_caret(run: Run) -> None:
    cols = ", ".join(f"id as c{i}" for i in range(40))
    _, _, err = run("-e", f"select {cols}, zzz from people")
    line, caret = err.splitlines()[1:3]
    assert line.startswith("LINE 1: ...") and len(line) < 130
    assert line[caret.index("^"):].startswith("zzz")


def test_status_lines_for_statements_without_rows(tmp_path: Path, run: Run) -> None:
    status, out, _ = run("-e", "create table t (a int); insert into t values (1), (2)", wh=str(tmp_path))
    assert (status, out) == (0, "OK\nOK, 2 rows affected\n")


def test_quiet_drops_status_lines_and_row_counts(tmp_path: Path, run: Run) -> None:
    status, out, _ = run("-q", "-e", "create table t (a int); select 1 as x", wh=str(tmp_path))
    assert status == 0
    assert "OK" not in out and "row" not in out and "│ x │" in out


def test_missing_script_file_is_an_error(run: Run, tmp_path: Path) -> None:
    status, _, err = run("-f", str(tmp_path / "missing.sql"))
    assert status == 1 and err.startswith("Error: cannot read")


def test_bad_option_is_a_usage_error(run: Run) -> None:
    status, _, err = run("--format", "xml", "-e", "select 1")
    assert status == 2 and "invalid choice" in err


def test_bad_variable_definition_is_a_usage_error(run: Run) -> None:
    status, _, err = run("-d", "novalue", "-e", "select 1")
    assert status == 2 and "NAME=VALUE" in err


def test_init_file_runs_before_the_statements(run: Run, tmp_path: Path) -> None:
    init = tmp_path / "init.sql"
    init.write_text("set hivevar:who=ann;\n\\format csv\n")
    status, out, _ = run("-i", str(init), "-e", "select age from people where name = '${who}'")
    assert (status, out) == (0, "age\n34\n")


def test_lamna_command_dispatches_to_the_shell(warehouse: str, tmp_path: Path) -> None:
    """``lamna -e`` and ``lamna shell -e`` (through cli/main.py) reach this shell."""
    for argv in (["-e"], ["shell", "-e"]):
        proc = subprocess.run(
            [sys.executable, "-m", "cli.main", *argv, "select count(*) as n from people", "--warehouse", warehouse,
             "--format", "csv"],
            cwd=ROOT, env=subprocess_env(LAMNA_HISTORY=str(tmp_path / "h")), capture_output=True, text=True,
            timeout=120)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "n\n3\n", "")


def test_script_exit_status_through_the_command(warehouse: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "--warehouse", warehouse, "-e", "select zzz from people"],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: Column 'zzz' cannot be resolved")


def test_importing_the_shell_loads_neither_engine_nor_prompt_toolkit() -> None:
    """Start-up cost: the engine loads in the background, prompt_toolkit only at the prompt."""
    code = ("import sys, sql.shell, sql.shell.app; "
            "print(sorted(m for m in ('sql.session', 'planner.optimizer', 'prompt_toolkit', 'psycopg') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=subprocess_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == "[]"


def test_hive_cli_quit_exit_and_source(run: Run, tmp_path: Path) -> None:
    inner = tmp_path / "inner.sql"
    inner.write_text("select 'sourced' as s;")
    out = run("--format", "csv", "--no-header", stdin=f"source {inner};\nselect 1;\nquit;\nselect 2;\n")[1]
    assert out == "sourced\n1\n"
    assert run("--format", "csv", "--no-header", stdin="select 1; EXIT; select 2;")[1] == "1\n"


def test_closed_pipe_ends_quietly(warehouse: str) -> None:
    """``lamna -e … | head -1``: no traceback when the reader goes away."""
    sql_text = "select a.id, b.id, c.id, d.id, e.id from people a, people b, people c, people d, people e"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "--warehouse", warehouse, "--format", "csv", "-e", sql_text,
         "-e", sql_text, "-e", sql_text, "-e", sql_text, "-e", sql_text],
        cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"id,id,id,id,id\n"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(120)
    assert "Traceback" not in err and err == ""
