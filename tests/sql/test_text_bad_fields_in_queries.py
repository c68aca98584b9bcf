"""Bad fields of text tables in queries: read as NULL and counted in the cursor's
``messages`` (and the shell's warnings), or, with ``SET lamna.text.strict=true``, an
error naming file, line and column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import sql
from sql.errors import OperationalError, Warning


@pytest.fixture
def conn(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.txt").write_text("1|10|a\n2|x|b\n3|30|c\nfour|40|d\n")
    c = sql.connect(warehouse=str(tmp_path / "wh"))
    c.cursor().execute("create external table t (id int, v int, s string) row format delimited "
                       f"fields terminated by '|' location '{data}'")
    yield c
    c.close()


def test_bad_fields_are_null_and_counted_once_the_rows_are_read(conn) -> None:
    cur = conn.cursor()
    cur.execute("select id, v, s from t")
    assert cur.messages == []  # nothing is known before the rows are read
    assert sorted(cur.fetchall(), key=repr) == sorted([(1, 10, "a"), (2, None, "b"), (3, 30, "c"), (None, 40, "d")], key=repr)
    [(kind, text)] = cur.messages
    assert kind is Warning and text.startswith("2 field(s) did not parse")
    cur.execute("select s from t")  # only the columns read are parsed
    cur.fetch_arrow()
    assert cur.messages == []


def test_strict_mode_names_file_line_and_column(conn) -> None:
    cur = conn.cursor()
    cur.execute("set lamna.text.strict=true")
    with pytest.raises(OperationalError, match=r"f\.txt, line \d, column (id|v)"):
        cur.execute("select * from t")
        cur.fetchall()
    cur.execute("select s from t")
    assert len(cur.fetchall()) == 4


def test_the_shell_prints_the_warning(conn, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "cli.main", "--warehouse", str(tmp_path / "wh"), "-e", "select * from t"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING: 2 field(s) did not parse" in proc.stderr
    assert "Traceback" not in proc.stderr
