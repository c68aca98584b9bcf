"""Every output option and Hive variables, run through the shell's command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shell.conftest import Run

Q = "SELECT id, name, score FROM people ORDER BY id"


@pytest.mark.parametrize("fmt, expected", [
    ("csv", "id,name,score\n1,ann,1.5\n2,bob,20.25\n3,,\n"),
    ("tsv", "id\tname\tscore\n1\tann\t1.5\n2\tbob\t20.25\n3\tNULL\tNULL\n"),
    ("json", '[\n{"id":1,"name":"ann","score":1.5},\n{"id":2,"name":"bob","score":20.25},\n'
             '{"id":3,"name":null,"score":null}\n]\n'),
    ("markdown", "| id  | name | score |\n|----:|------|------:|\n|   1 | ann  |   1.5 |\n"
                 "|   2 | bob  | 20.25 |\n|   3 | NULL |  NULL |\n"),
    ("vertical", "-[ RECORD 1 ]-\nid    | 1\nname  | ann\nscore | 1.5\n"
                 "-[ RECORD 2 ]-\nid    | 2\nname  | bob\nscore | 20.25\n"
                 "-[ RECORD 3 ]-\nid    | 3\nname  | NULL\nscore | NULL\n(3 rows)\n"),
])
def test_formats(run: Run, fmt: str, expected: str) -> None:
    assert run("--format", fmt, "-e", Q)[:2] == (0, expected)


def test_no_header(run: Run) -> None:
    assert run("--format", "csv", "--no-header", "-e", Q)[1] == "1,ann,1.5\n2,bob,20.25\n3,,\n"
    table = run("--no-header", "-e", "select 1 as one")[1]
    assert "one" not in table and "│ 1 │" in table


def test_types_line_under_the_header(run: Run) -> None:
    out = run("--types", "-e", Q + " LIMIT 1")[1]
    assert out.splitlines()[1:3] == ["│ id  │ name   │ score  │", "│ int │ string │ double │"]


def test_vertical_flag(run: Run) -> None:
    assert run("-x", "-e", "select 1 as a, 'b' as bee")[1] == "-[ RECORD 1 ]-\na   | 1\nbee | b\n(1 row)\n"


def test_ascii_borders(run: Run) -> None:
    assert run("--ascii", "-e", "select 1 as a")[1] == "+---+\n| a |\n+---+\n| 1 |\n+---+\n(1 row)\n"


def test_output_file(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    status, out, _ = run("-o", str(target), "--format", "csv", "-e", Q)
    assert (status, out) == (0, "")
    assert target.read_text() == "id,name,score\n1,ann,1.5\n2,bob,20.25\n3,,\n"


def test_timing_prints_elapsed_time(run: Run) -> None:
    out = run("--timing", "-e", "select 1 as a")[1]
    assert out.splitlines()[-1].startswith("Time: ") and out.splitlines()[-1].endswith(" s")
    assert "Time:" not in run("-e", "select 1 as a")[1]  # scripts: off unless asked


def test_multi_line_values_and_wide_characters_stay_aligned(run: Run) -> None:
    out = run("-e", "select concat('a', '\\n', 'bcd') as s, '日本' as w")[1]
    assert out.splitlines()[3:5] == ["│ a   │ 日本 │", "│ bcd │      │"]


def test_hivevar_define_and_substitution(run: Run) -> None:
    status, out, _ = run("--hivevar", "tbl=people", "-d", "min=10", "--format", "csv", "--no-header",
                         "-e", "select name from ${tbl} where age > ${hivevar:min}")
    assert (status, out) == (0, "ann\n")


def test_set_hivevar_defines_and_shows_a_variable(run: Run) -> None:
    status, out, _ = run("--format", "csv", "--no-header", stdin=(
        "SET hivevar:who=bob;\n"
        "select id from people where name = '${who}';\n"
        "set hivevar:who;\n"
        "set hivevar:nobody;\n"))
    assert (status, out) == (0, "2\nhivevar:who=bob\nhivevar:nobody is undefined\n")


def test_variables_may_refer_to_variables_and_env(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL_TEST_NAME", "ann")
    status, out, _ = run("-d", "n=${env:SHELL_TEST_NAME}", "-d", "cond=name = '${n}'", "--format", "csv",
                         "--no-header", "-e", "select id from people where ${cond}")
    assert (status, out) == (0, "1\n")


def test_undefined_variable_is_left_as_written(run: Run) -> None:
    assert run("--format", "csv", "--no-header", "-e", "select '${nothing}' as s")[1] == "${nothing}\n"


def test_hiveconf_sets_a_session_setting(run: Run) -> None:
    status, out, _ = run("--hiveconf", "spark.sql.shuffle.partitions=3", "--format", "csv", "--no-header",
                         "-e", "set spark.sql.shuffle.partitions")
    assert (status, out) == (0, "spark.sql.shuffle.partitions,3\n")
