"""SQLAlchemy 2 over psycopg and pg8000: engine, text() with parameters, the inspector."""

from __future__ import annotations

import pytest

from tests.server.conftest import ServerInfo, need_module


@pytest.fixture(params=["psycopg", "pg8000"])
def engine(request: pytest.FixtureRequest, server: ServerInfo):  # type: ignore[no-untyped-def]
    sa = need_module("sqlalchemy")
    need_module(request.param)
    url = f"postgresql+{request.param}://{server.user}:{server.password}@{server.host}:{server.port}/lamna"
    eng = sa.create_engine(url, pool_pre_ping=True)  # type: ignore[attr-defined]
    yield eng
    eng.dispose()


def test_text_with_parameters(engine) -> None:  # type: ignore[no-untyped-def]
    sa = need_module("sqlalchemy")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, name FROM items WHERE id >= :low ORDER BY id"), {"low": 2}).all()
        assert [tuple(r) for r in rows] == [(2, "pear"), (3, "fig")]
        assert conn.execute(sa.text("SELECT count(*) FROM numbers")).scalar() == 50
        with conn.begin_nested():
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1


def test_inspector_lists_tables_and_columns(engine) -> None:  # type: ignore[no-untyped-def]
    sa = need_module("sqlalchemy")
    insp = sa.inspect(engine)
    assert {"items", "numbers"} <= set(insp.get_table_names())
    assert "public" in insp.get_schema_names()
    cols = {c["name"]: c for c in insp.get_columns("items")}
    assert list(cols) == ["id", "name", "price", "sold", "ts", "ratio", "flag", "big", "small"]
    assert isinstance(cols["id"]["type"], sa.INTEGER)
    assert isinstance(cols["price"]["type"], sa.NUMERIC) and cols["price"]["type"].scale == 2
    assert isinstance(cols["sold"]["type"], sa.DATE)
    assert isinstance(cols["big"]["type"], sa.BIGINT)
    assert insp.has_table("numbers") and not insp.has_table("nosuch")
    assert insp.get_pk_constraint("items")["constrained_columns"] == []
    assert insp.get_foreign_keys("items") == []
    assert insp.get_indexes("items") == []


def test_error_is_programming_error(engine) -> None:  # type: ignore[no-untyped-def]
    sa = need_module("sqlalchemy")
    with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError):
        conn.execute(sa.text("SELECT nosuch FROM items"))
