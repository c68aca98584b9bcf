"""The prompt, driven through a pseudo-terminal: multi-line input, completion, Ctrl-C
cancelling a running query (its tasks stop), Ctrl-C/Ctrl-D to leave, history."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.shell.conftest import ROOT, subprocess_env

pexpect = pytest.importorskip("pexpect")

PROMPT = "lamna>"
SLOW_SHELL = str(ROOT / "tests" / "shell" / "slow_shell.py")


def _spawn(warehouse: str, tmp_path: Path, *, slow: bool = False, sleepy: float = 0.5) -> "pexpect.spawn":
    env = subprocess_env(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LAMNA_HISTORY=str(tmp_path / "history"),
                         SLEEPY_LOG=str(tmp_path / "sleepy.log"), SLEEPY_SECONDS=str(sleepy))
    argv = [SLOW_SHELL] if slow else ["-m", "cli.main"]
    child = pexpect.spawn(sys.executable, [*argv, "--warehouse", warehouse], cwd=str(ROOT), env=env,
                          encoding="utf-8", timeout=90, dimensions=(40, 160))
    child.logfile_read = open(tmp_path / "screen.log", "w")  # for the failure report
    child.expect(PROMPT)
    return child


def _starts(tmp_path: Path) -> int:
    log = tmp_path / "sleepy.log"
    return log.read_text().count("start") if log.exists() else 0


def test_multi_line_statement_and_completion(warehouse: str, tmp_path: Path) -> None:
    child = _spawn(warehouse, tmp_path)
    child.send("select 1 as warm;\r")  # the engine connects in the background; wait for it
    child.expect(r"\(1 row\)")
    child.expect(PROMPT)
    child.send("select age\r")
    child.expect("->")  # no ';' yet: a continuation line, not a run
    child.send("from peo")
    child.send("\t")
    time.sleep(0.5)
    child.send(" where na")
    child.send("\t")
    time.sleep(0.5)
    child.send(" = 'ann';\r")
    child.expect(r"│\s+34 │")  # 'peo'+Tab became people, 'na'+Tab became name
    child.expect(r"\(1 row\)")
    child.expect("Time: ")  # timing is on at the prompt
    child.expect(PROMPT)
    child.send("select zzz from people;\r")
    child.expect("Error: Column 'zzz' cannot be resolved")
    child.expect(r"LINE 1: select zzz from people\r\n {15}\^")
    child.expect(PROMPT)  # errors do not end an interactive session
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "history").read_text()
    assert "+select age\n+from people where name = 'ann';" in history


def test_ctrl_c_cancels_a_running_query_and_its_tasks_stop(warehouse: str, tmp_path: Path) -> None:
    child = _spawn(warehouse, tmp_path, slow=True)
    child.send("select sum(sleepy(x)) from slow;\r")  # 40 tasks of 0.5 s on 2 threads: ~10 s
    child.expect("tasks")  # the progress bar appears after half a second
    while _starts(tmp_path) < 2:
        time.sleep(0.1)
    child.sendintr()
    child.expect("Cancelled.")
    child.expect(PROMPT)
    time.sleep(0.5)  # tasks check for cancellation every 20 ms; let any in flight notice
    before = _starts(tmp_path)
    time.sleep(2.0)  # uncancelled, four more tasks would start in this time
    assert _starts(tmp_path) == before < 40
    child.send("select count(*) as n from slow;\r")  # the engine is free again
    child.expect(r"│\s+400 │")
    child.expect(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


def test_progress_bar_of_a_slow_query_shows_rows_read(warehouse: str, tmp_path: Path) -> None:
    child = _spawn(warehouse, tmp_path, slow=True, sleepy=0.2)
    child.send("select sum(sleepy(x)) as total from slow;\r")  # 40 splits of 10 rows, 0.2 s each
    child.expect(r"tasks \d+/\d+ · ([1-9][\d,]*) rows read")  # once the first tasks are done
    read = int(child.match.group(1).replace(",", ""))
    assert read % 10 == 0 and read <= 400  # whole splits, each read once
    child.expect(r"│\s+79800 │")  # sum(0..399): the bar erased, the result printed
    child.expect(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


def test_ctrl_c_clears_the_line_then_twice_at_an_empty_prompt_exits(warehouse: str, tmp_path: Path) -> None:
    child = _spawn(warehouse, tmp_path)
    child.send("select 1 as junk")
    child.expect("junk")  # typed text on screen before Ctrl-C (a race under load otherwise)
    child.sendintr()  # clears the half-typed statement, stays at the prompt
    time.sleep(0.3)
    child.send("select 2 as two;\r")
    child.expect(r"│   2 │")  # only the new text ran
    child.expect(r"\(1 row\)")
    child.expect(PROMPT)
    child.sendintr()
    child.expect(r"Ctrl-C again")
    child.send("select 3 as three;\r")  # anything run in between resets the count
    child.expect(r"\(1 row\)")
    child.expect(PROMPT)
    child.sendintr()
    child.expect(r"Ctrl-C again")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_quit_meta_command_and_expanded_display(warehouse: str, tmp_path: Path) -> None:
    child = _spawn(warehouse, tmp_path)
    child.send("\\x\r")
    child.expect("Expanded display is on.")
    child.send("select name, age from people where id = 1;\r")
    child.expect(r"name \| ann")
    child.expect(r"age  \| 34")
    child.send("\\q\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_wide_results_go_to_the_pager(warehouse: str, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    env = subprocess_env(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LAMNA_HISTORY=str(tmp_path / "history"),
                         PAGER=f"cat > {paged}")
    child = pexpect.spawn(sys.executable, ["-m", "cli.main", "--warehouse", warehouse], cwd=str(ROOT), env=env,
                          encoding="utf-8", timeout=90, dimensions=(40, 60))
    child.expect(PROMPT)
    columns = ", ".join(f"name as column_number_{i}" for i in range(6))
    child.send(f"select {columns} from people;\r")
    child.expect("Time: ")  # the table went to the pager, the timing line to the screen
    child.expect(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    assert "column_number_5" in paged.read_text() and "(3 rows)" in paged.read_text()
