"""Built-in scalar functions: type resolution (for the binder) and vectorized kernels.

Every kernel takes Arrow arrays or scalars (already coerced to the types ``resolve``
asked for) and returns an array or scalar computed with ``pyarrow.compute``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T

Value = pa.Array | pa.ChunkedArray | pa.Scalar


class FunctionError(Exception):
    """Unknown function or bad arguments; the binder adds the source position."""


@dataclass(frozen=True, slots=True)
class Scalar:
    name: str
    resolve: Callable[[list[pa.DataType]], tuple[list[pa.DataType], pa.DataType]]
    impl: Callable[..., Value]
    deterministic: bool = True
    #: the kernel takes the resolved result type as ``result=`` (arithmetic, whose exact
    #: decimal result type cannot be read off its operands alone)
    takes_result: bool = False


SCALARS: dict[str, Scalar] = {}


def _reg(names: str, resolve: Any, impl: Any, deterministic: bool = True, takes_result: bool = False) -> None:
    for n in names.split():
        SCALARS[n] = Scalar(n, resolve, impl, deterministic, takes_result)


# ---------------------------------------------------------------- resolvers

def fixed(arg_types: Sequence[pa.DataType | None], result: pa.DataType, variadic: bool = False) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        if variadic:
            want = [arg_types[0] if arg_types[0] is not None else a for a in args]
        else:
            if len(args) != len(arg_types):
                if len(args) > len(arg_types) or any(t is not None and t != "opt" for t in arg_types[len(args):]):
                    raise FunctionError(f"expects {len(arg_types)} arguments, got {len(args)}")
            want = [t if t is not None and t != "opt" else a for t, a in zip(arg_types, args)]
        return list(want), result
    return r


def same_as_first(n: int | None = None, numeric: bool = False) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        if n is not None and len(args) != n:
            raise FunctionError(f"expects {n} arguments, got {len(args)}")
        t = args[0]
        if numeric and T.is_string(t):
            t = T.FLOAT64
        if t == T.NULL:
            t = T.FLOAT64 if numeric else T.STRING
        return [t] + args[1:], t
    return r


def common_all(result_bool: bool = False) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        t = args[0]
        for a in args[1:]:
            t = T.common_type(t, a)
        return [t] * len(args), (T.BOOL if result_bool else t)
    return r


# ---------------------------------------------------------------- arithmetic

def _zero_to_null(b: Value) -> Value:
    if isinstance(b, pa.Scalar):
        return b if (not b.is_valid or b.as_py() != 0) else pa.scalar(None, b.type)
    # a zero of b's own type: casting an int64 zero to a narrow decimal fails Arrow's
    # precision check (decimal(2,1) cannot hold every int64)
    zero = pa.scalar(Decimal(0) if T.is_decimal(b.type) else 0, b.type)
    return pc.if_else(pc.equal(b, zero), pa.scalar(None, b.type), b)


def _decimal_fix(v: Value, t: pa.DataType) -> Value:
    if v.type == t:
        return v
    if T.is_decimal(v.type) and T.is_decimal(t) and v.type.scale > t.scale:
        v = pc.round(v, ndigits=t.scale, round_mode="half_towards_infinity")
    return pc.cast(v, t, safe=False) if T.is_decimal(t) and T.is_decimal(v.type) else pc.cast(v, t)


def _narrow_for_multiply(a: Value, b: Value) -> tuple[Value, Value]:
    """Arrow's decimal product needs p1 + p2 + 1 <= 38 digits; narrow the wider operand
    (a checked cast: it fails, and we fall back, only if a value does not fit)."""
    ta, tb = a.type, b.type
    if not (T.is_decimal(ta) and T.is_decimal(tb)) or ta.precision + tb.precision + 1 <= 38:
        return a, b
    if ta.precision >= tb.precision:
        p = max(38 - tb.precision - 1, ta.scale + 1)
        return pc.cast(a, pa.decimal128(p, ta.scale)), b
    p = max(38 - ta.precision - 1, tb.scale + 1)
    return a, pc.cast(b, pa.decimal128(p, tb.scale))


def arith_kernel(op: str) -> Any:
    fn = {"add": pc.add, "subtract": pc.subtract, "multiply": pc.multiply}[op]

    def k(a: Value, b: Value, *, result: pa.DataType) -> Value:
        if T.is_decimal(result):
            try:
                if op == "multiply":
                    a, b = _narrow_for_multiply(a, b)
                return _decimal_fix(fn(a, b), result)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return _decimal_fix(fn(pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64)), result)
        out = fn(a, b)
        return out if out.type == result else pc.cast(out, result)
    return k


def _widen_dividend(a: Value, b: Value, scale: int) -> Value:
    """``a`` with enough extra scale that Arrow's decimal quotient (whose scale is
    max(4, s1 + p2 - s2 + 1), and whose digits beyond it are truncated) carries one digit
    more than ``scale``: rounding to the SQL result type then rounds, and never pads digits
    Arrow did not compute (1 / 7.5 is 0.133333, not 0.133300)."""
    ta, tb = a.type, b.type
    if T.is_integer(ta):
        a = pc.cast(a, pa.decimal128(19 if ta.bit_width == 64 else 10, 0))
        ta = a.type
    if not (T.is_decimal(ta) and T.is_decimal(tb)):
        return a
    missing = (scale + 1) - (ta.scale + tb.precision - tb.scale + 1)
    if missing <= 0 or ta.precision + missing > 38:
        return a
    return pc.cast(a, pa.decimal128(ta.precision + missing, ta.scale + missing))


def divide_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    b = _zero_to_null(b)
    if T.is_decimal(result):
        try:
            return _decimal_fix(pc.divide(_widen_dividend(a, b, result.scale), b), result)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _decimal_fix(pc.divide(pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64)), result)
    return pc.divide(pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64))


def _decimal_remainder(a: Value, b: Value, t: pa.DataType) -> Value:
    """Exact ``a - trunc(a / b) * b`` for decimals of type ``t`` (sign of the dividend,
    as Java's). Arrow's decimal division widens past 38 digits for wide types, so the
    quotient comes from floats: the first pass leaves a remainder exact but possibly off
    by a few multiples of ``b`` (the float quotient's rounding), the second pass is exact
    on that small remainder, and a last step moves it to the dividend's sign."""
    quotient_type = pa.decimal128(max(1, 37 - t.precision), 0)
    fb = pc.cast(b, T.FLOAT64)
    r = a
    for _ in range(2):
        q = pc.cast(pc.trunc(pc.divide(pc.cast(r, T.FLOAT64), fb)), quotient_type)
        r = pc.cast(pc.subtract(r, pc.cast(pc.multiply(q, b), t)), t)
    zero = pa.scalar(Decimal(0), t)
    abs_b = pc.cast(pc.abs(b), t)
    r = pc.if_else(pc.and_(pc.greater(a, zero), pc.less(r, zero)), pc.cast(pc.add(r, abs_b), t), r)
    r = pc.if_else(pc.and_(pc.less(a, zero), pc.greater(r, zero)), pc.cast(pc.subtract(r, abs_b), t), r)
    return r


def _wide_decimal_remainder(a: Value, b: Value, t: pa.DataType) -> Value:
    """The remainder of decimals too wide for Arrow's 38-digit intermediate products:
    computed exactly with Python's decimal module, value by value. Only quotients of over
    ~18 digits get here (a rare, never a TPC-H, case); exact beats vectorized."""
    if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
        x, y = a.as_py(), b.as_py()
        with localcontext() as ctx:
            ctx.prec = 80
            return pa.scalar(None if x is None or y is None or y == 0 else x % y, t)
    n = len(a) if not isinstance(a, pa.Scalar) else len(b)
    xs = [a.as_py()] * n if isinstance(a, pa.Scalar) else a.to_pylist()
    ys = [b.as_py()] * n if isinstance(b, pa.Scalar) else b.to_pylist()
    with localcontext() as ctx:
        ctx.prec = 80
        out = [None if x is None or y is None or y == 0 else x % y for x, y in zip(xs, ys)]
    return pc.cast(pa.array(out), t)


def mod_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    b = _zero_to_null(b)
    if T.is_floating(result):
        a, b = pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64)
        q = pc.trunc(pc.divide(a, b))
        return pc.subtract(a, pc.multiply(q, b))
    if T.is_decimal(result):
        try:
            return _decimal_remainder(pc.cast(a, result), pc.cast(b, result), result)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return _wide_decimal_remainder(a, b, result)
    # integers: sign follows the dividend (Java semantics)
    q = pc.divide(a, b)  # integer division truncates toward zero in Arrow
    return pc.cast(pc.subtract(a, pc.multiply(q, b)), result)


def int_div_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    b = _zero_to_null(b)
    if T.is_integer(a.type) and T.is_integer(b.type):
        return pc.cast(pc.divide(a, b), result)
    return pc.cast(pc.trunc(pc.divide(pc.cast(a, T.FLOAT64), pc.cast(b, T.FLOAT64))), result)


def arith_resolve(op: str) -> Any:
    def r(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
        a, b = args
        if op in ("+", "-") and (T.is_temporal(a) or T.is_temporal(b)):
            raise FunctionError("use date_add/date_sub or intervals for date arithmetic")
        res = T.arithmetic_type(op, a, b)
        if T.is_decimal(res) and op != "/" or (op == "/" and T.is_decimal(res)):
            want = [T.as_decimal(x) if not T.is_string(x) and x != T.NULL else res for x in (a, b)]
        elif T.is_floating(res) or op == "/":
            want = [T.FLOAT64, T.FLOAT64]
        else:
            want = [res, res]
        return want, res
    return r


def _bind_result(kernel: Any) -> Any:
    return kernel  # kernels taking result= receive it from the evaluator


_reg("add", arith_resolve("+"), arith_kernel("add"), takes_result=True)
_reg("subtract", arith_resolve("-"), arith_kernel("subtract"), takes_result=True)
_reg("multiply", arith_resolve("*"), arith_kernel("multiply"), takes_result=True)
_reg("divide", arith_resolve("/"), divide_kernel, takes_result=True)
_reg("mod", arith_resolve("%"), mod_kernel, takes_result=True)


def pmod_kernel(a: Value, b: Value, *, result: pa.DataType) -> Value:
    """Hive's pmod: the remainder taken positive, ((a % b) + b) % b."""
    shifted = arith_kernel("add")(mod_kernel(a, b, result=result), b, result=result)
    return mod_kernel(shifted, b, result=result)


_reg("pmod", arith_resolve("%"), pmod_kernel, takes_result=True)


def _int_div_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    a, b = args
    if T.is_integer(a) and T.is_integer(b):
        t = T.common_type(a, b)
        return [t, t], T.INT64
    return [a, b], T.INT64


_reg("int_div", _int_div_resolve, int_div_kernel, takes_result=True)
_reg("negate", same_as_first(1, numeric=True), lambda a: pc.negate(a))
_reg("positive", same_as_first(1, numeric=True), lambda a: a)

# ---------------------------------------------------------------- comparison and logic


def _cmp(fn: Any) -> Any:
    def compare(a: Value, b: Value) -> Value:
        # NULL = NULL (both untyped) has no Arrow kernel; its answer is NULL anyway
        if pa.types.is_null(a.type) or pa.types.is_null(b.type):
            if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
                return pa.scalar(None, T.BOOL)
            return pa.nulls(len(b if isinstance(a, pa.Scalar) else a), T.BOOL)
        return fn(a, b)
    return compare


for _n, _f in (("eq", pc.equal), ("ne", pc.not_equal), ("lt", pc.less), ("le", pc.less_equal),
               ("gt", pc.greater), ("ge", pc.greater_equal)):
    _reg(_n, common_all(result_bool=True), _cmp(_f))


def _eq_null_safe(a: Value, b: Value) -> Value:
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    eq = pc.fill_null(_cmp(pc.equal)(a, b), False)
    return pc.or_(both_null, eq)


_reg("eq_null_safe", common_all(result_bool=True), _eq_null_safe)
_reg("and", fixed([T.BOOL, T.BOOL], T.BOOL), lambda a, b: pc.and_kleene(a, b))
_reg("or", fixed([T.BOOL, T.BOOL], T.BOOL), lambda a, b: pc.or_kleene(a, b))
_reg("not", fixed([T.BOOL], T.BOOL), lambda a: pc.invert(a))
_reg("is_null", fixed([None], T.BOOL), lambda a: pc.is_null(a))
_reg("is_not_null", fixed([None], T.BOOL), lambda a: pc.is_valid(a))
_reg("is_true", fixed([T.BOOL], T.BOOL), lambda a: pc.fill_null(a, False))
_reg("is_false", fixed([T.BOOL], T.BOOL), lambda a: pc.fill_null(pc.invert(a), False))


def _in_list(a: Value, *vals: Value) -> Value:
    """SQL IN: true if equal to one; NULL if not found and a NULL was in the list."""
    values = [v.as_py() for v in vals]
    non_null = [v for v in values if v is not None]
    vs = pa.array(non_null, type=a.type) if non_null else pa.array([], type=a.type)
    hit = pc.is_in(a, value_set=vs, skip_nulls=True)
    hit = pc.if_else(pc.is_null(a), pa.scalar(None, T.BOOL), hit)
    if len(non_null) != len(values):
        hit = pc.if_else(hit, True, pa.scalar(None, T.BOOL))
    return hit


_reg("in_list", common_all(result_bool=True), _in_list)


def like_to_regex(pattern: str, escape: str = "\\") -> str:
    """A LIKE pattern with an escape character as an anchored RE2 expression.

    ``pc.match_like`` knows only backslash escapes; ``LIKE … ESCAPE c`` goes through
    this and ``rlike`` instead. ``(?s)``: ``%`` and ``_`` match newlines too.
    """
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return "(?s)^" + "".join(out) + "$"


def _like(a: Value, p: Value) -> Value:
    if isinstance(p, pa.Scalar):
        if not p.is_valid:
            return pa.scalar(None, T.BOOL) if isinstance(a, pa.Scalar) else pa.nulls(len(a), T.BOOL)
        return pc.match_like(a, p.as_py())
    raise FunctionError("LIKE pattern must be a constant")


def _rlike(a: Value, p: Value) -> Value:
    if isinstance(p, pa.Scalar):
        return pc.match_substring_regex(a, p.as_py())
    raise FunctionError("RLIKE pattern must be a constant")


_reg("like", fixed([T.STRING, T.STRING], T.BOOL), _like)
_reg("rlike regexp", fixed([T.STRING, T.STRING], T.BOOL), _rlike)

# ---------------------------------------------------------------- conditional


def _coalesce(*args: Value) -> Value:
    return pc.coalesce(*args)


_reg("coalesce nvl", common_all(), _coalesce)


def _if_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 3:
        raise FunctionError(f"if expects 3 arguments, got {len(args)}")
    t = T.common_type(args[1], args[2])
    return [T.BOOL, t, t], t


_reg("if", _if_resolve, lambda c, a, b: pc.if_else(pc.fill_null(c, False), a, b))


def _nullif(a: Value, b: Value) -> Value:
    return pc.if_else(pc.fill_null(pc.equal(a, b), False), pa.scalar(None, a.type), a)


def _nullif_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = T.common_type(args[0], args[1])
    return [t, t], t


_reg("nullif", _nullif_resolve, _nullif)


def _greatest(fn: Any) -> Any:
    return lambda *a: fn(*a, skip_nulls=True)


_reg("greatest", common_all(), _greatest(pc.max_element_wise))
_reg("least", common_all(), _greatest(pc.min_element_wise))

# ---------------------------------------------------------------- strings

_reg("upper ucase", fixed([T.STRING], T.STRING), lambda a: pc.utf8_upper(a))
_reg("lower lcase", fixed([T.STRING], T.STRING), lambda a: pc.utf8_lower(a))
_reg("length char_length character_length", fixed([T.STRING], T.INT32),
     lambda a: pc.cast(pc.utf8_length(a), T.INT32))
_reg("trim", fixed([T.STRING], T.STRING), lambda a: pc.utf8_trim(a, " "))
_reg("ltrim", fixed([T.STRING], T.STRING), lambda a: pc.utf8_ltrim(a, " "))
_reg("rtrim", fixed([T.STRING], T.STRING), lambda a: pc.utf8_rtrim(a, " "))
_reg("reverse", fixed([T.STRING], T.STRING), lambda a: pc.utf8_reverse(a))
# sqlglot parses INITCAP(s) with a second argument, its default word delimiters
_reg("initcap", fixed([T.STRING, "opt"], T.STRING), lambda a, _delimiters=None: pc.utf8_title(a))


def _substr(s: Value, start: Value, length: Value | None = None) -> Value:
    """Hive substr: 1-based; 0 acts as 1; negative counts from the end."""
    if isinstance(start, pa.Scalar) and (length is None or isinstance(length, pa.Scalar)):
        st = start.as_py()
        ln = None if length is None else length.as_py()
        if st is None or (length is not None and ln is None):
            return pa.nulls(len(s), T.STRING) if not isinstance(s, pa.Scalar) else pa.scalar(None, T.STRING)
        if ln is not None and ln <= 0:
            return pc.if_else(pc.is_null(s), pa.scalar(None, T.STRING), "")
        if st > 0:
            b = st - 1
            return pc.utf8_slice_codeunits(s, b, None if ln is None else b + ln)
        if st == 0:
            return pc.utf8_slice_codeunits(s, 0, ln)
        stop = None if ln is None or st + ln >= 0 else st + ln
        return pc.utf8_slice_codeunits(s, st, stop)
    # per-row starts: fall back to numpy over offsets is complex; use Python lists of
    # distinct (start, length) combinations is row-wise — instead build via list ops.
    raise FunctionError("substr with non-constant positions is not supported")


def _substr_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) not in (2, 3):
        raise FunctionError(f"substr expects 2 or 3 arguments, got {len(args)}")
    return [T.STRING] + [T.INT64] * (len(args) - 1), T.STRING


_reg("substr substring", _substr_resolve, _substr)


def _concat(*args: Value) -> Value:
    return pc.binary_join_element_wise(*args, "", null_handling="emit_null")


def _concat_ws(sep: Value, *args: Value) -> Value:
    if any(pa.types.is_list(a.type) for a in args):
        parts = [pc.binary_join(a, sep) if pa.types.is_list(a.type) else a for a in args]
        return pc.binary_join_element_wise(*parts, sep, null_handling="skip")
    return pc.binary_join_element_wise(*args, sep, null_handling="skip")


_reg("concat", fixed([T.STRING], T.STRING, variadic=True), _concat)


def _concat_ws_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    return [T.STRING] + [a if pa.types.is_list(a) else T.STRING for a in args[1:]], T.STRING


_reg("concat_ws", _concat_ws_resolve, _concat_ws)


def _pad(fn: Any) -> Any:
    def k(s: Value, n: Value, p: Value) -> Value:
        width, pad = n.as_py(), p.as_py()
        if len(pad) == 1:
            padded = fn(s, width=width, padding=pad)
        else:
            raise FunctionError("pad string must be one character")
        return pc.utf8_slice_codeunits(padded, 0, width)
    return k


_reg("lpad", fixed([T.STRING, T.INT64, T.STRING], T.STRING), _pad(pc.utf8_lpad))
_reg("rpad", fixed([T.STRING, T.INT64, T.STRING], T.STRING), _pad(pc.utf8_rpad))


def _instr(s: Value, sub: Value) -> Value:
    return pc.cast(pc.add(pc.find_substring(s, sub.as_py()), 1), T.INT32)


_reg("instr", fixed([T.STRING, T.STRING], T.INT32), _instr)
_reg("locate", fixed([T.STRING, T.STRING], T.INT32), lambda sub, s: _instr(s, sub))
_reg("replace", fixed([T.STRING, T.STRING, T.STRING], T.STRING),
     lambda s, p, r: pc.replace_substring(s, p.as_py(), r.as_py()))
_reg("repeat", fixed([T.STRING, T.INT64], T.STRING), lambda s, n: pc.binary_repeat(s, n))
_reg("split", fixed([T.STRING, T.STRING], pa.list_(T.STRING)),
     lambda s, p: pc.split_pattern_regex(s, p.as_py()) if re.escape(p.as_py()) != p.as_py()
     else pc.split_pattern(s, p.as_py()))


def _java_repl(r: str) -> str:
    return re.sub(r"\$(\d)", r"\\\1", r)


_reg("regexp_replace", fixed([T.STRING, T.STRING, T.STRING], T.STRING),
     lambda s, p, r: pc.replace_substring_regex(s, p.as_py(), _java_repl(r.as_py())))


def _regexp_extract(s: Value, p: Value, idx: Value | None = None) -> Value:
    pattern = p.as_py()
    group = 1 if idx is None else idx.as_py()
    n = re.compile(pattern).groups
    named = re.sub(r"(?<!\\)\((?!\?)", lambda m, c=iter(range(1, 100)): f"(?P<g{next(c)}>", pattern)
    if group == 0:
        named = f"(?P<g0>{named})"
    if n == 0 and group != 0:
        raise FunctionError("regexp_extract group out of range")
    st = pc.extract_regex(s, named)
    out = pc.struct_field(st, f"g{group}")
    matched = pc.match_substring_regex(s, pattern)
    return pc.if_else(matched, out, pa.scalar("", T.STRING))  # no match: '' (Hive)


_reg("regexp_extract", lambda a: ([T.STRING, T.STRING] + [T.INT64] * (len(a) - 2), T.STRING), _regexp_extract)
def _ascii(s: Value) -> Value:
    """Code of the first byte (0 for the empty string), Hive ascii()."""
    first = pc.cast(pc.utf8_slice_codeunits(s, 0, 1), pa.binary())
    arr = first if isinstance(first, pa.Array) else pa.array([first.as_py()], pa.binary())
    lengths = np.asarray(pc.fill_null(pc.binary_length(arr), 0))
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
    if len(data) == 0:
        data = np.zeros(1, np.uint8)
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    codes = np.where(lengths > 0, data[np.minimum(offs[:-1], max(len(data) - 1, 0))], 0).astype(np.int32)
    out = pa.array(codes, mask=np.asarray(pc.is_null(arr)))
    return out if isinstance(first, pa.Array) else out[0]


_reg("ascii", fixed([T.STRING], T.INT32), _ascii)

#: chr's answers, by code modulo 256 (Hive: chr(n) is the character n % 256; n < 0 is '')
_CHARACTERS = pa.array([chr(i) for i in range(256)] + [""], T.STRING)


def _chr(n: Value) -> Value:
    codes = pc.cast(n, T.INT64)
    index = pc.if_else(pc.less(codes, 0), 256, pc.bit_wise_and(codes, 255))
    if isinstance(index, pa.Scalar):
        return pa.scalar(None, T.STRING) if not index.is_valid else _CHARACTERS[index.as_py()]
    return pc.take(_CHARACTERS, index)


_reg("chr char", fixed([T.INT64], T.STRING), _chr)


# ---------------------------------------------------------------- math

_reg("abs", same_as_first(1, numeric=True), lambda a: pc.abs(a))
_reg("sign signum", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.cast(pc.sign(a), T.FLOAT64))
_reg("sqrt", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.sqrt(a))
_reg("exp", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.exp(a))
_reg("ln", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.ln(a))
_reg("log10", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.log10(a))
_reg("log2", fixed([T.FLOAT64], T.FLOAT64), lambda a: pc.log2(a))
_reg("pow power", fixed([T.FLOAT64, T.FLOAT64], T.FLOAT64), lambda a, b: pc.power(a, b))
_reg("rand random", fixed([], T.FLOAT64), None, deterministic=False)


def _log(b: Value, x: Value | None = None) -> Value:
    if x is None:
        return pc.ln(b)
    return pc.divide(pc.ln(x), pc.ln(b))


_reg("log", lambda a: ([T.FLOAT64] * len(a), T.FLOAT64), _log)


def _round_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if T.is_string(t) or t == T.NULL:
        t = T.FLOAT64
    return [t] + [T.INT32] * (len(args) - 1), t


def _round(a: Value, d: Value | None = None) -> Value:
    nd = 0 if d is None else d.as_py()
    if T.is_integer(a.type):
        if nd >= 0:
            return a
        return pc.cast(pc.round(pc.cast(a, T.FLOAT64), ndigits=nd, round_mode="half_towards_infinity"), a.type)
    r = pc.round(a, ndigits=nd, round_mode="half_towards_infinity")
    return r


def _round_result_type(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    return _round_resolve(args)


_reg("round", _round_resolve, _round)
_reg("bround", _round_resolve, lambda a, d=None: pc.round(a, ndigits=0 if d is None else d.as_py(),
                                                           round_mode="half_to_even"))


def _floor_ceil(fn: Any) -> Any:
    def k(a: Value) -> Value:
        if T.is_integer(a.type):
            return pc.cast(a, T.INT64)
        return pc.cast(fn(pc.cast(a, T.FLOAT64) if T.is_decimal(a.type) else a), T.INT64)
    return k


_reg("floor", fixed([None], T.INT64), _floor_ceil(pc.floor))
_reg("ceil ceiling", fixed([None], T.INT64), _floor_ceil(pc.ceil))

# ---------------------------------------------------------------- dates

_EPOCH = dt.date(1970, 1, 1)


def _date_add(d: Value, n: Value) -> Value:
    days = pc.cast(pc.cast(d, T.DATE), T.INT32)
    return pc.cast(pc.cast(pc.add(days, pc.cast(n, T.INT32)), T.INT32), T.DATE)


def _date_sub(d: Value, n: Value) -> Value:
    return _date_add(d, pc.negate(pc.cast(n, T.INT32)))


_reg("date_add", fixed([T.DATE, T.INT32], T.DATE), _date_add)
_reg("date_sub", fixed([T.DATE, T.INT32], T.DATE), _date_sub)
_reg("datediff", fixed([T.DATE, T.DATE], T.INT32),
     lambda a, b: pc.cast(pc.subtract(pc.cast(a, T.INT32), pc.cast(b, T.INT32)), T.INT32))


def _add_months(d: Value, n: Value) -> Value:
    """Add months, clamping the day to the end of the month (Hive add_months)."""
    if isinstance(d, pa.Scalar):
        if not d.is_valid:
            return pa.scalar(None, T.DATE)
        return _add_months(pa.array([d.as_py()], T.DATE), n)[0]
    if len(d) == 0:
        return pa.array([], T.DATE)
    if isinstance(d, pa.ChunkedArray):
        d = d.combine_chunks()
    mask = pc.is_null(d)
    if not isinstance(n, pa.Scalar):
        mask = pc.or_(mask, pc.is_null(n))
        n = pc.fill_null(n, 0)
    elif not n.is_valid:
        return pa.nulls(len(d), T.DATE)
    d = pc.fill_null(d, pa.scalar(0, T.INT32).cast(T.DATE))
    y, m, day = pc.year(d), pc.month(d), pc.day(d)
    total = pc.add(pc.add(pc.multiply(pc.cast(y, T.INT64), 12), pc.subtract(pc.cast(m, T.INT64), 1)),
                   pc.cast(n, T.INT64))
    ny = pc.divide(total, 12)
    # floor division for negatives
    nm = pc.subtract(total, pc.multiply(ny, 12))
    neg = pc.less(nm, 0)
    ny = pc.if_else(neg, pc.subtract(ny, 1), ny)
    nm = pc.if_else(neg, pc.add(nm, 12), nm)
    first = _make_date(ny, pc.add(nm, 1), 1)
    nxt = _make_date(pc.if_else(pc.equal(nm, 11), pc.add(ny, 1), ny),
                     pc.if_else(pc.equal(nm, 11), 1, pc.add(nm, 2)), 1)
    month_len = pc.subtract(pc.cast(nxt, T.INT32), pc.cast(first, T.INT32))
    dd = pc.min_element_wise(pc.cast(day, T.INT32), month_len)
    out = pc.cast(pc.cast(pc.add(pc.cast(first, T.INT32), pc.subtract(pc.cast(dd, T.INT32), 1)), T.INT32), T.DATE)
    return pc.if_else(mask, pa.scalar(None, T.DATE), out)


def _make_date(y: Value, m: Value, d: Any) -> Value:
    """Vectorized (y, m, d) → date32 via days-from-civil."""
    def arr(v: Any) -> np.ndarray:
        if isinstance(v, pa.Scalar):
            v = v.as_py()
        elif hasattr(v, "to_numpy"):
            v = v.to_numpy(zero_copy_only=False)
        return np.atleast_1d(np.asarray(v, dtype=np.int64))
    y, m, d = arr(y), arr(m), arr(d)
    n = max(len(y), len(m), len(d))
    y, m, d = (np.broadcast_to(x, (n,)) for x in (y, m, d))
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return pa.array(days.astype(np.int32)).cast(T.DATE)


_reg("add_months", fixed([T.DATE, T.INT32], T.DATE), _add_months)


def _date_add_interval(d: Value, iv: Value) -> Value:
    v = iv.as_py()
    months, days, nanos = v.months, v.days, v.nanoseconds
    if pa.types.is_timestamp(d.type):
        out = d
        if months:
            date_part = _add_months(pc.cast(d, T.DATE), pa.scalar(months))
            tod = pc.subtract(pc.cast(d, pa.int64()), pc.multiply(pc.cast(pc.cast(pc.cast(d, T.DATE), T.TIMESTAMP), pa.int64()), 1))
            out = pc.cast(pc.add(pc.cast(pc.cast(date_part, T.TIMESTAMP), pa.int64()), tod), T.TIMESTAMP)
        us = days * 86_400_000_000 + nanos // 1000
        return pc.cast(pc.add(pc.cast(out, pa.int64()), us), T.TIMESTAMP) if us else out
    out = d
    if months:
        out = _add_months(out, pa.scalar(months))
    if days:
        out = _date_add(out, pa.scalar(days))
    return out


def _interval_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if T.is_string(t):
        t = T.DATE
    return [t, T.INTERVAL], t


_reg("date_add_interval", _interval_resolve, _date_add_interval)


def _date_part(fn: Any) -> Any:
    return lambda d: pc.cast(fn(d), T.INT32)


def _date_arg(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if T.is_string(t):
        t = T.DATE
    return [t], T.INT32


for _n, _f in (("year", pc.year), ("month", pc.month), ("day dayofmonth", pc.day),
               ("hour", pc.hour), ("minute", pc.minute), ("second", pc.second),
               ("quarter", pc.quarter), ("weekofyear", pc.iso_week), ("dayofyear", pc.day_of_year)):
    _reg(_n, _date_arg, _date_part(_f))
_reg("dayofweek", _date_arg, lambda d: pc.cast(pc.add(pc.day_of_week(d, count_from_zero=True, week_start=7), 1), T.INT32))


def _to_date(s: Value) -> Value:
    if T.is_string(s.type):
        return pc.cast(pc.utf8_slice_codeunits(s, 0, 10), T.DATE)
    return pc.cast(s, T.DATE)


_reg("to_date", fixed([None], T.DATE), _to_date)
_reg("current_date", fixed([], T.DATE), lambda: pa.scalar(dt.date.today(), T.DATE), deterministic=False)
_reg("current_timestamp now", fixed([], T.TIMESTAMP),
     lambda: pa.scalar(dt.datetime.now(), T.TIMESTAMP), deterministic=False)


def _from_unixtime(secs: Value, fmt: Value | None = None) -> Value:
    ts = pc.cast(pc.cast(secs, T.INT64), pa.timestamp("s"))
    f = "%Y-%m-%d %H:%M:%S" if fmt is None else _java_fmt(fmt.as_py())
    return pc.strftime(ts, format=f)


def _java_fmt(f: str) -> str:
    """A Java SimpleDateFormat pattern as strftime (sqlglot may have converted it already)."""
    if "%" in f:
        return f.replace("strict", "")
    for a, b in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S")):
        f = f.replace(a, b)
    return f


_reg("from_unixtime", lambda a: ([T.INT64] + [T.STRING] * (len(a) - 1), T.STRING), _from_unixtime)


def _unix_timestamp(v: Value | None = None, fmt: Value | None = None) -> Value:
    if v is None:
        return pa.scalar(int(dt.datetime.now().timestamp()), T.INT64)
    if T.is_string(v.type):
        f = "%Y-%m-%d %H:%M:%S" if fmt is None else _java_fmt(fmt.as_py())
        v = pc.strptime(v, format=f, unit="us", error_is_null=True)
    return pc.cast(pc.divide(pc.cast(pc.cast(v, T.TIMESTAMP), T.INT64), 1_000_000), T.INT64)


_reg("unix_timestamp", lambda a: (list(a), T.INT64), _unix_timestamp, deterministic=False)
_reg("date_format", fixed([None, T.STRING], T.STRING),
     lambda d, f: pc.strftime(pc.cast(pc.cast(d, T.TIMESTAMP), pa.timestamp("s")), format=_java_fmt(f.as_py())))
_reg("last_day", fixed([T.DATE], T.DATE),
     lambda d: _date_sub(_add_months(_date_sub(d, pc.subtract(pc.cast(pc.day(d), T.INT32), 1)), pa.scalar(1)), pa.scalar(1)))

# ---------------------------------------------------------------- collections


def _map_entries(m: Value) -> Value:
    """A map as the list of its key/value structs (Arrow's list kernels skip maps)."""
    t = m.type
    entries = pa.struct([pa.field("key", t.key_type, nullable=False), pa.field("value", t.item_type)])
    return m.cast(pa.list_(pa.field("entries", entries, nullable=False)))


def _size(a: Value) -> Value:
    """Hive's size: elements of an array or entries of a map, -1 for NULL."""
    if pa.types.is_map(a.type):
        a = _map_entries(a)
    return pc.fill_null(pc.cast(pc.list_value_length(a), T.INT32), -1)


_reg("size", fixed([None], T.INT32), _size)


def _array_contains(a: Value, v: Value) -> Value:
    flat = pc.list_flatten(a)
    parents = pc.list_parent_indices(a)
    hit = pc.equal(flat, v)
    n = len(a)
    out = np.zeros(n, dtype=bool)
    idx = np.asarray(parents)[np.asarray(pc.fill_null(hit, False), dtype=bool)]
    out[idx] = True
    return pa.array(out, mask=np.asarray(pc.is_null(a)))


def _array_contains_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    return [args[0], args[0].value_type], T.BOOL


_reg("array_contains", _array_contains_resolve, _array_contains)


def _map_part(field: str) -> Any:
    def k(m: Value) -> Value:
        arr = m if isinstance(m, pa.Array) else pa.array([m.as_py()], m.type)
        offsets = arr.offsets
        values = arr.keys if field == "key" else arr.items
        return pa.ListArray.from_arrays(offsets, values, mask=arr.is_null())
    return k


_reg("map_keys", lambda a: ([a[0]], pa.list_(a[0].key_type)), _map_part("key"))
_reg("map_values", lambda a: ([a[0]], pa.list_(a[0].item_type)), _map_part("item"))


def _element_at(a: Value, k: Value, zero_based: bool = True) -> Value:
    """a[i] (0-based, Hive) on arrays, m[k] on maps; NULL when absent."""
    arr = a if isinstance(a, pa.Array) else pa.array([a.as_py()], a.type)
    n = len(arr)
    if pa.types.is_map(arr.type):
        keys, items, offsets = arr.keys, arr.items, np.asarray(arr.offsets)
        parents = np.repeat(np.arange(n), np.diff(offsets))
        hit = np.asarray(pc.fill_null(pc.equal(keys, k), False), dtype=bool)
        pos = np.full(n, -1, dtype=np.int64)
        pos[parents[hit][::-1]] = np.nonzero(hit)[0][::-1]
        take = pa.array(pos, mask=pos < 0)
        return pc.take(items, take)
    offsets = np.asarray(arr.offsets)
    lengths = np.diff(offsets)
    kk = k.as_py() if isinstance(k, pa.Scalar) else np.asarray(pc.fill_null(k, -1))
    idx = np.asarray(kk, dtype=np.int64) if not zero_based else np.asarray(kk, dtype=np.int64) + 1
    idx = np.broadcast_to(idx, (n,))
    ok = (idx >= 1) & (idx <= lengths) & ~np.asarray(arr.is_null())
    pos = offsets[:-1] + idx - 1
    take = pa.array(np.where(ok, pos, 0), mask=~ok)
    return pc.take(arr.values, take)


def _subscript_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    t = args[0]
    if pa.types.is_map(t):
        return [t, t.key_type], t.item_type
    if pa.types.is_list(t):
        return [t, T.INT64], t.value_type
    raise FunctionError(f"cannot index {T.type_name(t)}")


_reg("subscript", _subscript_resolve, _element_at)
_reg("element_at", _subscript_resolve, lambda a, k: _element_at(a, k, zero_based=pa.types.is_map(a.type)))


def _sort_array(a: Value) -> Value:
    arr = a if isinstance(a, pa.Array) else pa.array([a.as_py()], a.type)
    parents = pc.list_parent_indices(arr)
    flat = pc.list_flatten(arr)
    t = pa.table({"p": parents, "v": flat})
    order = pc.sort_indices(t, sort_keys=[("p", "ascending"), ("v", "ascending")])
    offsets = np.asarray(arr.offsets)
    return pa.ListArray.from_arrays(pa.array(offsets - offsets[0], pa.int32()), pc.take(flat, order), mask=arr.is_null())


_reg("sort_array", same_as_first(1), _sort_array)


def _array_ctor(*vals: Value) -> Value:
    n = max((len(v) for v in vals if not isinstance(v, pa.Scalar)), default=1)
    cols = [v if not isinstance(v, pa.Scalar) else pa.array([v.as_py()] * n, v.type) for v in vals]
    k = len(cols)
    if k == 0:
        return pa.array([[]] * n, pa.list_(T.STRING))
    inter = pc.take(pa.concat_arrays([pa.array(c) for c in cols]),
                    pa.array((np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()))
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * k), inter)


_reg("array", lambda a: ((lambda t: ([t] * len(a), pa.list_(t)))(common_all()(a)[1] if a else T.STRING)), _array_ctor)


def _struct_field(s: Value, name: Value) -> Value:
    return pc.struct_field(s, name.as_py())


def _struct_field_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    raise FunctionError("struct field access is bound by name")


def struct_field_type(t: pa.DataType, name: str) -> pa.DataType | None:
    for f in t:
        if f.name.lower() == name.lower():
            return f.type
    return None


_reg("struct_field", lambda a: (a, T.NULL), _struct_field)


def _named_struct(*args: Value) -> Value:
    names = [a.as_py() for a in args[0::2]]
    vals = list(args[1::2])
    n = max((len(v) for v in vals if not isinstance(v, pa.Scalar)), default=1)
    arrays = [v if not isinstance(v, pa.Scalar) else pa.repeat(v, n) for v in vals]
    arrays = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays]
    return pa.StructArray.from_arrays(arrays, names=names)


def _named_struct_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    raise FunctionError("named_struct is bound by the binder")


_reg("named_struct", _named_struct_resolve, _named_struct)


def _map_ctor(*args: Value) -> Value:
    if not args:  # map(): one empty map, broadcast like any constant
        return pa.scalar([], pa.map_(T.STRING, T.STRING))
    keys, vals = list(args[0::2]), list(args[1::2])
    n = max((len(v) for v in keys + vals if not isinstance(v, pa.Scalar)), default=1)
    k = len(keys)

    def col(v: Value) -> pa.Array:
        a = v if not isinstance(v, pa.Scalar) else pa.repeat(v, n)
        return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
    order = pa.array((np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel())
    kk = pc.take(pa.concat_arrays([col(x) for x in keys]), order)
    vv = pc.take(pa.concat_arrays([col(x) for x in vals]), order)
    return pa.MapArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * k), kk, vv)


def _map_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) % 2:
        raise FunctionError("map expects key/value pairs")
    if not args:
        return [], pa.map_(T.STRING, T.STRING)  # Hive's type of map()
    kt, vt = args[0], args[1]
    for a in args[2::2]:
        kt = T.common_type(kt, a)
    for a in args[3::2]:
        vt = T.common_type(vt, a)
    vt = T.STRING if vt == T.NULL else vt
    return [kt, vt] * (len(args) // 2), pa.map_(kt, vt)


_reg("map", _map_resolve, _map_ctor)


def _row_key(*args: Value) -> Value:
    """One string per row standing for a tuple (NULL if any member is NULL): lets
    count(DISTINCT a, b) count distinct tuples with a single-column kernel."""
    parts = [pc.cast(a, T.STRING) if not T.is_string(a.type) else a for a in args]
    return pc.binary_join_element_wise(*parts, "\x1f", null_handling="emit_null")


_reg("_row_key", lambda a: (list(a), T.STRING), _row_key)


def _hash(*args: Value) -> Value:
    from pyarrow import compute as _pc
    out = None
    for a in args:
        h = pc.cast(_pc.hash64(a) if hasattr(_pc, "hash64") else pc.cast(a, T.INT64), T.INT64)
        out = h if out is None else pc.add(pc.multiply(out, 31), h)
    return pc.cast(out, T.INT32)


def _cast_kernel(a: Value, target: pa.DataType) -> Value:
    """Hive CAST: NULL when the value does not convert."""
    src = a.type
    if src == target:
        return a
    if src == T.NULL:
        return pa.nulls(len(a), target) if isinstance(a, pa.Array) else pa.scalar(None, target)
    if T.is_string(src) and (T.is_numeric(target) or T.is_temporal(target) or target == T.BOOL):
        s = pc.utf8_trim_whitespace(a)
        if T.is_integer(target):
            # Hive truncates '1.5' to 1 for integral casts
            f = _safe_cast_str(s, T.FLOAT64)
            return pc.cast(pc.trunc(f), target, safe=False)
        if T.is_decimal(target):
            # Hive rounds '123.456' to DECIMAL(5,2)'s 123.46: parse with every fractional
            # digit the target's integer digits leave room for, then round as decimals do
            wide = pa.decimal128(38, max(target.scale, 38 - (target.precision - target.scale)))
            return _cast_kernel(_safe_cast_str(s, wide), target)
        if target == T.DATE:
            s = pc.utf8_slice_codeunits(s, 0, 10)
        if target == T.BOOL:
            low = pc.utf8_lower(s)
            return pc.if_else(pc.is_in(low, pa.array(["true", "1"])), True,
                              pc.if_else(pc.is_in(low, pa.array(["false", "0"])), False, pa.scalar(None, T.BOOL)))
        return _safe_cast_str(s, target)
    if T.is_string(target):
        if src == T.BOOL:
            return pc.if_else(a, "true", "false")
        if T.is_floating(src):
            return _float_to_string(a)
        return pc.cast(a, target)
    if T.is_decimal(target) and (T.is_decimal(src) or T.is_floating(src) or T.is_integer(src)):
        if T.is_decimal(src) and src.scale > target.scale:
            a = pc.round(a, ndigits=target.scale, round_mode="half_towards_infinity")
        elif T.is_floating(src):
            a = pc.round(a, ndigits=target.scale, round_mode="half_towards_infinity")
        elif T.is_integer(src):
            a = pc.cast(a, pa.decimal128(38, target.scale))
        try:
            return pc.cast(a, target)
        except pa.ArrowInvalid:
            return _overflow_to_null(a, target)
    if T.is_integer(target) and (T.is_floating(src) or T.is_decimal(src)):
        return pc.cast(pc.trunc(pc.cast(a, T.FLOAT64)) if T.is_decimal(src) else pc.trunc(a), target, safe=False)
    if T.is_integer(target) and src == T.BOOL:
        return pc.cast(a, target)
    if target == T.DATE and pa.types.is_timestamp(src):
        return pc.cast(a, target)
    try:
        return pc.cast(a, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pc.cast(a, target, safe=False)


def _overflow_to_null(a: Value, target: pa.DataType) -> Value:
    limit = 10.0 ** (target.precision - target.scale)
    f = pc.cast(a, T.FLOAT64)
    ok = pc.less(pc.abs(f), limit)
    return pc.cast(pc.if_else(ok, a, pa.scalar(None, a.type)), target, safe=False)


def _safe_cast_str(s: Value, target: pa.DataType) -> Value:
    try:
        return pc.cast(s, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    arr = s if isinstance(s, pa.Array) else pa.array([s.as_py()], s.type)
    # Element-wise only on failure: validate with a regex, null out the rest.
    if T.is_numeric(target):
        ok = pc.match_substring_regex(arr, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    elif target == T.DATE:
        ok = pc.match_substring_regex(arr, r"^\d{4}-\d{1,2}-\d{1,2}$")
    else:
        ok = pc.match_substring_regex(arr, r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
    cleaned = pc.if_else(ok, arr, pa.scalar(None, arr.type))
    try:
        out = pc.cast(cleaned, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = pa.array([_try(v, target) for v in cleaned.to_pylist()], target)
    return out if isinstance(s, pa.Array) else out[0]


def _try(v: Any, target: pa.DataType) -> Any:
    try:
        return pa.scalar(v).cast(target).as_py()
    except Exception:
        return None


def _float_to_string(a: Value) -> Value:
    s = pc.cast(a, T.STRING)
    # Hive prints whole doubles with a trailing ".0"
    whole = pc.and_(pc.equal(pc.trunc(a), a), pc.less(pc.abs(a), 1e7))
    no_dot = pc.invert(pc.match_substring(s, "."))
    return pc.if_else(pc.and_(whole, no_dot), pc.binary_join_element_wise(s, ".0", ""), s)


cast_kernel = _cast_kernel


def resolve(name: str, arg_types: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    f = SCALARS.get(name)
    if f is None:
        raise FunctionError(f"unknown function '{name}'")
    return f.resolve(arg_types)


def closest(name: str, candidates: Sequence[str]) -> list[str]:
    import difflib
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
