"""Exact decimal division and remainder, pmod, chr, initcap and comparisons with NULL:
each answer checked against Python's decimal module or DuckDB on the same values."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import duckdb
import pytest

import sql

VALUES = ["1.0", "-1.0", "0.5", "7.5", "3.3", "-2.7", "123456.789", "0.013"]


@pytest.fixture(scope="module")
def cur():
    conn = sql.connect()
    yield conn.cursor()
    conn.close()


def _values_cte(values: list[str], type_: str) -> str:
    rows = ", ".join(f"(cast('{v}' as {type_}))" for v in values)
    return f"with t as (select * from (values {rows}) v(x))"


@pytest.mark.parametrize("type_", ["decimal(2,1)", "decimal(10,3)", "decimal(15,2)", "decimal(20,4)"])
def test_division_rounds_half_up_at_the_result_scale(cur, type_: str) -> None:
    values = [v for v in VALUES if len(v.replace("-", "").replace(".", "")) <= int(type_.split("(")[1].split(",")[0])]
    cur.execute(f"{_values_cte(values, type_)} select x, 1 / x, x / 7, x / cast(7.0 as decimal(3,1)) from t")
    rows = cur.fetchall()
    assert len(rows) == len(values)
    with localcontext() as ctx:
        ctx.prec = 60
        for x, inv, by7, by7d in rows:
            for got, exact in ((inv, Decimal(1) / x), (by7, x / 7), (by7d, x / Decimal("7.0"))):
                quantum = Decimal(1).scaleb(got.as_tuple().exponent)
                assert got == exact.quantize(quantum, rounding=ROUND_HALF_UP), (x, got, exact)
                assert -got.as_tuple().exponent >= 6  # Hive: a quotient keeps at least 6 digits


@pytest.mark.parametrize("type_", ["decimal(2,1)", "decimal(15,2)", "decimal(20,1)", "decimal(38,1)"])
def test_remainder_is_exact_with_the_dividends_sign(cur, type_: str) -> None:
    big = "12345678901234567.5" if "20" in type_ or "38" in type_ else "7.5"
    values = ["1.0", "-1.0", "0.5", "7.5", "-7.5", big, "-" + big]
    values = [v for v in values if len(v.replace("-", "").replace(".", "")) <= int(type_.split("(")[1].split(",")[0])]
    cur.execute(f"{_values_cte(values, type_)} select x, x % cast(0.7 as {type_}), x % x, pmod(x, cast(0.7 as {type_})) from t")
    with localcontext() as ctx:
        ctx.prec = 60
        for x, rem, self_rem, pmod in cur.fetchall():
            assert rem == x % Decimal("0.7"), (x, rem)
            assert self_rem == 0
            assert pmod == (x % Decimal("0.7") + Decimal("0.7")) % Decimal("0.7")


def test_division_and_remainder_by_zero_are_null(cur) -> None:
    cur.execute(f"{_values_cte(['1.5', '-2.5'], 'decimal(2,1)')} select x / 0, x % 0, 1 / (x - x), pmod(x, 0) from t")
    assert cur.fetchall() == [(None, None, None, None)] * 2


def test_integer_pmod_chr_initcap_match_duckdb(cur) -> None:
    query = ("select pmod(-7, 3), pmod(7, -3), pmod(-7, -3), chr(65), chr(97 + 256), chr(-1), "
             "initcap('hello world'), initcap('ALL CAPS here')")
    cur.execute(query)
    got = cur.fetchall()
    # DuckDB has neither pmod nor initcap: the same definitions written out
    expected = duckdb.sql("select ((-7 % 3) + 3) % 3, ((7 % -3) + -3) % -3, ((-7 % -3) + -3) % -3, "
                          "chr(65), chr(97), '', 'Hello World', 'All Caps Here'").fetchall()
    assert got == expected


def test_comparisons_with_untyped_null_are_null(cur) -> None:
    cur.execute("select null = null, null <> null, 1 = null, null < 2, null <=> null")
    assert cur.fetchall() == [(None, None, None, None, True)]
    cur.execute("with t as (select * from (values (1), (2)) v(x)) select x, null = null, x > null from t")
    assert cur.fetchall() == [(1, None, None), (2, None, None)]


def test_string_to_decimal_rounds_half_up_and_overflows_to_null(cur) -> None:
    cur.execute("select cast('123456.789' as decimal(15,2)), cast('0.005' as decimal(15,2)), "
                "cast('-0.005' as decimal(15,2)), cast('1.23456' as decimal(10,3)), "
                "cast('12345' as decimal(4,0)), cast('abc' as decimal(10,2)), cast(' 7.5 ' as decimal(2,1))")
    assert cur.fetchall() == [(Decimal("123456.79"), Decimal("0.01"), Decimal("-0.01"), Decimal("1.235"),
                               None, None, Decimal("7.5"))]


def test_decimal_to_double_is_correctly_rounded(cur) -> None:
    """4.35 as a DOUBLE is the double nearest 4.35 (Arrow's own cast gives
    4.3500000000000005), in casts, in mixed arithmetic and in constants alike."""
    values = ["4.35", "-0.10", "123456789012.34", "0.07", "1.15", "2.675"]
    cur.execute(f"{_values_cte(values, 'decimal(15,2)')} select x, cast(x as double), x * 1.0e0, x + cast(0 as double) from t")
    for x, as_double, times_one, plus_zero in cur.fetchall():
        assert as_double == times_one == plus_zero == float(x), x
    cur.execute("select cast(4.35 as double), cast(4.35 as decimal(5,2)) * 1.0e0")
    assert cur.fetchall() == [(4.35, 4.35)]
