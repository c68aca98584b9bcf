"""What a client statement is, before the engine sees it.

PostgreSQL clients send forms the engine has no business knowing: transaction control,
``SET``/``SHOW`` of PostgreSQL settings, ``DECLARE``/``FETCH``/``CLOSE`` of cursors,
``COPY … TO STDOUT``. ``classify`` recognises them from the text; everything else is
``EngineSql`` and goes on to ``translate``. Also: splitting a simple-query string into
statements, and substituting ``$n`` parameters outside quoted text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from server.errors import SYNTAX_ERROR, PgError
from server.settings import DEFAULTS


@dataclass(frozen=True, slots=True)
class Transaction:
    tag: str  # BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, ROLLBACK TO


@dataclass(frozen=True, slots=True)
class SetVariable:
    name: str
    value: str | None  # None: RESET (to the default)
    local: bool = False


@dataclass(frozen=True, slots=True)
class ShowVariable:
    name: str  # normalised, e.g. "transaction_isolation"; "all" for SHOW ALL
    hive: bool = False  # Hive's ``SET key``: answered as a (key, value) row, as the engine does


@dataclass(frozen=True, slots=True)
class Declare:
    name: str
    query: str


@dataclass(frozen=True, slots=True)
class Fetch:
    name: str
    count: int | None  # None: ALL
    move: bool = False


@dataclass(frozen=True, slots=True)
class CloseCursor:
    name: str | None  # None: ALL


@dataclass(frozen=True, slots=True)
class CopyOut:
    query: str


@dataclass(frozen=True, slots=True)
class NoOp:
    tag: str  # DISCARD ALL, LISTEN, DEALLOCATE …


@dataclass(frozen=True, slots=True)
class EngineSql:
    sql: str


Command = Transaction | SetVariable | ShowVariable | Declare | Fetch | CloseCursor | CopyOut | NoOp | EngineSql

_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+|\"[^\"]*\"|\S")
_PG_SHOW_ALIASES = {"transaction isolation level": "transaction_isolation", "time zone": "timezone"}

#: Hive's listing forms of SET go to the engine: bare ``SET`` and ``SET -v``.
_HIVE_SET = re.compile(r"^\s*set(\s+-v)?\s*$", re.IGNORECASE)
#: Hive's ``SET key`` shows a setting.
_HIVE_SET_SHOW = re.compile(r"^\s*set\s+([\w.]+\.[\w.]+)\s*$", re.IGNORECASE)


def _ident(word: str) -> str:
    return word[1:-1] if word.startswith('"') and word.endswith('"') else word.lower()


_LEADING_BLANKS = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)


def _strip_comments(sql: str) -> str:
    """``sql`` without its leading white space and comments."""
    if not sql or not (sql[0].isspace() or sql[0] in "-/"):
        return sql
    return sql[_LEADING_BLANKS.match(sql).end():]  # type: ignore[union-attr]


#: First words of the statements the server answers itself; any other goes to the engine.
_SERVER_WORDS = frozenset({"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release", "set",
                           "reset", "show", "declare", "fetch", "move", "close", "copy", "discard", "listen",
                           "unlisten", "notify", "deallocate", "checkpoint"})
_FIRST_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def classify(text: str) -> Command:
    body = _strip_comments(text).strip().rstrip(";").strip()
    head = _FIRST_WORD.match(body)
    if head is None or head.group(0).lower() not in _SERVER_WORDS:  # a query: every statement of a load
        return EngineSql(text)
    words = [w.lower() for w in _WORDS.findall(body[:200])]
    first = words[0] if words else ""
    if first in ("begin", "start"):
        return Transaction("BEGIN")
    if first in ("commit", "end"):
        return Transaction("COMMIT")
    if first in ("rollback", "abort"):
        return Transaction("ROLLBACK TO" if "to" in words[1:3] else "ROLLBACK")
    if first == "savepoint":
        return Transaction("SAVEPOINT")
    if first == "release":
        return Transaction("RELEASE")
    if first == "set" and not _HIVE_SET.match(body):
        shown = _HIVE_SET_SHOW.match(body)
        return ShowVariable(shown.group(1).lower(), hive=True) if shown else _set(body)
    if first == "reset":
        rest = body[5:].strip()
        if "." in rest and rest.lower() != "all" and rest.lower() not in DEFAULTS:
            return EngineSql(text)  # Hive's RESET of an engine setting
        return SetVariable("all" if rest.lower() == "all" else _ident(rest), None)
    if first == "show" and len(words) > 1 and words[1] not in ("tables", "databases", "schemas", "partitions",
                                                               "columns", "create", "functions", "views",
                                                               "tblproperties", "table", "cache"):
        name = body[4:].strip().lower()
        name = _PG_SHOW_ALIASES.get(name, name)
        if re.fullmatch(r'"[^"]+"|[\w.]+', name):
            return ShowVariable(_ident(name) if name.startswith('"') else name)
    if first == "declare":
        return _declare(body)
    if first in ("fetch", "move"):
        return _fetch(body, first == "move")
    if first == "close":
        rest = body[5:].strip()
        return CloseCursor(None if rest.lower() == "all" else _ident(rest))
    if first == "copy":
        return _copy(body)
    if first in ("discard", "listen", "unlisten", "notify", "deallocate", "checkpoint"):
        tag = {"deallocate": "DEALLOCATE", "discard": "DISCARD ALL"}.get(first, first.upper())
        return NoOp(tag)
    return EngineSql(text)


def _set(body: str) -> Command:
    m = re.match(r"set\s+(session\s+|local\s+)?(.*)$", body, re.IGNORECASE | re.DOTALL)
    assert m
    local = (m.group(1) or "").strip().lower() == "local"
    rest = m.group(2).strip()
    low = rest.lower()
    if low.startswith("time zone"):
        return SetVariable("timezone", _value(rest[9:]), local)
    if low.startswith(("transaction", "characteristics", "session characteristics")):
        return NoOp("SET")
    m2 = re.match(r'("[^"]+"|[\w.]+)\s*(=|\s+to\s+)\s*(.*)$', rest, re.IGNORECASE | re.DOTALL)
    if not m2:
        raise PgError(SYNTAX_ERROR, f"syntax error in SET: {body[:60]}")
    value = m2.group(3).strip()
    return SetVariable(_ident(m2.group(1)), None if value.lower() == "default" else _value(value), local)


def _value(text: str) -> str:
    """A SET value: quoted strings unquoted, lists kept as written (search_path)."""
    text = text.strip()
    parts = [p.strip() for p in re.findall(r"'(?:[^']|'')*'|[^,]+", text)]
    out = []
    for p in parts:
        if p.startswith("'") and p.endswith("'"):
            out.append(p[1:-1].replace("''", "'"))
        else:
            out.append(p)
    return ", ".join(out)


def _declare(body: str) -> Command:
    m = re.match(r'declare\s+("[^"]+"|\w+)\s+(.*?)\bcursor\b(.*?)\bfor\b\s+(.*)$', body, re.IGNORECASE | re.DOTALL)
    if not m:
        raise PgError(SYNTAX_ERROR, "syntax error in DECLARE")
    return Declare(_ident(m.group(1)), m.group(4))


def _fetch(body: str, move: bool) -> Command:
    words = _WORDS.findall(body)[1:]
    count: int | None = 1
    i = 0
    while i < len(words) - 1:
        w = words[i].lower()
        if w in ("forward", "next"):
            pass
        elif w == "all":
            count = None
        elif re.fullmatch(r"\d+", w):
            count = int(w)
        elif w in ("from", "in"):
            pass
        elif w in ("backward", "prior", "first", "last", "absolute", "relative"):
            raise PgError("55000", "cursor can only scan forward")
        else:
            break
        i += 1
    if not words:
        raise PgError(SYNTAX_ERROR, "syntax error in FETCH")
    return Fetch(_ident(words[-1]), count, move)


def _copy(body: str) -> Command:
    m = re.match(r"copy\s+\((.*)\)\s+to\s+stdout\b(.*)$", body, re.IGNORECASE | re.DOTALL)
    if m:
        return CopyOut(m.group(1))
    m = re.match(r'copy\s+([\w."]+)\s*(\(([^)]*)\))?\s+to\s+stdout\b(.*)$', body, re.IGNORECASE | re.DOTALL)
    if m:
        cols = m.group(3) or "*"
        return CopyOut(f"SELECT {cols} FROM {m.group(1)}")
    raise PgError("0A000", "only COPY … TO STDOUT is supported")


def split_statements(sql: str) -> list[tuple[int, str]]:
    """Top-level statements with their offsets (for error positions); quotes,
    dollar-quotes and comments respected."""
    out: list[tuple[int, str]] = []
    if ";" not in sql:  # one statement (or none): what the scan below would find, without it
        _add(out, sql, 0, len(sql))
        return out
    start, i, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 2 if sql[j] == "\\" and ch != '"' else 1
            i = j + 1
        elif ch == "$":
            m = re.match(r"\$([A-Za-z_]\w*)?\$", sql[i:])
            if m:
                end = sql.find(m.group(0), i + len(m.group(0)))
                i = n if end < 0 else end + len(m.group(0))
            else:
                i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif ch == ";":
            _add(out, sql, start, i)
            start = i = i + 1
        else:
            i += 1
    _add(out, sql, start, n)
    return out


def _add(out: list[tuple[int, str]], sql: str, start: int, end: int) -> None:
    text = sql[start:end]
    stripped = _strip_comments(text).strip()
    if stripped:
        out.append((start + len(text) - len(text.lstrip()), text.strip()))


def parameter_numbers(sql: str) -> list[int]:
    """The ``$n`` placeholders used outside quoted text."""
    found: list[int] = []
    _scan_params(sql, lambda n: found.append(n) or f"${n}")
    return sorted(set(found))


def substitute(sql: str, literals: Sequence[str]) -> str:
    """Replace ``$n`` by ``literals[n-1]`` outside quoted text and comments."""
    def lit(n: int) -> str:
        if n < 1 or n > len(literals):
            raise PgError("08P01", f"there is no parameter ${n}")
        return literals[n - 1]
    return _scan_params(sql, lit)


def _scan_params(sql: str, on_param: Callable[[int], str]) -> str:
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i:j + 1])
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j])
            i = j
        elif ch == "$" and i + 1 < n and sql[i + 1].isdigit() and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            out.append(on_param(int(sql[i + 1:j])))
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)
