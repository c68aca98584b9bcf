"""Hive type strings <-> Arrow types.

The metastore keeps the declared Hive type text (``varchar(10)`` stays ``varchar(10)``
for DESCRIBE) while every reader and writer works with the Arrow type it maps to, one
to one:

    tinyint int8 · smallint int16 · int int32 · bigint int64 · boolean bool ·
    float float32 · double float64 · decimal(p,s) decimal128(p,s) ·
    string / varchar(n) / char(n) string · date date32 · timestamp timestamp[us] ·
    binary binary · array<T> list<T> · map<K,V> map<K,V> · struct<a:T,...> struct

``varchar(n)`` values are cut to n characters; ``char(n)`` values are cut to n and
held without trailing spaces, the value Hive compares them by (``enforce_length``).

>>> format_hive_type(parse_hive_type("ARRAY< STRUCT<x:INT, `y z`:Varchar(3)> >"))
'array<struct<x:int,`y z`:varchar(3)>>'
>>> to_arrow("map<string,decimal(10,2)>")
MapType(map<string, decimal128(10, 2)>)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from catalog.errors import HiveTypeError

_PRIMITIVES: dict[str, pa.DataType] = {
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
    "float": pa.float32(),
    "double": pa.float64(),
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "binary": pa.binary(),
}
_ALIASES = {"integer": "int", "real": "float", "double precision": "double", "dec": "decimal",
            "numeric": "decimal", "bool": "boolean", "long": "bigint", "short": "smallint",
            "byte": "tinyint", "text": "string"}
_PARAMETRIZED = {"decimal", "varchar", "char"}
_MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True, slots=True)
class HiveType:
    """A parsed Hive type: ``name`` plus integer ``params`` and child types.

    ``field_names`` is only set for structs, parallel to ``children``.
    """

    name: str
    params: tuple[int, ...] = ()
    children: tuple[HiveType, ...] = ()
    field_names: tuple[str, ...] = ()

    def __str__(self) -> str:
        return format_hive_type(self)

    @property
    def is_complex(self) -> bool:
        return self.name in ("array", "map", "struct")


_TOKEN = re.compile(r"\s*(?:(`(?:[^`]|``)*`)|([A-Za-z_][A-Za-z0-9_]*)|(\d+)|(<|>|\(|\)|,|:))")


class _Parser:
    """Recursive-descent parser over the type grammar (nested generics need a real parser)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None:
                raise self.error(f"unexpected character {text[pos:].lstrip()[0]!r}", pos)
            kind = "quoted" if m.group(1) else "word" if m.group(2) else "int" if m.group(3) else "punct"
            value = m.group(m.lastindex or 0)
            self.tokens.append((kind, value, m.start(m.lastindex or 0)))
            pos = m.end()
        self.i = 0

    def error(self, message: str, pos: int | None = None) -> HiveTypeError:
        if pos is None:
            pos = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        return HiveTypeError(f"Invalid type {self.text!r}: {message} at position {pos + 1}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def expect(self, value: str) -> None:
        tok = self.peek()
        if tok is None or tok[1] != value:
            found = "end of text" if tok is None else repr(tok[1])
            raise self.error(f"expected {value!r}, found {found}")
        self.i += 1

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "punct" and tok[1] == value:
            self.i += 1
            return True
        return False

    def parse(self) -> HiveType:
        t = self.type_()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return t

    def type_(self) -> HiveType:
        tok = self.peek()
        if tok is None or tok[0] != "word":
            raise self.error("expected a type name")
        self.i += 1
        name = tok[1].lower()
        if name == "double":
            nxt = self.peek()
            if nxt is not None and nxt[0] == "word" and nxt[1].lower() == "precision":
                self.i += 1
        name = _ALIASES.get(name, name)
        if name == "array":
            self.expect("<")
            elem = self.type_()
            self.expect(">")
            return HiveType("array", children=(elem,))
        if name == "map":
            self.expect("<")
            key = self.type_()
            if key.is_complex:
                raise self.error("map keys must be a primitive type")
            self.expect(",")
            value = self.type_()
            self.expect(">")
            return HiveType("map", children=(key, value))
        if name == "struct":
            return self.struct_()
        if name in _PARAMETRIZED:
            return self.parametrized(name)
        if name not in _PRIMITIVES:
            raise self.error(f"unknown type {tok[1]!r}", tok[2])
        return HiveType(name)

    def struct_(self) -> HiveType:
        self.expect("<")
        names: list[str] = []
        kids: list[HiveType] = []
        while True:
            tok = self.peek()
            if tok is None or tok[0] not in ("word", "quoted", "int"):
                raise self.error("expected a struct field name")
            self.i += 1
            fname = tok[1][1:-1].replace("``", "`") if tok[0] == "quoted" else tok[1]
            if fname.lower() in (n.lower() for n in names):
                raise self.error(f"duplicate struct field {fname!r}", tok[2])
            self.expect(":")
            names.append(fname)
            kids.append(self.type_())
            if self.accept(">"):
                break
            self.expect(",")
        return HiveType("struct", children=tuple(kids), field_names=tuple(names))

    def parametrized(self, name: str) -> HiveType:
        params: list[int] = []
        if self.accept("("):
            while True:
                tok = self.peek()
                if tok is None or tok[0] != "int":
                    raise self.error(f"expected an integer parameter of {name}")
                self.i += 1
                params.append(int(tok[1]))
                if self.accept(")"):
                    break
                self.expect(",")
        return _checked_params(name, tuple(params), self.error)


def _checked_params(name: str, params: tuple[int, ...], error) -> HiveType:  # type: ignore[no-untyped-def]
    if name == "decimal":
        if len(params) > 2:
            raise error("decimal takes at most (precision, scale)")
        precision = params[0] if params else 10
        scale = params[1] if len(params) > 1 else 0
        if not 1 <= precision <= _MAX_DECIMAL_PRECISION:
            raise error(f"decimal precision {precision} is outside 1..{_MAX_DECIMAL_PRECISION}")
        if not 0 <= scale <= precision:
            raise error(f"decimal scale {scale} is outside 0..{precision}")
        return HiveType("decimal", (precision, scale))
    if len(params) != 1:
        raise error(f"{name} needs exactly one length, e.g. {name}(10)")
    limit = 65535 if name == "varchar" else 255
    if not 1 <= params[0] <= limit:
        raise error(f"{name} length {params[0]} is outside 1..{limit}")
    return HiveType(name, params)


def parse_hive_type(text: str) -> HiveType:
    """Parse a Hive type string (case-insensitive, nested generics, backquoted names)."""
    if not isinstance(text, str) or not text.strip():
        raise HiveTypeError(f"Invalid type {text!r}: empty type")
    return _parse_cached(text)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> HiveType:
    # Every scan and bind maps its table's column type texts again; a table has few
    # distinct ones, and HiveType is immutable, so the parse is shared.
    return _Parser(text).parse()


def _quote_field(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return "`" + name.replace("`", "``") + "`"


def format_hive_type(t: HiveType) -> str:
    """The canonical (lower case, no spaces) Hive text of ``t``."""
    if t.name == "array":
        return f"array<{format_hive_type(t.children[0])}>"
    if t.name == "map":
        return f"map<{format_hive_type(t.children[0])},{format_hive_type(t.children[1])}>"
    if t.name == "struct":
        inner = ",".join(
            f"{_quote_field(n)}:{format_hive_type(c)}" for n, c in zip(t.field_names, t.children)
        )
        return f"struct<{inner}>"
    if t.params:
        return f"{t.name}({','.join(str(p) for p in t.params)})"
    return t.name


def normalize_hive_type(text: str) -> str:
    """Parse and re-format: the form stored in the metastore."""
    return format_hive_type(parse_hive_type(text))


def to_arrow(t: HiveType | str) -> pa.DataType:
    """The Arrow type a Hive type is stored and computed as."""
    if isinstance(t, str):
        return _arrow_of_text(t)
    return _arrow_of(t)


@functools.lru_cache(maxsize=1024)
def _arrow_of_text(text: str) -> pa.DataType:
    return _arrow_of(parse_hive_type(text))


def _arrow_of(t: HiveType) -> pa.DataType:
    if t.name in _PRIMITIVES:
        return _PRIMITIVES[t.name]
    if t.name in ("varchar", "char"):
        return pa.string()
    if t.name == "decimal":
        return pa.decimal128(t.params[0], t.params[1])
    if t.name == "array":
        return pa.list_(to_arrow(t.children[0]))
    if t.name == "map":
        return pa.map_(to_arrow(t.children[0]), to_arrow(t.children[1]))
    if t.name == "struct":
        return pa.struct([pa.field(n, to_arrow(c)) for n, c in zip(t.field_names, t.children)])
    raise HiveTypeError(f"Type {t.name} has no Arrow mapping")


def from_arrow(dt: pa.DataType) -> HiveType:
    """The Hive type for an Arrow type (CTAS and inferred schemas).

    Wider Arrow types with no Hive twin map to the smallest Hive type that holds every
    value exactly (uint32 -> bigint, uint64 -> decimal(20,0)); types Hive cannot hold
    (time of day, durations, unions) raise.
    """
    for name, arrow in _PRIMITIVES.items():
        if dt == arrow:
            return HiveType(name)
    if pa.types.is_large_string(dt) or pa.types.is_string_view(dt) or pa.types.is_null(dt):
        return HiveType("string")
    if pa.types.is_large_binary(dt) or pa.types.is_fixed_size_binary(dt) or pa.types.is_binary_view(dt):
        return HiveType("binary")
    if pa.types.is_timestamp(dt):
        return HiveType("timestamp")
    if pa.types.is_date64(dt):
        return HiveType("date")
    if pa.types.is_float16(dt):
        return HiveType("float")
    unsigned = {pa.uint8(): "smallint", pa.uint16(): "int", pa.uint32(): "bigint"}
    if dt in unsigned:
        return HiveType(unsigned[dt])
    if dt == pa.uint64():
        return HiveType("decimal", (20, 0))
    if pa.types.is_decimal(dt):
        if dt.precision > _MAX_DECIMAL_PRECISION:
            raise HiveTypeError(f"Arrow type {dt} exceeds Hive's decimal precision 38")
        return HiveType("decimal", (dt.precision, dt.scale))
    if pa.types.is_dictionary(dt):
        return from_arrow(dt.value_type)
    if pa.types.is_list(dt) or pa.types.is_large_list(dt) or pa.types.is_fixed_size_list(dt) or pa.types.is_list_view(dt):
        return HiveType("array", children=(from_arrow(dt.value_type),))
    if pa.types.is_map(dt):
        return HiveType("map", children=(from_arrow(dt.key_type), from_arrow(dt.item_type)))
    if pa.types.is_struct(dt):
        fields = [dt.field(i) for i in range(dt.num_fields)]
        return HiveType(
            "struct",
            children=tuple(from_arrow(f.type) for f in fields),
            field_names=tuple(f.name for f in fields),
        )
    raise HiveTypeError(f"Arrow type {dt} has no Hive equivalent")


def enforce_length(values: pa.Array, t: HiveType, *, check_first: bool = False) -> pa.Array:
    """Hive's length rules for ``varchar(n)`` and ``char(n)`` string values.

    ``varchar(n)`` keeps the first n characters (code points). ``char(n)`` is cut to n
    too, and then loses its trailing spaces: Hive pads a CHAR to n characters in text
    files but compares, hashes, groups and measures it with the padding stripped
    (``HiveCharWritable``), and the engine computes on that stripped value so that
    ``c = 'x'``, joins and ``length(c)`` behave as Hive's. Writers of text files pad it
    back (``formats.text``). ``check_first`` skips the work (a full copy of the column)
    when no value needs it, for data written by us and read back on every scan.
    """
    if t.name not in ("varchar", "char") or len(values) == 0:
        return values
    n = t.params[0]
    too_long = None
    if check_first:
        longest = pc.max(pc.utf8_length(values)).as_py()
        too_long = longest is not None and longest > n
    if too_long is None or too_long:
        values = pc.utf8_slice_codeunits(values, 0, n)
    if t.name == "char" and (not check_first or pc.any(pc.ends_with(values, " ")).as_py()):
        values = pc.utf8_rtrim(values, characters=" ")
    return values


def arrow_schema(columns: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> pa.Schema:
    """Arrow schema of ``(name, hive type text)`` pairs."""
    return pa.schema([pa.field(name, to_arrow(text)) for name, text in columns])
