"""psql, the PostgreSQL shell, against a running Lamna server: password login, \\dt, \\d,
\\l, queries, --csv output and an error."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.server.conftest import ServerInfo, need


def psql(server: ServerInfo, *args: str, password: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = need("psql")
    env = dict(os.environ, PGPASSWORD=password if password is not None else server.password, PGCONNECT_TIMEOUT="10")
    env.pop("PGSERVICE", None)
    proc = subprocess.run([exe, "-X", "-h", server.host, "-p", str(server.port), "-U", server.user, "-d", "lamna",
                           "-v", "ON_ERROR_STOP=1", *args], env=env, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        pytest.fail(f"psql failed ({proc.returncode}): {proc.stderr}")
    return proc


def test_query_with_password(server: ServerInfo) -> None:
    out = psql(server, "-A", "-t", "-c", "SELECT id, name FROM items ORDER BY id").stdout
    assert out.split() == ["1|apple", "2|pear", "3|fig"]


def test_wrong_password_is_rejected_with_28P01(server: ServerInfo) -> None:
    proc = psql(server, "-c", "SELECT 1", password="wrong", check=False)
    assert proc.returncode != 0
    assert 'password authentication failed for user "alice"' in proc.stderr


def test_dt_lists_tables(server: ServerInfo) -> None:
    out = psql(server, "-c", r"\dt").stdout
    assert "items" in out and "numbers" in out and "public" in out and "table" in out


def test_d_describes_a_table(server: ServerInfo) -> None:
    out = psql(server, "-c", r"\d items").stdout
    assert 'Table "public.items"' in out
    for column, type_ in [("id", "integer"), ("name", "text"), ("price", "numeric(10,2)"), ("sold", "date"),
                          ("ts", "timestamp without time zone"), ("ratio", "double precision"),
                          ("flag", "boolean"), ("big", "bigint"), ("small", "smallint")]:
        assert any(line.split("|")[0].strip() == column and line.split("|")[1].strip() == type_
                   for line in out.splitlines() if "|" in line), (column, out)


def test_l_lists_the_database(server: ServerInfo) -> None:
    out = psql(server, "-c", r"\l").stdout
    assert "lamna" in out and "UTF8" in out


def test_csv_output(server: ServerInfo) -> None:
    out = psql(server, "--csv", "-c", "SELECT id, name, price, sold, flag FROM items ORDER BY id").stdout
    assert out.splitlines() == ["id,name,price,sold,flag", "1,apple,1.50,2024-01-02,t", "2,pear,2.25,2024-02-03,f",
                                "3,fig,,,"]


def test_error_has_sqlstate_and_position(server: ServerInfo) -> None:
    proc = psql(server, "-v", "VERBOSITY=verbose", "-c", "SELECT nosuch FROM items", check=False)
    assert proc.returncode != 0
    assert "42703" in proc.stderr and "nosuch" in proc.stderr
    assert "LINE 1: SELECT nosuch FROM items" in proc.stderr
    proc = psql(server, "-v", "VERBOSITY=verbose", "-c", "SELECT * FROM missing_table", check=False)
    assert "42P01" in proc.stderr


def test_several_statements_in_one_message(server: ServerInfo) -> None:
    out = psql(server, "-A", "-t", "-c", "SELECT 1; SELECT 'two'; SHOW standard_conforming_strings").stdout
    assert out.split() == ["1", "two", "on"]


def test_transaction_commands_are_accepted(server: ServerInfo) -> None:
    out = psql(server, "-A", "-t", "-c", "BEGIN", "-c", "SAVEPOINT s1", "-c", "SELECT 7", "-c", "RELEASE s1",
               "-c", "COMMIT").stdout
    assert "7" in out.split()


def test_commit_outside_a_transaction_warns(server: ServerInfo) -> None:
    proc = psql(server, "-c", "COMMIT")
    assert "there is no transaction in progress" in proc.stderr


def test_more_describe_commands(server: ServerInfo) -> None:
    out = psql(server, "-c", r"\d+ numbers").stdout
    assert "bigint" in out and "label" in out
    assert "public" in psql(server, "-c", r"\dn").stdout
    assert server.user in psql(server, "-c", r"\du").stdout
