"""Optimized plans of repeated queries, reused with new literal values.

A point query spends most of its time in the front end, not reading data: parsing,
binding and optimizing a one-row lookup on a cached table cost twice as long as running
it, and TPC-H-style reports repeat the same text every time. A session keeps the
optimized logical plans of the queries it ran, keyed by their *shape*: the statement's
tokens, with the literals that stand right after a comparison operator (``=``, ``<>``,
``<``, …) or alone in an ``IN (…)`` list lifted out as parameters, each with its bound
type. ``… WHERE c_custkey = 17`` and ``… WHERE c_custkey = 4242`` share one entry.

A template is only trusted when it is known to be one. On a miss the statement is planned
twice: as written, and with every parameter changed to a value of its own (the *probe*).
The two optimized plans must then be equal except in literals whose two values are one
parameter's two values, and every parameter must show up that way. A rule that folded a
parameter into something else (``3 < 5`` to TRUE), a plan whose shape depends on a value,
or a literal that changed type on the way all make the plans differ elsewhere or lose the
parameter: such a shape is remembered as not parameterizable and its statements are cached
by their exact text. Which parameters are equal to which is part of the key, because
``GROUP BY a = 5`` only matches ``SELECT a = 5`` while both literals are the same. What
this cannot see: one literal that binding copied to two places, one copy folded the same
way for the value and its probe but not for a later value; parameters are whole operands
of comparisons (never of arithmetic), which keeps such copies out of reach of folding.

On a hit nothing is parsed or bound: the template's literals get the new values, and every
table is resolved again (``Tables.lookup``), so that a scan reads the table's current files
or cache entry and counts its own unparsable fields. An entry is used only while nothing
was committed to the metastore since it was made (``Catalog.change_token``, which sees
other processes' commits too) and a table still resolves to the same kind of source; any
change of the session's database, settings, temporary views, registered tables or
functions makes a different key. Statements calling functions whose value depends on when
they run (``current_date``, ``rand()``…) are never cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.dialects.hive import Hive
from sqlglot.tokens import Token, TokenType

from planner import logical as L
from planner.expressions import Literal
from sql.binder import bind_literal

_DIALECT = Hive()
_COMPARISONS = frozenset({TokenType.EQ, TokenType.NEQ, TokenType.LT, TokenType.LTE, TokenType.GT,
                          TokenType.GTE, TokenType.NULLSAFE_EQ})
#: What may follow a parameter: it must be a whole operand, never part of arithmetic a
#: rule could fold (``x = 5 - 4``) into a value that looks like another parameter's.
_ENDS_OPERAND = frozenset(getattr(TokenType, name) for name in (
    "COMMA", "R_PAREN", "AND", "OR", "THEN", "ELSE", "END", "WHEN", "GROUP_BY", "ORDER_BY", "LIMIT",
    "HAVING", "SEMICOLON", "UNION", "EXCEPT", "INTERSECT", "WINDOW", "SORT_BY", "CLUSTER_BY",
    "DISTRIBUTE_BY", "JOIN", "LEFT", "RIGHT", "INNER", "FULL", "CROSS", "OUTER", "WHERE", "SEMI", "ANTI")
    if hasattr(TokenType, name)) | {None}
_QUERY_STARTS = frozenset({TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN, TokenType.FROM})
#: Functions whose value depends on when or where they run: a plan may have folded them.
_VOLATILE = frozenset({"rand", "random", "uuid", "now", "unix_timestamp", "current_date", "current_timestamp",
                       "current_user", "current_database", "current_schema", "input_file_name",
                       "monotonically_increasing_id", "reflect", "java_method", "localtimestamp"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}")
_INTEGER = re.compile(r"-?[1-9]\d*|0")


@dataclass(frozen=True, slots=True)
class Shape:
    """A statement's cache keys and its parameters' values."""

    key: tuple[Any, ...]  # tokens; parameters as (type, equality group)
    exact: tuple[Any, ...]  # ``key`` plus the parameters' values: this very statement
    values: tuple[Literal, ...]  # the bound literal of each parameter, in text order
    probe: str | None  # the statement with every parameter changed, None if none can be


def shape_of(text: str) -> Shape | None:
    """The statement's shape, or None when it is not a query a plan can be kept for."""
    try:
        tokens = _DIALECT.tokenize(text)
    except Exception:  # noqa: BLE001 - the parser will report it properly
        return None
    if not tokens or tokens[0].token_type not in _QUERY_STARTS:
        return None
    key: list[Any] = []
    groups: dict[Literal, int] = {}
    spans: list[Token] = []
    values: list[Literal] = []
    for i, tok in enumerate(tokens):
        kind = tok.token_type
        if kind in (TokenType.PLACEHOLDER, TokenType.PARAMETER) or kind.name.startswith("CURRENT_"):
            return None
        if kind not in (TokenType.STRING, TokenType.NUMBER) and tok.text.lower() in _VOLATILE:
            return None  # sqlglot gives some of them token types of their own (UUID)
        literal = _parameter(tokens, i)
        if literal is None:
            key.append((kind, tok.text))
            continue
        key.append(("?", literal.type, groups.setdefault(literal, len(groups))))
        spans.append(tok)
        values.append(literal)
    exact = (tuple(key), tuple(values))
    return Shape(tuple(key), exact, tuple(values), _probe_text(text, spans, values) if values else None)


def _parameter(tokens: list[Token], i: int) -> Literal | None:
    """The bound literal of token ``i`` if it may become a parameter."""
    tok = tokens[i]
    if tok.token_type not in (TokenType.NUMBER, TokenType.STRING):
        return None
    before = tokens[i - 1].token_type if i else None
    after = tokens[i + 1].token_type if i + 1 < len(tokens) else None
    if TokenType.STRING in (before, after) and tok.token_type == TokenType.STRING:
        return None  # adjacent strings are one literal
    if after not in _ENDS_OPERAND:
        return None
    if before not in _COMPARISONS and not _in_list_item(tokens, i):
        return None
    node = exp.Literal.string(tok.text) if tok.token_type == TokenType.STRING else exp.Literal.number(tok.text)
    try:
        return bind_literal(node)
    except (ValueError, ArithmeticError):
        return None


def _in_list_item(tokens: list[Token], i: int) -> bool:
    """Token ``i`` is a whole item of ``IN (…)``: ``IN ( x ,`` … ``, x )``."""
    if i + 1 >= len(tokens) or tokens[i + 1].token_type not in (TokenType.COMMA, TokenType.R_PAREN):
        return False
    j = i - 1
    while j >= 1 and tokens[j].token_type == TokenType.COMMA and tokens[j - 1].token_type in (
            TokenType.NUMBER, TokenType.STRING):
        j -= 2
    return j >= 1 and tokens[j].token_type == TokenType.L_PAREN and tokens[j - 1].token_type == TokenType.IN


def _probe_text(text: str, spans: list[Token], values: list[Literal]) -> str | None:
    """Every parameter changed to a value of its own, even where two were equal: a rule
    that folded one copy of a value (``3 = 1`` in a CASE) while another stayed
    (``k = 1``) then leaves that parameter missing from the plan, instead of hiding it."""
    probes = _probe_values(values)
    if probes is None:
        return None
    out, at = [], 0
    for tok, probe in zip(spans, probes):
        out += [text[at:tok.start], probe]
        at = tok.end + 1
    out.append(text[at:])
    return "".join(out)


def _probe_values(values: list[Literal]) -> list[str] | None:
    """A literal text per parameter, of the same type, unequal to every value and each other."""
    taken = {v.value for v in values}
    probes: list[str] = []
    for v in values:
        for step in range(1, 50):
            candidate = _changed(v, step)
            if candidate is None:
                return None
            text, value = candidate
            if value not in taken:
                taken.add(value)
                probes.append(text)
                break
        else:
            return None
    return probes


def _changed(lit: Literal, step: int) -> tuple[str, Any] | None:
    """``lit`` moved by ``step`` in a way that keeps its text's form, as (text, value)."""
    v = lit.value
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        bits = 31 if pa.types.is_int32(lit.type) else 63
        w = v + step if v + step < 2 ** bits else v - step
        return str(w), w
    if isinstance(v, decimal.Decimal):
        w = v + decimal.Decimal(step).scaleb(v.as_tuple().exponent)  # type: ignore[arg-type]
        return str(w), w
    if isinstance(v, float):
        w = v + step if v == 0 else v * (1 + step / 64)
        return f"{w:.17e}", w
    if isinstance(v, str):
        return _changed_string(v, step)
    return None


def _changed_string(v: str, step: int) -> tuple[str, str] | None:
    """A string of the same form: dates stay valid dates, numbers numbers, words words."""
    if _DATE.fullmatch(v):
        try:
            w = (dt.date.fromisoformat(v) + dt.timedelta(days=step)).isoformat()
        except ValueError:
            return None
    elif _TIMESTAMP.match(v):
        try:
            moved = dt.datetime.fromisoformat(v) + dt.timedelta(seconds=step)
        except ValueError:
            return None
        w = moved.isoformat(sep=v[10]) if "." in v else moved.replace(microsecond=0).isoformat(sep=v[10])
        if len(w) != len(v):
            return None
    elif _INTEGER.fullmatch(v):
        w = str(int(v) + step)
    elif v and v.isalpha():
        w = v + "abcdefghijklmnopqrstuvwxyz"[step % 26] * (1 + step // 26)
    else:
        return None
    return "'" + w.replace("\\", "\\\\").replace("'", "\\'") + "'", w


# ------------------------------------------------------------------ templates

Step = str | int  # a dataclass field name or a tuple index
Path = tuple[Step, ...]


class _Mismatch(Exception):
    """The two plans differ other than in a parameter."""


@dataclass(frozen=True, slots=True)
class Template:
    """An optimized plan with the places of its parameters and of its table scans."""

    plan: L.LogicalPlan
    names: tuple[str, ...]
    holes: tuple[tuple[Path, int], ...]  # (where, which parameter)
    scans: tuple[Path, ...]
    lookups: tuple[tuple[tuple[str, ...], int, type], ...]  # (table name, id and type of its source)
    token: Any  # the catalog's change token when the plan was made

    def instantiate(self, values: tuple[Literal, ...], sources: dict[int, Any]) -> L.LogicalPlan:
        """The plan with parameter ``i`` set to ``values[i]`` and each scan of a source
        whose id is in ``sources`` reading the new source instead."""
        edits: dict[Path, Callable[[Any], Any]] = {}
        for path, i in self.holes:
            edits[path] = _set_literal(values[i])
        for path in self.scans:
            edits[path] = _set_source(sources)
        return _apply(self.plan, _trie(edits))


def template(first: L.LogicalPlan, probe: L.LogicalPlan | None, names: tuple[str, ...],
             values: tuple[Literal, ...], probe_values: tuple[Literal, ...],
             lookups: tuple[tuple[tuple[str, ...], int, type], ...], token: Any) -> Template | None:
    """``first`` as a template, if ``probe`` (the same query planned with ``probe_values``)
    differs from it only where parameters are; None if the plans say it is not one, or
    if a scan reads a source that was not found by name (it could not be refreshed)."""
    pairs = {(a.value, b.value): i for i, (a, b) in enumerate(zip(values, probe_values))}
    holes: list[tuple[Path, int]] = []
    scans: list[tuple[Path, int]] = []
    try:
        _diff(first, first if probe is None else probe, (), pairs, holes, scans)
    except _Mismatch:
        return None
    if {i for _, i in holes} != set(range(len(values))):
        return None  # a parameter was folded away: its value decided something
    if not {source_id for _, source_id in scans} <= {source_id for _, source_id, _ in lookups}:
        return None  # e.g. a TABLESAMPLE wrapper made while binding
    return Template(first, names, tuple(holes), tuple(path for path, _ in scans), lookups, token)


def _diff(a: Any, b: Any, path: Path, pairs: dict[tuple[Any, Any], int],
          holes: list[tuple[Path, int]], scans: list[tuple[Path, int]]) -> None:
    if type(a) is not type(b):
        raise _Mismatch(path)
    if isinstance(a, Literal):
        if a != b:
            i = pairs.get((a.value, b.value))
            if i is None or a.type != b.type:
                raise _Mismatch(path)
            holes.append((path, i))
        return
    if isinstance(a, (tuple, list)):
        if len(a) != len(b):
            raise _Mismatch(path)
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, path + (i,), pairs, holes, scans)
        return
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        if isinstance(a, L.Scan):
            scans.append((path, a.source_id))
        for f in dataclasses.fields(a):
            if not f.init:
                continue
            if isinstance(a, L.Scan) and f.name in ("source", "source_id"):
                continue
            x, y = getattr(a, f.name), getattr(b, f.name)
            if not f.compare:
                if x is not y:
                    raise _Mismatch(path + (f.name,))
                continue
            _diff(x, y, path + (f.name,), pairs, holes, scans)
        return
    try:
        same = bool(a is b or a == b)
    except Exception:  # noqa: BLE001 - objects that cannot say are not the same
        same = False
    if not same:
        raise _Mismatch(path)


def _set_literal(value: Literal) -> Callable[[Any], Any]:
    return lambda old: Literal(value.value, old.type)


def _set_source(sources: dict[int, Any]) -> Callable[[Any], Any]:
    def swap(scan: L.Scan) -> L.Scan:
        new = sources.get(scan.source_id)
        return scan if new is None else dataclasses.replace(scan, source=new, source_id=id(new))
    return swap


@dataclass
class _Node:
    children: dict[Step, _Node] = dataclasses.field(default_factory=dict)
    edit: Callable[[Any], Any] | None = None


def _trie(edits: dict[Path, Callable[[Any], Any]]) -> _Node:
    root = _Node()
    for path, edit in edits.items():
        node = root
        for step in path:
            node = node.children.setdefault(step, _Node())
        node.edit = edit
    return root


def _apply(value: Any, node: _Node) -> Any:
    if node.children:
        if isinstance(value, tuple):
            items = list(value)
            for step, child in node.children.items():
                items[step] = _apply(items[step], child)  # type: ignore[index]
            value = tuple(items)
        elif isinstance(value, list):
            value = list(value)
            for step, child in node.children.items():
                value[step] = _apply(value[step], child)  # type: ignore[index]
        else:
            value = dataclasses.replace(value, **{str(step): _apply(getattr(value, str(step)), child)
                                                  for step, child in node.children.items()})
    return node.edit(value) if node.edit is not None else value


# ------------------------------------------------------------------ the cache

#: What a shape maps to when its plans proved not to be templates: use exact texts.
NOT_A_TEMPLATE = object()


class PlanCache:
    """A session's templates, least recently used first out (cursors of one connection
    may run in several threads, hence the lock)."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Any) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._entries)
