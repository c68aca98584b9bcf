"""The validator accepts right answers and rejects wrong ones, by the TPC-H rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from tpch.queries import SPECS, QuerySpec, SortKey
from tpch.reference import stored_answer
from tpch.validate import compare


def _replace(table: pa.Table, row: int, col: int, value: object) -> pa.Table:
    values = table.column(col).to_pylist()
    values[row] = value
    return table.set_column(
        col, table.schema.field(col), pa.array(values, table.schema.field(col).type)
    )


def _take(table: pa.Table, order: list[int]) -> pa.Table:
    return table.take(pa.array(order))


@pytest.mark.parametrize("number", range(1, 23))
def test_accepts_the_right_answer(number: int) -> None:
    t = stored_answer(number)
    assert compare(SPECS[number], t, t).ok


def test_rejects_a_cent_off() -> None:
    t = stored_answer(6)  # revenue, DECIMAL(38,4)
    v = t.column(0)[0].as_py()
    verdict = compare(SPECS[6], t, _replace(t, 0, 0, v + Decimal("0.01")))
    assert not verdict.ok and "revenue" in verdict.message
    assert compare(SPECS[6], t, _replace(t, 0, 0, v + Decimal("0.004"))).ok


def test_rejects_a_cent_off_in_a_middle_row_of_an_ordered_answer() -> None:
    t = stored_answer(1)  # sum_base_price, row 3
    v = t.column(3)[2].as_py()
    verdict = compare(SPECS[1], t, _replace(t, 2, 3, v - Decimal("0.01")))
    assert not verdict.ok and "sum_base_price" in verdict.message


def test_accepts_float_money_and_rounded_cents() -> None:
    t = stored_answer(6)
    v = t.column(0)[0].as_py()
    as_float = pa.table({"revenue": pa.array([float(v)])})
    assert compare(SPECS[6], t, as_float).ok
    rounded = pa.table({"revenue": pa.array([float(round(v, 2))])})
    assert compare(SPECS[6], t, rounded).ok


def test_rejects_wrong_row_order_for_ordered_query() -> None:
    t = stored_answer(3)  # ordered by revenue desc
    swapped = _take(t, [1, 0] + list(range(2, t.num_rows)))
    verdict = compare(SPECS[3], t, swapped)
    assert not verdict.ok and "order" in verdict.message


def test_accepts_any_order_for_unordered_query() -> None:
    t = pa.table({"x": [Decimal("1.00"), Decimal("2.00")]})
    spec = QuerySpec(99)
    assert compare(spec, t, _take(t, [1, 0])).ok


def test_accepts_reordered_ties() -> None:
    # Q16 orders by supplier_cnt desc, p_brand, p_type, p_size; build a tie on all keys
    # by comparing only on column 0 and swapping two rows that share it.
    spec = QuerySpec(99, (SortKey(0, descending=True),))
    t = pa.table({"k": [3, 3, 1], "v": ["a", "b", "c"]})
    assert compare(spec, t, _take(t, [1, 0, 2])).ok
    assert not compare(spec, t, _take(t, [2, 0, 1])).ok


def test_ties_in_real_answer_q13() -> None:
    t = stored_answer(13)  # custdist desc, c_count desc: unique, any swap is wrong
    assert not compare(SPECS[13], t, _take(t, [1, 0] + list(range(2, t.num_rows)))).ok


def test_rejects_a_missing_row() -> None:
    t = stored_answer(9)
    verdict = compare(SPECS[9], t, t.slice(0, t.num_rows - 1))
    assert not verdict.ok and "rows" in verdict.message


def test_rejects_a_replaced_row_in_unordered_comparison() -> None:
    t = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    other = pa.table({"a": [1, 2, 4], "b": ["x", "y", "z"]})
    assert not compare(QuerySpec(99), t, other).ok


def test_rejects_a_wrong_string_and_count() -> None:
    t = stored_answer(4)
    assert not compare(SPECS[4], t, _replace(t, 0, 0, "1-URGENT!")).ok
    assert not compare(SPECS[4], t, _replace(t, 0, 1, t.column(1)[0].as_py() + 1)).ok


def test_char_padding_is_insignificant() -> None:
    t = stored_answer(4)
    padded = _replace(t, 0, 0, t.column(0)[0].as_py() + "   ")
    assert compare(SPECS[4], t, padded).ok


def test_integral_decimal_counts_accepted() -> None:
    t = stored_answer(4)
    as_decimal = t.set_column(
        1, "order_count", pa.array([Decimal(v) for v in t.column(1).to_pylist()])
    )
    assert compare(SPECS[4], t, as_decimal).ok


def test_average_within_one_percent_after_rounding() -> None:
    t = stored_answer(1)  # column 6 avg_qty ~ 25.5
    v = t.column(6)[0].as_py()
    assert compare(SPECS[1], t, _replace(t, 0, 6, round(v, 2))).ok
    assert compare(SPECS[1], t, _replace(t, 0, 6, v * 1.005)).ok
    assert not compare(SPECS[1], t, _replace(t, 0, 6, v * 1.02)).ok


def test_ratio_q14_rule() -> None:
    t = stored_answer(14)
    v = t.column(0)[0].as_py()
    assert compare(SPECS[14], t, pa.table({"p": [round(v, 2)]})).ok
    assert not compare(SPECS[14], t, pa.table({"p": [v * 1.05]})).ok


def test_dates_and_timestamps_at_midnight() -> None:
    t = stored_answer(3)
    ts = [dt.datetime.combine(d, dt.time(0)) for d in t.column(2).to_pylist()]
    as_ts = t.set_column(2, "o_orderdate", pa.array(ts, pa.timestamp("us")))
    assert compare(SPECS[3], t, as_ts).ok
    bumped = [d + dt.timedelta(days=1) for d in t.column(2).to_pylist()]
    assert not compare(SPECS[3], t, t.set_column(2, "o_orderdate", pa.array(bumped))).ok


def test_nulls_and_column_count() -> None:
    t = stored_answer(17)  # NULL at SF 0.01: no part qualifies
    assert t.column(0)[0].as_py() is None
    assert compare(SPECS[17], t, t).ok
    assert not compare(SPECS[17], t, pa.table({"a": [1.0]})).ok
    verdict = compare(SPECS[6], stored_answer(6), pa.table({"a": [1], "b": [2]}))
    assert not verdict.ok and "columns" in verdict.message


def test_column_names_do_not_matter() -> None:
    t = stored_answer(18)
    renamed = t.rename_columns([f"c{i}" for i in range(t.num_columns)])
    assert compare(SPECS[18], t, renamed).ok
