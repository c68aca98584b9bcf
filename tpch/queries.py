"""The 22 queries: their text (shipped as .sql files) and what validation needs to know.

The text is the specification's, with the qualification (validation) parameters
substituted, in standard SQL that HiveQL, DuckDB and Spark SQL all accept. The one
parameter that depends on the scale factor, Q11's FRACTION (0.0001 / SF), is written
``${FRACTION}`` in the file and filled in by `load` for the data's scale factor. A file may
hold several statements separated by ';' (Q15 creates, queries and drops a view); the
answer is the one statement that returns rows.

`ORDER_KEYS` is written out by hand from each query's ORDER BY (output column positions,
descending or not) because validation needs it to tell a wrong order from a tie, and a
hand-written table is easier to review against the spec than a parse of the SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

from tpch.errors import TpchError

ALL = tuple(range(1, 23))


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY item, as a position in the query's output."""

    column: int
    descending: bool = False


@dataclass(frozen=True)
class QuerySpec:
    """What the answer rules need per query.

    `order`: the ORDER BY keys (empty when the query does not order its rows).
    `limit`: the row limit the spec asks for, if any.
    `approx`: output positions that are averages or ratios; the spec compares them
    within 1% after rounding to 1/100, rather than to the cent.
    """

    number: int
    order: tuple[SortKey, ...] = ()
    limit: int | None = None
    approx: tuple[int, ...] = ()

    @property
    def ordered(self) -> bool:
        return bool(self.order)


def _k(*items: int | str) -> tuple[SortKey, ...]:
    """_k(0, '2d') -> ascending on column 0, descending on column 2."""
    keys = []
    for item in items:
        if isinstance(item, str):
            keys.append(SortKey(int(item[:-1]), descending=item.endswith("d")))
        else:
            keys.append(SortKey(item))
    return tuple(keys)


SPECS: dict[int, QuerySpec] = {
    s.number: s
    for s in (
        QuerySpec(1, _k(0, 1), approx=(6, 7, 8)),
        QuerySpec(2, _k("0d", 2, 1, 3), limit=100),
        QuerySpec(3, _k("1d", 2), limit=10),
        QuerySpec(4, _k(0)),
        QuerySpec(5, _k("1d")),
        QuerySpec(6),
        QuerySpec(7, _k(0, 1, 2)),
        QuerySpec(8, _k(0), approx=(1,)),
        QuerySpec(9, _k(0, "1d")),
        QuerySpec(10, _k("2d"), limit=20),
        QuerySpec(11, _k("1d")),
        QuerySpec(12, _k(0)),
        QuerySpec(13, _k("1d", "0d")),
        QuerySpec(14, approx=(0,)),
        QuerySpec(15, _k(0)),
        QuerySpec(16, _k("3d", 0, 1, 2)),
        QuerySpec(17, approx=(0,)),
        QuerySpec(18, _k("4d", 3), limit=100),
        QuerySpec(19),
        QuerySpec(20, _k(0)),
        QuerySpec(21, _k("1d", 0), limit=100),
        QuerySpec(22, _k(0)),
    )
}


@dataclass(frozen=True)
class Query:
    """A query's statements; `result_index` is the statement whose rows are the answer."""

    number: int
    statements: tuple[str, ...]
    result_index: int

    @property
    def name(self) -> str:
        return f"q{self.number:02d}"

    @property
    def spec(self) -> QuerySpec:
        return SPECS[self.number]

    @property
    def text(self) -> str:
        return ";\n\n".join(self.statements)


def _strip_comments(sql: str) -> str:
    """Drop '--' line comments (the query files hold no '--' inside strings)."""
    return "\n".join(re.sub(r"--.*$", "", line) for line in sql.splitlines())


def split_statements(sql: str) -> tuple[str, ...]:
    """Split on ';' outside string literals; drop empty statements and comments."""
    sql = _strip_comments(sql)
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return tuple(s.strip() for s in out if s.strip())


def _result_index(statements: tuple[str, ...]) -> int:
    selects = [
        i for i, s in enumerate(statements) if re.match(r"(select|with)\b", s, re.IGNORECASE)
    ]
    if len(selects) != 1:
        raise ValueError("expected exactly one SELECT")
    return selects[0]


def query_text(number: int) -> str:
    """The raw text of qNN.sql as shipped in the package."""
    if number not in SPECS:
        raise TpchError(f"there is no TPC-H query {number}: choose from 1 to 22")
    return resources.files("tpch").joinpath("queries", f"q{number:02d}.sql").read_text()


def scale_parameters(sf: float) -> dict[str, str]:
    """The substitution parameters that depend on the scale factor (spec 2.4.11.3)."""
    return {"FRACTION": format(Decimal("0.0001") / Decimal(str(sf)), "f")}


def substitute(text: str, sf: float) -> str:
    """`text` with every ``${NAME}`` replaced by its value at scale factor `sf`."""
    values = scale_parameters(sf)
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


def load(number: int, sf: float = 1.0) -> Query:
    """Query `number` at scale factor `sf`, split into statements; TpchError if the file
    is unusable."""
    text = substitute(query_text(number), sf)
    statements = split_statements(text)
    try:
        index = _result_index(statements)
    except ValueError:
        raise TpchError(
            f"tpch/queries/q{number:02d}.sql must hold exactly one SELECT: "
            "restore it from the package (`git checkout tpch/queries`)"
        ) from None
    return Query(number, statements, index)


def load_all(numbers: tuple[int, ...] = ALL, sf: float = 1.0) -> tuple[Query, ...]:
    return tuple(load(n, sf) for n in numbers)


def check_parses(queries: tuple[Query, ...]) -> None:
    """Parse every statement as HiveQL before anything runs.

    A damaged query file is then one line naming the file, rather than 22 timed runs
    of which some fail for a reason that has nothing to do with the engine.
    """
    import sqlglot
    from sqlglot.errors import SqlglotError

    for q in queries:
        for statement in q.statements:
            try:
                sqlglot.parse_one(statement, read="hive")
            except SqlglotError as e:
                detail = (str(e).strip().splitlines() or ["syntax error"])[0]
                raise TpchError(
                    f"tpch/queries/{q.name}.sql does not parse ({detail}): "
                    "restore it from the package (`git checkout tpch/queries`)"
                ) from None


def parse_selection(text: str | None) -> tuple[int, ...]:
    """'1,3,5-9' -> (1, 3, 5, 6, 7, 8, 9); None or 'all' -> all 22, in order."""
    if text is None or text.strip().lower() in ("", "all"):
        return ALL
    chosen: set[int] = set()
    for part in text.split(","):
        part = part.strip().lower().lstrip("q")
        try:
            if "-" in part:
                lo, hi = (int(x.strip().lstrip("q")) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                chosen.update(range(lo, hi + 1))
            else:
                chosen.add(int(part))
        except ValueError:
            raise TpchError(
                f"bad query selection {text!r}: use numbers and ranges like 1,3,5-9"
            ) from None
    bad = sorted(n for n in chosen if n not in SPECS)
    if bad:
        raise TpchError(
            f"there is no TPC-H query {bad[0]}: choose numbers from 1 to 22, e.g. 1,3,5-9"
        )
    return tuple(sorted(chosen))
