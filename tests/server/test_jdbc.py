"""pgJDBC (Debian's libpostgresql-jdbc-java) from a small Java program compiled here:
Statement, server-side PreparedStatement (> 5 executions, then binary results),
ResultSetMetaData, DatabaseMetaData, fetch-size streaming, errors, Statement.cancel()."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.server.conftest import INSTALL, JDBC_JAR, LONG_QUERY, ServerInfo, need

SOURCE = Path(__file__).parent / "java" / "LamnaJdbcCheck.java"


@pytest.fixture(scope="module")
def jdbc_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    javac = need("javac")
    if not os.path.exists(JDBC_JAR):
        pytest.fail(f"pgJDBC is not installed ({JDBC_JAR}): run {INSTALL} (CI does)", pytrace=False)
    out = tmp_path_factory.mktemp("jdbc")
    subprocess.run([javac, "-cp", JDBC_JAR, "-d", str(out), str(SOURCE)], check=True, capture_output=True,
                   timeout=180)
    return out


def test_pgjdbc(server: ServerInfo, jdbc_program: Path) -> None:
    java = need("java")
    url = f"jdbc:postgresql://{server.host}:{server.port}/lamna?connectTimeout=20&socketTimeout=120"
    proc = subprocess.run([java, "-cp", f"{jdbc_program}{os.pathsep}{JDBC_JAR}", "LamnaJdbcCheck", url,
                           server.user, server.password, LONG_QUERY], capture_output=True, text=True, timeout=300)
    lines = proc.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL")]
    assert not failed and "ALL OK" in lines, proc.stdout + proc.stderr
    assert {line.split()[1] for line in lines if line.startswith("OK ")} == {
        "statement", "prepared_statement_server_side", "prepared_statement_types", "result_set_metadata",
        "database_metadata", "fetch_size_streaming", "error_leaves_connection_usable", "statement_cancel"}
