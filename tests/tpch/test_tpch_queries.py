"""The query text: 22 files, parseable as HiveQL, right on DuckDB, matching the answers
shipped for SF 0.01."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot

from tpch import duck
from tpch.datadir import DataSet
from tpch.errors import TpchError
from tpch.queries import ALL, SPECS, load, load_all, parse_selection, split_statements
from tpch.reference import Reference, stored_answer
from tpch.validate import compare


def test_twenty_two_query_files() -> None:
    qs = load_all()
    assert [q.number for q in qs] == list(range(1, 23))
    assert all(q.statements for q in qs)


def test_q15_creates_queries_and_drops_the_view() -> None:
    q = load(15)
    assert len(q.statements) == 3
    assert q.statements[0].lower().startswith("create view revenue0")
    assert q.statements[2].lower() == "drop view revenue0"
    assert q.result_index == 1


@pytest.mark.parametrize("number", ALL)
def test_parses_as_hiveql(number: int) -> None:
    for statement in load(number).statements:
        sqlglot.parse_one(statement, read="hive")


@pytest.mark.parametrize("number", ALL)
def test_duckdb_answer_matches_stored_sf001_answer(number: int, duck_answers: dict) -> None:
    stored = stored_answer(number)
    assert stored is not None
    verdict = compare(SPECS[number], stored, duck_answers[number])
    assert verdict.ok, verdict.message


def test_same_answers_from_parquet(parquet_data: DataSet, duck_answers: dict) -> None:
    con = duck.connect(parquet_data)
    try:
        for q in load_all(sf=0.01):
            verdict = compare(q.spec, duck_answers[q.number], duck.run(con, q))
            assert verdict.ok, f"{q.name}: {verdict.message}"
    finally:
        con.close()


def test_known_shapes_at_sf001(duck_answers: dict) -> None:
    assert duck_answers[1].num_rows == 4
    assert duck_answers[3].num_rows == 10
    assert duck_answers[10].num_rows == 20
    assert duck_answers[6].column(0)[0].as_py() is not None


def test_spec_order_keys_point_at_real_columns(duck_answers: dict) -> None:
    for n, spec in SPECS.items():
        width = duck_answers[n].num_columns
        assert all(k.column < width for k in spec.order), n
        assert all(c < width for c in spec.approx), n


def test_reference_uses_duckdb_and_caches(tbl_data: DataSet, duck_answers: dict) -> None:
    ref = Reference(tbl_data)
    try:
        assert ref.source.startswith("DuckDB")
        a = ref.answer(6)
        assert compare(SPECS[6], duck_answers[6], a).ok
        assert ref._cache_path(6).is_file()
    finally:
        ref.close()


def test_reference_without_duckdb_uses_stored(tbl_data: DataSet) -> None:
    ref = Reference(tbl_data, use_duckdb=False)
    assert "stored" in ref.source
    assert isinstance(ref.answer(1), pa.Table)


def test_reference_without_duckdb_at_other_sf_is_an_error(tbl_data: DataSet) -> None:
    other = DataSet(tbl_data.root, 1.0, "tbl")
    with pytest.raises(TpchError, match="pip install duckdb"):
        Reference(other, use_duckdb=False)


def test_split_statements_keeps_semicolons_in_strings() -> None:
    assert split_statements("select ';' from t; -- c;\nselect 2;") == (
        "select ';' from t",
        "select 2",
    )


def test_parse_selection() -> None:
    assert parse_selection("1,3,5-9") == (1, 3, 5, 6, 7, 8, 9)
    assert parse_selection(None) == ALL
    assert parse_selection("q2, 2,22") == (2, 22)
    for bad in ("0", "23", "a", "5-2", "1,,x"):
        with pytest.raises(TpchError):
            parse_selection(bad)


def test_a_damaged_query_file_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import tpch.queries as queries

    real = queries.query_text
    monkeypatch.setattr(queries, "query_text", lambda n: "select (a from t" if n == 5 else real(n))
    with pytest.raises(TpchError) as info:
        queries.check_parses(queries.load_all((1, 5)))
    assert "q05.sql does not parse" in str(info.value)
    assert "\n" not in str(info.value)


def test_q11_fraction_follows_the_scale_factor() -> None:
    """Spec 2.4.11.3: FRACTION = 0.0001 / SF, so the answer's size does not grow with SF."""
    from tpch.queries import scale_parameters

    assert scale_parameters(1)["FRACTION"] == "0.0001"
    assert scale_parameters(0.01)["FRACTION"] == "0.01"
    assert scale_parameters(10)["FRACTION"] == "0.00001"
    assert "* 0.001\n" in load(11, 0.1).text
    assert "${" not in "".join(q.text for q in load_all(sf=0.01))
