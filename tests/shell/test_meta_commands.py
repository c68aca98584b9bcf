"""Backslash meta-commands in scripts (the prompt runs the same code)."""

from __future__ import annotations

from pathlib import Path

from tests.shell.conftest import Run


def test_list_tables(run: Run) -> None:
    assert run("--format", "csv", stdin="\\dt\n")[:2] == (0, "table\npeople\npets\n")


def test_list_tables_with_a_pattern(run: Run) -> None:
    assert run("--format", "csv", stdin="\\dt pe?ple\n\\dt pet*\n")[1] == "table\npeople\ntable\npets\n"


def test_describe_a_table(run: Run) -> None:
    status, out, _ = run("--format", "csv", stdin="\\d pets\n")
    assert status == 0
    assert out.splitlines()[:3] == ["col_name,data_type,comment", "owner,int,", "kind,string,"]


def test_describe_without_a_name_lists_tables(run: Run) -> None:
    assert run("--format", "csv", "--no-header", stdin="\\d\n")[1] == "people\npets\n"


def test_describe_unknown_table_is_an_error(run: Run) -> None:
    status, _, err = run(stdin="\\d nosuch\n")
    assert status == 1 and err.startswith("Error:") and "nosuch" in err


def test_list_databases(run: Run) -> None:
    assert run("--format", "csv", stdin="\\l\n")[1] == "database\ndefault\n"


def test_use_database(tmp_path: Path, run: Run) -> None:
    script = "create database other;\n\\c other\ncreate table only_here (a int);\n\\dt\n"
    status, out, _ = run("--format", "csv", "-q", stdin=script, wh=str(tmp_path))
    assert (status, out) == (0, "table\nonly_here\n")


def test_help_lists_the_commands(run: Run) -> None:
    out = run(stdin="\\?\n")[1]
    for command in ("\\q", "\\dt", "\\d", "\\l", "\\timing", "\\x", "\\i", "\\o", "\\format"):
        assert f"  {command}" in out


def test_quit_stops_reading_the_script(run: Run) -> None:
    assert run("--format", "csv", stdin="select 1 as a;\n\\q\nselect 2 as b;\n")[:2] == (0, "a\n1\n")


def test_format_switches_the_output_format(run: Run) -> None:
    out = run(stdin="\\format csv\nselect 1 as a;\n\\format json\nselect 1 as a;\n\\format\n")[1]
    assert out == 'a\n1\n[\n{"a":1}\n]\nformat is json\n'


def test_unknown_format_is_an_error(run: Run) -> None:
    status, _, err = run(stdin="\\format xml\n")
    assert status == 1 and "unknown format 'xml'" in err


def test_expanded_display_on_off_and_toggle(run: Run) -> None:
    out = run(stdin="\\x on\nselect 1 as a;\n\\x off\nselect 2 as a;\n\\x\nselect 3 as a;\n")[1]
    assert out == ("-[ RECORD 1 ]-\na | 1\n(1 row)\n"
                   "┌───┐\n│ a │\n├───┤\n│ 2 │\n└───┘\n(1 row)\n"
                   "-[ RECORD 1 ]-\na | 3\n(1 row)\n")


def test_expanded_auto_keeps_narrow_tables(run: Run) -> None:
    assert run(stdin="\\x auto\nselect 1 as a;\n")[1].startswith("┌───┐")


def test_timing_on_and_off(run: Run) -> None:
    out = run("--format", "csv", stdin="\\timing on\nselect 1 as a;\n\\timing off\nselect 2 as a;\n")[1]
    lines = out.splitlines()
    assert lines[:2] == ["a", "1"] and lines[2].startswith("Time: ") and lines[3:] == ["a", "2"]


def test_timing_rejects_other_words(run: Run) -> None:
    status, _, err = run(stdin="\\timing maybe\n")
    assert status == 1 and "on or off" in err


def test_header_and_types_toggles(run: Run) -> None:
    out = run("--format", "csv", stdin="\\header off\nselect 1 as a;\n\\header on\nselect 1 as a;\n")[1]
    assert out == "1\na\n1\n"
    out = run(stdin="\\types on\nselect 1 as a;\n")[1]
    assert "│ int │" in out


def test_include_runs_another_file_and_names_it_in_errors(run: Run, tmp_path: Path) -> None:
    inner = tmp_path / "inner.sql"
    inner.write_text("select 'inner' as s;\n\nselect zzz from people;\n")
    status, out, err = run("--format", "csv", "--no-header", "--continue-on-error",
                           stdin=f"\\i {inner}\nselect 'after' as s;\n")
    assert (status, out) == (1, "inner\nafter\n")
    assert err.startswith(f"{inner}:3: Error: Column 'zzz' cannot be resolved")


def test_output_redirect_and_back(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "o.txt"
    out = run("--format", "csv", stdin=f"\\o {target}\nselect 1 as a;\n\\o\nselect 2 as b;\n")[1]
    assert out == "b\n2\n"
    assert target.read_text() == "a\n1\n"


def test_psql_style_set_and_unset(run: Run) -> None:
    out = run("--format", "csv", "--no-header", stdin=(
        "\\set who ann\nselect id from people where name = '${who}';\n\\set\n\\unset who\n\\set\n"))[1]
    assert out == "1\nwho=ann\n"


def test_variables_are_substituted_in_meta_commands(run: Run) -> None:
    assert run("-d", "t=pets", "--format", "csv", "--no-header", stdin="\\d ${t}\n")[1].startswith("owner,int")


def test_unknown_meta_command(run: Run) -> None:
    status, _, err = run(stdin="\\frobnicate\n")
    assert status == 1 and err == "<stdin>:1: Error: invalid command \\frobnicate. Try \\? for help.\n"


def test_describe_formatted(run: Run) -> None:
    status, out, _ = run("--format", "tsv", stdin="\\d+ pets\n")
    assert status == 0 and out.startswith("col_name\tdata_type\tcomment\n")
    assert "Location" in out or "location" in out.lower()


def test_database_option_starts_in_that_database(tmp_path: Path, run: Run) -> None:
    run("-q", "-e", "create database other; use other; create table only_here (a int)", wh=str(tmp_path))
    assert run("--database", "other", "--format", "csv", "--no-header", stdin="\\dt\n", wh=str(tmp_path))[1] == \
        "only_here\n"
