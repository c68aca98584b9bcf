"""The shell's small pieces on their own: splitting, variables, values, errors, completion,
progress, paging, and the runner's error and cancel policy with a fake backend."""

from __future__ import annotations

import _thread
import datetime as dt
import decimal
import io
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sql.shell import errors as shell_errors
from sql.shell.backends import Backend, Outcome, Progress, StageLine, progress_of
from sql.shell.formatting import ResultSet, Style, render
from sql.shell.output import Output
from sql.shell.progress import ProgressBar, bar_text
from sql.shell.runner import Runner, StopScript
from sql.shell.splitter import is_complete, split_pieces
from sql.shell.state import BackendHandle, Settings
from sql.shell.values import to_text
from sql.shell.variables import Variables

# -- splitting ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, complete", [
    ("", True), ("   \n", True), ("select 1", False), ("select 1;", True), ("select ';'", False),
    ("select ';';", True), ("select 1 -- ;", False), ("select 1 /* ; */", False), ("select 1 /* ; */;", True),
    ("\\dt", True), ("/* open", False), ("-- only a comment", True), ("select 1; select", False),
    ("select `a;b`;", True), ("select 'it\\'s';", True),
])
def test_is_complete(text: str, complete: bool) -> None:
    assert is_complete(text) is complete


def test_pieces_keep_their_first_line() -> None:
    pieces = split_pieces("-- c\nselect 1;\n\n\\x on\nselect\n  2;;select 3")
    assert [(p.kind, p.text, p.line, p.terminated) for p in pieces] == [
        ("sql", "select 1", 2, True), ("meta", "\\x on", 4, True), ("sql", "select\n  2", 5, True),
        ("sql", "select 3", 6, False)]


def test_backslash_inside_a_statement_is_not_a_meta_command() -> None:
    assert [p.kind for p in split_pieces("select 'a\\\\b'\n;")] == ["sql"]


# -- variables ----------------------------------------------------------------------------

def test_variables_substitution_and_set() -> None:
    v = Variables.from_assignments(["a=1", "b=${a}+1"])
    assert v.substitute("${a} ${hivevar:b} ${zz}") == "1 1+1 ${zz}"
    assert v.handle_set("SET hivevar:c = x y") == (True, None) and v.values["c"] == "x y"
    assert v.handle_set("set hivevar:c") == (True, "hivevar:c=x y")
    assert v.handle_set("set mapred.reduce.tasks=2") == (False, None)


def test_self_referring_variable_does_not_loop() -> None:
    assert "${x}" in Variables({"x": "${x}"}).substitute("${x}")


# -- values and formats ----------------------------------------------------------------

def test_value_spellings() -> None:
    assert [to_text(v) for v in (None, True, 1.0, float("nan"), float("-inf"), decimal.Decimal("1E+2"),
                                 dt.datetime(2020, 1, 2, 3, 4, 5), dt.date(2020, 1, 2), b"\x01\xff",
                                 [1, None], {"k": [1.5]}, [("a", 1)])] == [
        "NULL", "true", "1.0", "NaN", "-Infinity", "100", "2020-01-02 03:04:05", "2020-01-02", "\\x01ff",
        "[1,null]", '{"k":[1.5]}', '{"a":1}']


def test_json_keeps_decimal_digits() -> None:
    r = ResultSet(["d"], ["decimal(38,10)"], [(decimal.Decimal("12345678901234567890.1234567890"),)])
    assert render(r, "json", Style()) == ["[", '{"d":12345678901234567890.1234567890}', "]"]


def test_csv_quotes_and_tsv_escapes() -> None:
    r = ResultSet(["s"], ["string"], [('a,"b"',), ("x\ty\nz",)])
    assert render(r, "csv", Style()) == ["s", '"a,""b"""', '"x\ty', 'z"']
    assert render(r, "tsv", Style()) == ["s", 'a,"b"', "x\\ty\\nz"]


def test_table_colours_nulls_only_on_terminals() -> None:
    r = ResultSet(["a"], ["int"], [(None,)])
    assert "\x1b[2mNULL\x1b[0m" in "\n".join(render(r, "table", Style(color=True)))
    assert "\x1b" not in "\n".join(render(r, "table", Style()))


def test_empty_result_has_header_only() -> None:
    r = ResultSet(["a", "b"], ["int", "string"], [])
    assert render(r, "table", Style()) == ["┌───┬───┐", "│ a │ b │", "├───┼───┤", "└───┴───┘"]
    assert render(r, "json", Style()) == ["[]"]


# -- errors -----------------------------------------------------------------------------

class _Diag:
    def __init__(self, message: str, position: str | None) -> None:
        self.message_primary, self.statement_position = message, position


class _PgError(Exception):
    def __init__(self, message: str, position: str | None) -> None:
        super().__init__(message)
        self.diag = _Diag(message, position)


def test_server_error_position_becomes_line_and_column() -> None:
    report = shell_errors.classify(_PgError("no such column", "12"), "select\n  a, zz from t")
    assert (report.message, report.line, report.column) == ("no such column", 2, 5)
    assert shell_errors.render(report, "select\n  a, zz from t") == [
        "Error: no such column", "LINE 2:   a, zz from t", "            ^"]


def test_server_error_with_engine_position_suffix() -> None:
    report = shell_errors.classify(_PgError("Column 'x' cannot be resolved (line 1:8)", None), "select x")
    assert (report.message, report.line, report.column) == ("Column 'x' cannot be resolved", 1, 8)


def test_engine_error_attributes() -> None:
    from sql.errors import BindError, ParseError

    report = shell_errors.classify(BindError("bad", 1, 3), "ab cd")
    assert (report.message, report.line, report.column, report.internal) == ("bad", 1, 3, False)
    report = shell_errors.classify(ParseError("syntax error: x (line 2:1)"), "a\nb")
    assert (report.message, report.line, report.column) == ("syntax error: x", 2, 1)
    assert shell_errors.classify(ZeroDivisionError("boom"), "x").internal


# -- runner with a fake backend ----------------------------------------------------------

class FakeBackend(Backend):
    def __init__(self, behaviour: Any) -> None:
        super().__init__()
        self.behaviour = behaviour
        self.cancels = 0
        self.stopped = threading.Event()

    def execute(self, text: str) -> Outcome:
        return self.behaviour(self, text)

    def cancel(self) -> None:
        self.cancels += 1
        self.stopped.set()

    def close(self) -> None:
        pass


def _runner(behaviour: Any, **settings: Any) -> tuple[Runner, io.StringIO, io.StringIO, FakeBackend]:
    backend = FakeBackend(behaviour)
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(Settings(**settings), BackendHandle(lambda: backend), Output(out), err)
    return runner, out, err, backend


def _boom(backend: FakeBackend, text: str) -> Outcome:
    raise RuntimeError("boom")


def test_internal_errors_hide_the_traceback_unless_debug() -> None:
    runner, _, err, _ = _runner(_boom, continue_on_error=True)
    runner.run_text("select 1")
    assert err.getvalue() == "Error: internal error: RuntimeError: boom\n(run with --debug to see the traceback)\n"
    runner, _, err, _ = _runner(_boom, continue_on_error=True, debug=True)
    runner.run_text("select 1")
    assert "Traceback (most recent call last)" in err.getvalue() and "RuntimeError: boom" in err.getvalue()


def test_script_stops_at_first_error() -> None:
    runner, _, _, _ = _runner(_boom)
    with pytest.raises(StopScript):
        runner.run_text("select 1; select 2")
    assert runner.failures == 1


def test_connection_failure_is_one_line_and_fatal() -> None:
    def fail() -> Backend:
        raise OSError("connection refused\nmore detail")

    err = io.StringIO()
    runner = Runner(Settings(continue_on_error=True), BackendHandle(fail), Output(io.StringIO()), err)
    with pytest.raises(StopScript):
        runner.run_text("select 1")
    assert err.getvalue() == "Error: cannot connect: connection refused\n"


def test_interrupt_cancels_the_running_statement_and_returns() -> None:
    """Ctrl-C (KeyboardInterrupt in the main thread) cancels; the prompt goes on."""
    running = threading.Event()

    def slow(backend: FakeBackend, text: str) -> Outcome:
        running.set()
        if not backend.stopped.wait(10):
            return Outcome(None)
        from sql.shell.backends import Cancelled
        raise Cancelled()

    def press_ctrl_c_once_running() -> None:  # not on a timer: a loaded machine may be slower
        if running.wait(10):
            time.sleep(0.1)  # the main thread is waiting on the statement by now
            _thread.interrupt_main()

    runner, out, err, backend = _runner(slow)
    runner.interactive = True
    threading.Thread(target=press_ctrl_c_once_running, daemon=True).start()
    runner.run_text("select slow")
    assert backend.cancels >= 1
    assert err.getvalue() == "Cancelled.\n" and out.getvalue() == ""


# -- progress and paging ----------------------------------------------------------------

def test_progress_bar_text_without_task_counts() -> None:
    assert bar_text(Progress(rows=12), 3.25, 80) == "12 rows · 3.2s"


def test_progress_bar_text_shows_rows_read_and_rows_fetched() -> None:
    text = bar_text(Progress(1, 2, 3, 4, 0, 1500), 2.0, 100)
    assert text.endswith("75% stage 1/2 · tasks 3/4 · 1,500 rows read · 2.0s")
    assert "1,500 rows read · 20 fetched" in bar_text(Progress(2, 2, 4, 4, 20, 1500), 2.0, 100)


def test_server_progress_notices_add_up_per_stage() -> None:
    lines = [StageLine.parse(m) for m in (
        "job 1 stage 0 (collect at scan (x)): 2/2 tasks, done, 300 rows read",
        "job 1 stage 1 (collect): 1/3 tasks, 2 running, 0 rows read",
        "job 2 stage 5 (count): 0/1 tasks, 1 running",  # a server without rows read
    )]
    assert lines[0] == StageLine(0, 2, 2, True, 300)
    assert StageLine.parse("there is already a transaction in progress") is None
    p = progress_of([x for x in lines if x is not None], rows=7)
    assert p == Progress(1, 3, 3, 6, 7, 300)
    assert progress_of([], rows=7) == Progress(rows=7)


def test_progress_bar_draws_after_the_delay_and_erases_itself() -> None:
    stream = io.StringIO()
    with ProgressBar(lambda: Progress(0, 1, 1, 2, 0), stream, delay=0.0):
        time.sleep(0.25)
    text = stream.getvalue()
    assert "tasks 1/2" in text and text.endswith("\r\x1b[K")


def test_progress_bar_is_silent_for_fast_statements() -> None:
    stream = io.StringIO()
    with ProgressBar(lambda: Progress(), stream, delay=5.0):
        pass
    assert stream.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_long_results_go_through_the_pager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"cat > {paged}")
    screen = _Terminal()
    out = Output(screen, pager=True)
    lines = [f"line {i}" for i in range(500)]
    out.write_lines(lines, pageable=True)
    assert screen.getvalue() == "" and paged.read_text().splitlines() == lines
    out.write_lines(["short"], pageable=True)
    assert screen.getvalue() == "short\n"


def test_no_pager_when_output_is_not_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGER", f"cat > {tmp_path / 'never'}")
    stream = io.StringIO()
    Output(stream, pager=True).write_lines(["x"] * 500, pageable=True)
    assert stream.getvalue().count("x") == 500 and not (tmp_path / "never").exists()
