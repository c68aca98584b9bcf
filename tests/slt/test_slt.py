"""sqllogictest-style files (``*.test`` here): semantics where Hive and DuckDB differ,
with Hive's answer. Format::

    statement ok|error
    <sql>

    query <types> [rowsort]
    <sql>
    ----
    <tab-separated rows; NULL for null>

A blank line ends a record; ``#`` starts a comment line.
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest

import sql

HERE = Path(__file__).parent


def fmt(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return f"{v:.1f}"
        return repr(round(v, 9))
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{fmt(k)}: {fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def records(path: Path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            i += 1
            continue
        head = line.split()
        start = i + 1
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() and lines[i].strip() != "----":
            body.append(lines[i])
            i += 1
        expected = []
        if i < len(lines) and lines[i].strip() == "----":
            i += 1
            while i < len(lines) and lines[i].strip():
                expected.append(lines[i].rstrip("\n"))
                i += 1
        yield start, head, "\n".join(body), expected


def cases():
    for f in sorted(HERE.glob("*.test")):
        yield pytest.param(f, id=f.stem)


@pytest.mark.parametrize("path", list(cases()))
def test_slt(path: Path):
    conn = sql.connect()
    cur = conn.cursor()
    try:
        for line, head, text, expected in records(path):
            where = f"{path.name}:{line}"
            if head[0] == "statement":
                if head[1] == "ok":
                    cur.execute(text)
                else:
                    with pytest.raises(sql.Error) as ex:
                        cur.execute(text)
                        if cur.description is not None:
                            cur.fetchall()
                    if len(head) > 2:
                        assert " ".join(head[2:]).lower() in str(ex.value).lower(), (where, str(ex.value))
                continue
            assert head[0] == "query", where
            cur.execute(text)
            got = ["\t".join(fmt(v) for v in row) for row in cur.fetchall()]
            if "rowsort" in head:
                got, expected = sorted(got), sorted(expected)
            assert got == expected, f"{where}\n{text}\ngot:\n" + "\n".join(got) + "\nexpected:\n" + "\n".join(expected)
    finally:
        conn.close()
