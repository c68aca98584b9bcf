"""The same script embedded and through ``--connect`` to a running ``lamna serve`` gives
the same output (results, meta-commands, variables, and errors with their caret)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shell.conftest import ROOT, Run, subprocess_env

psycopg = pytest.importorskip("psycopg")

SCRIPT = """\
-- results in every format, NULLs, numbers
select id, name, age, score from people order by id;
\\dt
\\d pets
\\l
set hivevar:who=ann;
select p.name, count(*) as pets
  from people p join pets q on p.id = q.owner
 where p.name = '${who}' or p.id = ${three}
 group by p.name order by pets desc;
select cast(1.5 as decimal(10,2)) as d, date '2020-01-02' as dt,
       timestamp '2020-01-02 03:04:05' as ts, true as b, cast(null as int) as n;
\\x on
select * from pets where kind = 'fish';
\\x off
select zzz
  from people;
select no_such_function(1);
\\format csv
select kind, owner from pets order by kind;
\\format json
select kind from pets order by kind limit 2;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(warehouse: str, workdir: Path, *auth: str, password: str | None = None) -> Iterator[str]:
    """Run ``lamna serve`` until the generator is closed; yields its URL."""
    if not (ROOT / "server" / "main.py").exists():
        pytest.skip("server/main.py is not there yet")
    port = _free_port()
    log = workdir / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.main", "serve", *auth, "--port", str(port), "--warehouse", warehouse],
            cwd=ROOT, env=subprocess_env(), stdout=out, stderr=subprocess.STDOUT)
    url = f"postgresql://tester@127.0.0.1:{port}/default"
    deadline = time.monotonic() + 90
    while True:
        try:
            psycopg.connect(url, connect_timeout=2, password=password).close()
            break
        except psycopg.OperationalError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"lamna serve did not start:\n{log.read_text()}")
            time.sleep(0.3)
    try:
        yield url
    finally:  # also on .close(): GeneratorExit at the yield must still stop the server
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server(warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``lamna serve --trust`` on the test warehouse; yields its URL."""
    yield from _serve(warehouse, tmp_path_factory.mktemp("server"), "--trust")


def test_same_script_same_output_embedded_and_remote(run: Run, server: str, tmp_path: Path) -> None:
    script = tmp_path / "same.sql"
    script.write_text(SCRIPT)
    embedded = run("-d", "three=3", "--continue-on-error", "-f", str(script))
    remote = run("--connect", server, "-d", "three=3", "--continue-on-error", "-f", str(script))
    assert remote == embedded
    status, out, err = embedded
    assert status == 1  # the two failing statements
    assert "│  1 │ ann  │   34 │   1.5 │" in out and "kind,owner\ncat,1\ndog,1\nfish,3\n" in out
    assert f"{script}:16: Error: Column 'zzz' cannot be resolved\nLINE 1: select zzz\n" in err


def test_remote_types_line_uses_hive_type_names(run: Run, server: str) -> None:
    out = run("--connect", server, "--types", "-e", "select id, name, score from people limit 1")[1]
    assert "│ int │ string │ double │" in out


def test_remote_connection_refused_is_one_clear_line(run: Run) -> None:
    status, out, err = run("--connect", f"postgresql://x@127.0.0.1:{_free_port()}/default", "-e", "select 1")
    assert status == 1 and out == ""
    assert err.startswith("Error: cannot connect: ") and err.count("\n") == 1


def test_remote_ctrl_c_cancels_the_statement(tmp_path: Path) -> None:
    """SIGINT during a remote statement sends a PostgreSQL cancel request; the script stops (130)."""
    import signal

    import sql

    wh = str(tmp_path / "wh")
    with sql.connect(warehouse=wh) as conn:
        conn.cursor().execute("CREATE TABLE n (x INT)")
        conn.cursor().execute("INSERT INTO n VALUES " + ", ".join(f"({i})" for i in range(200)))
    serving = _serve(wh, tmp_path, "--trust")
    url = next(serving)
    try:
        proc = subprocess.Popen(  # 200**3 rows: seconds of work, in modest batches
            [sys.executable, "-m", "cli.main", "--connect", url, "--format", "csv", "--no-header",
             "-e", "select 'ready'", "-e", "select count(*) from n a, n b, n c where a.x + b.x > c.x",
             "-e", "select 'not reached'"],
            cwd=ROOT, env=subprocess_env(LAMNA_HISTORY=str(tmp_path / "h")), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"  # connected; the long statement is next
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        serving.close()
    if proc.returncode == 0:
        pytest.skip("the statement finished before Ctrl-C reached it")
    assert (proc.returncode, out) == (130, "") and err.endswith("Cancelled.\n")
    assert "cancel request" in (tmp_path / "server.log").read_text()


def test_password_is_asked_for_at_the_terminal(warehouse: str, tmp_path: Path) -> None:
    """Like psql: a server that wants a password gets one typed at a hidden prompt."""
    pexpect = pytest.importorskip("pexpect")
    users = tmp_path / "users.json"
    subprocess.run([sys.executable, "-m", "server.main", "user", "add", "tester", "--users", str(users),
                    "--password-stdin"], input="s3cret\n", text=True, cwd=ROOT, env=subprocess_env(),
                   check=True, capture_output=True, timeout=60)
    serving = _serve(warehouse, tmp_path, "--users", str(users), password="s3cret")
    url = next(serving)
    try:
        env = subprocess_env(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LAMNA_HISTORY=str(tmp_path / "h"))
        env.pop("PGPASSWORD", None)
        child = pexpect.spawn(sys.executable, ["-m", "cli.main", "--connect", url], cwd=str(ROOT), env=env,
                              encoding="utf-8", timeout=120)
        child.logfile_read = open(tmp_path / "screen.log", "w")  # for the failure report
        child.expect("Password: ")
        child.sendline("s3cret")
        child.expect("lamna>")
        child.send("select count(*) as n from people;\r")
        child.expect(r"│\s+3 │")
        child.expect("lamna>")  # keys typed while results print may be lost
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        serving.close()


def test_remote_progress_bar_shows_rows_read(tmp_path: Path) -> None:
    """Against a server the bar adds up its ``lamna.progress`` notices, rows read included."""
    pexpect = pytest.importorskip("pexpect")
    import sql

    wh = str(tmp_path / "wh")
    with sql.connect(warehouse=wh) as conn:
        conn.cursor().execute("CREATE TABLE n (x INT)")
        conn.cursor().execute("INSERT INTO n VALUES " + ", ".join(f"({i})" for i in range(200)))
    pairs = [min(s, 398 - s) + 1 for s in range(399)]  # how many (a, b) have a + b = s
    expected = sum(sum(pairs[c + 1:]) for c in range(200))
    serving = _serve(wh, tmp_path, "--trust")
    url = next(serving)
    try:
        env = subprocess_env(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LAMNA_HISTORY=str(tmp_path / "h"))
        child = pexpect.spawn(sys.executable, ["-m", "cli.main", "--connect", url], cwd=str(ROOT), env=env,
                              encoding="utf-8", timeout=90, dimensions=(40, 160))
        child.logfile_read = open(tmp_path / "screen.log", "w")  # noqa: SIM115 (for the failure report)
        child.expect("lamna>")
        child.send("select count(*) as c from n a, n b, n c where a.x + b.x > c.x;\r")  # seconds of work
        child.expect(r"tasks \d+/\d+ · ([1-9][\d,]*) rows read")
        assert int(child.match.group(1).replace(",", "")) % 200 == 0  # whole scans of n
        child.expect(rf"│\s+{expected} │")
        child.expect("lamna>")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        serving.close()
