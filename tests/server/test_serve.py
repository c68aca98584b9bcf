"""`lamna serve` and `lamna user add` as an operator uses them: authentication methods,
the users file, TLS, a config file, refusal to start insecurely, clean shutdown."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.server.conftest import (
    LONG_QUERY,
    PASSWORD,
    ROOT,
    USER,
    ServerInfo,
    need,
    need_module,
    start_server,
    stop_server,
)
from tests.server.test_psql import psql
from tests.server.test_psycopg import SLOW_QUERY


def test_refuses_to_start_without_authentication(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "server.main", "--port", "0", "--warehouse", str(tmp_path / "w")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--users" in proc.stderr and "--trust" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--workers", "-1"], "workers must be 0 or more"),
    (["--set", "lamna.workers=many"], "lamna.workers must be a whole number"),
    (["--set", "lamna.workers.nice=40"], "lamna.workers.nice must be between 0 and 19"),
    (["--workers", "1", "--set", "lamna.workers=2"], "--workers 1 and --set lamna.workers=2 disagree"),
])
def test_refuses_to_start_with_bad_worker_settings(tmp_path: Path, args: list[str], message: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "server.main", "--trust", "--port", "0",
                           "--warehouse", str(tmp_path / "w"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_user_add_stores_a_salted_verifier_only(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    for _ in range(2):  # adding twice replaces the entry
        subprocess.run([sys.executable, "-m", "server.main", "user", "add", "bob", "--users", str(users),
                        "--password-stdin"], input="hunter22\n", text=True, check=True, cwd=ROOT, capture_output=True)
    text = users.read_text()
    assert "hunter22" not in text
    entry = json.loads(text)["users"]["bob"]
    assert entry["scram"].startswith("SCRAM-SHA-256$4096:") and "md5" not in entry
    assert stat.S_IMODE(os.stat(users).st_mode) == 0o600
    from server.users import load_users
    assert load_users(str(users))["bob"].scram.check_password("hunter22")
    assert not load_users(str(users))["bob"].scram.check_password("hunter23")


@pytest.mark.parametrize("method", ["md5", "password"])
def test_md5_and_cleartext_authentication(tmp_path: Path, method: str) -> None:
    info = start_server(tmp_path, "--auth", method)
    try:
        assert psql(info, "-A", "-t", "-c", "SELECT 40 + 2").stdout.strip() == "42"
        bad = psql(info, "-c", "SELECT 1", password="nope", check=False)
        assert bad.returncode != 0 and "password authentication failed" in bad.stderr
    finally:
        stop_server(info)


def test_unknown_user_is_rejected_like_a_wrong_password(server: ServerInfo) -> None:
    psycopg = need_module("psycopg")
    with pytest.raises(psycopg.OperationalError) as info:  # type: ignore[attr-defined]
        psycopg.connect(server.dsn().replace(f"user={USER}", "user=mallory"))  # type: ignore[attr-defined]
    assert "28P01" in str(info.value) or "password authentication failed" in str(info.value)


def test_tls_with_a_configured_certificate(tmp_path: Path) -> None:
    openssl = need("openssl")
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=60)
    info = start_server(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        out = psql(info, "-A", "-t", "-c", "SELECT 'secure'", *[], ).stdout
        assert out.strip() == "secure"
        env_ok = _psql_sslmode(info, "require")
        assert env_ok.returncode == 0 and env_ok.stdout.strip() == "1", env_ok.stderr
    finally:
        stop_server(info)


def test_without_a_certificate_ssl_is_refused_cleanly(server: ServerInfo) -> None:
    assert _psql_sslmode(server, "prefer").stdout.strip() == "1"
    required = _psql_sslmode(server, "require")
    assert required.returncode != 0 and "SSL" in required.stderr


def _psql_sslmode(info: ServerInfo, mode: str) -> subprocess.CompletedProcess[str]:
    exe = need("psql")
    dsn = f"host={info.host} port={info.port} user={info.user} dbname=lamna sslmode={mode}"
    env = dict(os.environ, PGPASSWORD=info.password)
    return subprocess.run([exe, "-X", "-A", "-t", "-c", "SELECT 1", dsn], env=env, capture_output=True, text=True,
                          timeout=60)


def test_config_file(tmp_path: Path) -> None:
    config = tmp_path / "lamna.toml"
    config.write_text('max_queries = 2\nauth = "password"\nquery_memory = "3GB"\n'
                      '[settings]\n"spark.sql.shuffle.partitions" = "2"\n')
    info = start_server(tmp_path, "--config", str(config))
    try:
        assert psql(info, "-A", "-t", "-c", "SELECT 1").stdout.strip() == "1"
        # the server-wide default memory cap reaches every session
        assert psql(info, "-A", "-t", "-c", "SHOW lamna.query.memory").stdout.strip() == "3GB"
    finally:
        stop_server(info)


def test_sigterm_stops_cleanly_and_tells_clients(tmp_path: Path) -> None:
    psycopg = need_module("psycopg")
    info = start_server(tmp_path)
    errors: list[BaseException] = []

    def long_query() -> None:
        try:
            with psycopg.connect(info.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
                c.execute(LONG_QUERY)
        except BaseException as ex:  # expected: the server goes away
            errors.append(ex)

    t = threading.Thread(target=long_query)
    t.start()
    time.sleep(1.5)
    info.proc.send_signal(signal.SIGTERM)
    t.join(60)
    assert info.proc.wait(60) == 0
    log = info.log.read_text()
    assert "shutting down" in log and "stopped" in log and "Traceback" not in log
    assert errors and isinstance(errors[0], psycopg.Error)  # type: ignore[attr-defined]


def test_one_log_line_per_connection_and_statement(server: ServerInfo) -> None:
    psql(server, "-c", "SELECT 'log-marker-1'")
    log = server.log.read_text()
    assert any("statement" in line and "duration=" in line and "log-marker-1" in line for line in log.splitlines())
    assert "connect pid=" in log and "disconnect pid=" in log


def test_user_entry_point_for_the_lamna_command(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", "import sys, server.usercli as u; sys.exit(u.main(sys.argv[1:]))",
                           "add", "carol", "--users", str(tmp_path / "u.json"), "--password-stdin"],
                          input="pw-carol\n", text=True, cwd=ROOT, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "carol" in json.loads((tmp_path / "u.json").read_text())["users"]


def test_user_subcommand_rejects_empty_password(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "server.main", "user", "add", "eve", "--users",
                           str(tmp_path / "u.json"), "--password-stdin"], input="\n", text=True, cwd=ROOT,
                          capture_output=True, timeout=60)
    assert proc.returncode == 1 and not (tmp_path / "u.json").exists()
    assert PASSWORD not in proc.stderr


def test_query_cap_queues_the_rest_of_its_kind(tmp_path: Path) -> None:
    """``--max-queries 1``: a second file-reading query waits for the first (both run on
    the query processes), while a query the server answers itself does not wait behind
    them (its own cap, ``server.admission``)."""
    psycopg = need_module("psycopg")
    info = start_server(tmp_path, "--max-queries", "1")
    try:
        finished: list[tuple[str, float]] = []

        def run(name: str, sql: str) -> None:
            with psycopg.connect(info.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
                c.execute(sql).fetchall()
                finished.append((name, time.monotonic()))

        slow = threading.Thread(target=run, args=("slow", SLOW_QUERY))
        slow.start()
        time.sleep(0.5)
        queued = threading.Thread(target=run, args=("queued", SLOW_QUERY.replace("> 0", ">= 0")))
        queued.start()
        time.sleep(0.5)
        quick = threading.Thread(target=run, args=("quick", "SELECT 1"))
        quick.start()
        with psycopg.connect(info.dsn(), autocommit=True) as c:  # type: ignore[attr-defined]
            c.execute("SET statement_timeout = 300")  # a statement times out in the queue too
            with pytest.raises(psycopg.errors.QueryCanceled):  # type: ignore[attr-defined]
                c.execute(SLOW_QUERY.replace("> 0", "> 1")).fetchall()
        for t in (slow, queued, quick):
            t.join(120)
        assert [name for name, _ in finished] == ["quick", "slow", "queued"]
        log = info.log.read_text()
        assert "on=query-process" in log  # the slow ones did run on the query processes
    finally:
        stop_server(info)
