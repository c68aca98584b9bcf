"""Completion: keywords, functions, meta-commands, tables after FROM, columns in scope."""

from __future__ import annotations

from typing import Any

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from sql.shell.completion import CatalogNames, SqlCompleter


class _Backend:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def query_rows(self, sql: str) -> list[tuple[Any, ...]]:
        self.queries.append(sql)
        if sql == "SHOW TABLES":
            return [("people",), ("pets",), ("orders",)]
        if sql.startswith("DESCRIBE"):
            table = sql.split()[-1]
            cols = {"people": ["id", "name", "age"], "pets": ["owner", "kind"], "orders": ["okey", "dt"]}[table]
            rows: list[tuple[Any, ...]] = [(c, "int", "") for c in cols]
            if table == "orders":
                rows += [("# Partition Information", "", ""), ("# col_name", "data_type", ""), ("dt", "string", "")]
            return rows
        return []


class _Handle:
    def __init__(self, backend: Any) -> None:
        self.ready = backend


def _complete(text: str, backend: Any = None) -> list[str]:
    """Completions at the ``|`` in ``text`` (at the end when there is none)."""
    cursor = text.index("|") if "|" in text else len(text)
    text = text.replace("|", "")
    names = CatalogNames(_Handle(backend or _Backend()))  # type: ignore[arg-type]
    doc = Document(text, cursor)
    return [c.text for c in SqlCompleter(names).get_completions(doc, CompleteEvent(completion_requested=True))]


def test_tables_after_from_and_join() -> None:
    assert _complete("select * from pe") == ["people", "pets"]
    assert _complete("select * from people p join o") == ["orders"]


def test_columns_of_tables_in_the_statement() -> None:
    assert _complete("select na| from people")[:1] == ["name"]
    assert "age" in _complete("select * from people where a")


def test_alias_dot_completes_that_tables_columns() -> None:
    assert _complete("select x.o| from pets x") == ["owner"]
    assert _complete("select a.|, b.kind from people a join pets b on a.id = b.owner") == ["id", "name", "age"]
    assert _complete("select people.na") == ["name"]  # a table name works as its own qualifier


def test_partition_section_of_describe_is_not_repeated() -> None:
    assert _complete("select * from orders where ") == []  # no word typed: nothing to offer
    found = _complete("select d| from orders")
    assert found[0] == "dt" and found.count("dt") == 1


def test_keywords_follow_the_case_typed() -> None:
    assert "SELECT" in _complete("SEL")
    assert "select" in _complete("sel")


def test_functions_complete_with_a_parenthesis() -> None:
    assert "coalesce(" in _complete("select coal")


def test_meta_commands() -> None:
    assert _complete("\\ti") == ["\\timing"]
    assert set(_complete("\\d")) == {"\\dt"}


def test_no_backend_yet_means_keywords_only() -> None:
    names = CatalogNames(_Handle(None))  # type: ignore[arg-type]
    doc = Document("select * from pe", 16)
    assert list(SqlCompleter(names).get_completions(doc, CompleteEvent())) == []


def test_table_names_are_cached_until_invalidated() -> None:
    backend = _Backend()
    names = CatalogNames(_Handle(backend))  # type: ignore[arg-type]
    names.tables()
    names.tables()
    assert backend.queries.count("SHOW TABLES") == 1
    names.invalidate()
    names.tables()
    assert backend.queries.count("SHOW TABLES") == 2


def test_every_completed_function_is_one_the_engine_knows() -> None:
    """Completion never offers a name the binder would call undefined."""
    import sql
    from sql.shell.completion import FUNCTIONS

    cur = sql.connect().cursor()
    unknown = []
    for name in sorted(set(FUNCTIONS)):
        try:
            cur.execute(f"select {name}()")
        except Exception as e:  # wrong arity and the like are fine: the name is known
            if "Undefined function" in str(e):
                unknown.append(name)
    assert unknown == []
