"""pg8000 (pure Python; declares no parameter types, so the server infers them)."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from tests.server.conftest import ServerInfo, need_module


def _native(server: ServerInfo):  # type: ignore[no-untyped-def]
    need_module("pg8000")
    import pg8000.native
    return pg8000.native.Connection(server.user, host=server.host, port=server.port,  # type: ignore[attr-defined]
                                    password=server.password, database="lamna", timeout=60)


def test_native_query_with_parameters(server: ServerInfo) -> None:
    con = _native(server)
    try:
        rows = con.run("SELECT id, name, price, sold, flag FROM items WHERE id = :id", id=1)
        assert rows == [[1, "apple", decimal.Decimal("1.50"), dt.date(2024, 1, 2), True]]
        assert [c["type_oid"] for c in con.columns] == [23, 25, 1700, 1082, 16]
        assert con.columns[0]["table_oid"] != 0 and con.columns[0]["column_attrnum"] == 1
        assert con.run("SELECT count(*) FROM numbers WHERE label = :l", l="n7") == [[1]]
    finally:
        con.close()


def test_dbapi_cursor_and_error(server: ServerInfo) -> None:
    need_module("pg8000")
    import pg8000.dbapi
    conn = pg8000.dbapi.connect(server.user, host=server.host, port=server.port,  # type: ignore[attr-defined]
                                password=server.password, database="lamna")
    try:
        cur = conn.cursor()
        cur.execute("SELECT n FROM numbers WHERE n > %s ORDER BY n", (47,))
        assert [list(r) for r in cur.fetchall()] == [[48], [49], [50]]
        with pytest.raises(pg8000.dbapi.DatabaseError) as info:  # type: ignore[attr-defined]
            cur.execute("SELECT * FROM nosuch")
        assert info.value.args[0]["C"] == "42P01"
        conn.rollback()
        cur.execute("SELECT 1 + 1")
        assert cur.fetchone() == [2]
    finally:
        conn.close()


def test_prepared_statement_reused(server: ServerInfo) -> None:
    con = _native(server)
    try:
        ps = con.prepare("SELECT label FROM numbers WHERE n = :n")
        assert [ps.run(n=i) for i in (1, 2, 3)] == [[["n1"]], [["n2"]], [["n3"]]]
        ps.close()
    finally:
        con.close()
