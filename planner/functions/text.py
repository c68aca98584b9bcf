"""Formatting and text analysis: format_number, printf / format_string, soundex,
levenshtein, sentences.

Arrow has kernels for none of these. format_number, printf, soundex and sentences run
once per distinct argument tuple (``vectors.per_distinct``); levenshtein is one numpy
dynamic program over all the distinct pairs of a batch at once.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from planner import types as T
from planner.functions.registry import (
    FunctionError,
    Value,
    check_argument,
    register,
    sig,
)
from planner.functions.vectors import (
    broadcast,
    byte_buffers,
    from_byte_buffers,
    per_distinct,
    per_distinct_batch,
    restore,
    row_of_byte,
    valid_mask,
)

# ---------------------------------------------------------------- format_number


def _format_number_one(x: Any, digits: int | None) -> str | None:
    """x with thousands separators and ``digits`` decimals, rounded half-even as Java's
    DecimalFormat (Hive's GenericUDFFormatNumber) does: on the exact binary value of a
    double below 2**53, on its shortest decimal digits beyond (where Java prints those
    digits and zeros)."""
    if x is None or digits is None:
        return None
    if digits < 0:
        raise FunctionError(f"format_number: the number of decimals must not be negative, got {digits}")
    if isinstance(x, float):
        if not math.isfinite(x):
            return "NaN" if math.isnan(x) else ("-" if x < 0 else "") + "\u221e"
        x = Decimal(x) if abs(x) < 2.0**53 else Decimal(repr(x))
    return format(x if isinstance(x, Decimal) else Decimal(int(x)), f",.{digits}f")


def group_thousands(digits: pa.Array) -> pa.Array:
    """Strings of decimal digits with a comma every three digits from the right, by
    moving every byte of the column to its place (numpy, no loop over rows)."""
    offsets, data = byte_buffers(digits)
    lengths = np.diff(offsets)
    rows = row_of_byte(offsets)
    from_left = np.arange(len(data)) - offsets[:-1][rows]
    from_right = lengths[rows] - 1 - from_left
    commas = np.maximum(lengths - 1, 0) // 3
    out_offsets = np.concatenate([[0], np.cumsum(lengths + commas)]).astype(np.int64)
    out = np.full(int(out_offsets[-1]), ord(","), np.uint8)
    out[out_offsets[:-1][rows] + from_left + commas[rows] - from_right // 3] = data
    return from_byte_buffers(out_offsets, out, valid_mask(digits))


def _format_number(x: Value, digits: Value) -> Value:
    """format_number vectorized: the value rounded half-even to ``digits`` decimals as a
    scaled integer, its whole part grouped by thousands, its fraction zero-padded. Rare
    inputs go once per distinct value through Python's exact formatting instead: a
    non-constant or negative number of decimals, a double beyond 2**63 once scaled,
    NaN and infinities."""
    d = digits.as_py() if isinstance(digits, pa.Scalar) else None
    (arr,), scalar = broadcast(x)
    if d is None or d < 0 or d > 15:
        return per_distinct(_format_number_one, T.STRING, x, digits)
    exact_needed = None
    if T.is_floating(arr.type):
        values = np.asarray(pc.fill_null(arr, 0.0), dtype=np.float64)
        product = np.abs(values) * 10.0 ** d
        with np.errstate(invalid="ignore"):
            # the product is rounded: where it is within its error of a tie, or not an exact
            # integer range, the digits are decided exactly (per distinct value)
            exact_needed = ~(np.isfinite(product) & (product < 2.0**53)) | (
                np.abs(product - np.floor(product) - 0.5) <= product * 2.0**-50)
        units = np.rint(np.where(exact_needed, 0.0, product)).astype(np.int64)  # half-even
        negative = np.signbit(values)
        whole, fraction = pa.array(units // 10**d), pa.array(units % 10**d)
    else:  # integers and decimals: exact, through Arrow's decimal rounding
        if T.is_decimal(arr.type) and arr.type.precision - arr.type.scale + d + 1 > 38:
            return per_distinct(_format_number_one, T.STRING, x, digits)
        p, scale = (arr.type.precision, arr.type.scale) if T.is_decimal(arr.type) else (20, 0)
        wide = pa.decimal128(p - scale + max(scale, d) + 1, max(scale, d))  # room for carries and decimals
        rounded = pc.round(pc.cast(arr, wide), ndigits=d, round_mode="half_to_even")
        text = pc.cast(pc.cast(rounded, pa.decimal128(p - scale + d + 1, d)), T.STRING)
        negative = np.asarray(pc.fill_null(pc.less(arr, pa.scalar(0, arr.type)), False), dtype=bool)
        parts = pc.split_pattern(pc.utf8_ltrim(text, "-"), ".")
        whole, fraction = pc.list_element(parts, 0), (pc.list_element(parts, 1) if d else None)
    sign = pa.array(np.where(negative, "-", ""))  # Java keeps the sign of what rounds to 0
    text = pc.binary_join_element_wise(sign, group_thousands(pc.cast(whole, T.STRING)), "")
    if d:
        text = pc.binary_join_element_wise(text, pc.utf8_lpad(pc.cast(fraction, T.STRING), width=d, padding="0"), ".")
    text = pc.if_else(pc.is_null(arr), pa.scalar(None, T.STRING), text)
    if exact_needed is not None and exact_needed.any():
        mask = pa.array(exact_needed & np.asarray(pc.is_valid(arr), dtype=bool))
        exact = per_distinct(_format_number_one, T.STRING, arr.filter(mask), digits)
        text = pc.replace_with_mask(text, mask, exact)
    return restore(text, scalar)


def _format_number_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if len(args) != 2:
        raise FunctionError(f"expects 2 arguments, got {len(args)}")
    x, d = args
    if not (T.is_numeric(x) or x == T.NULL):
        raise FunctionError(f"argument 1 must be a number, got {T.type_name(x)}")
    if T.is_string(d):
        raise FunctionError("argument 2: a DecimalFormat pattern is not supported, give the number of decimals")
    return [x if x != T.NULL else T.FLOAT64, check_argument(1, "int32", d)], T.STRING


register("format_number", _format_number_resolve, _format_number)

# ---------------------------------------------------------------- printf

#: One Java Formatter specifier: %[index$][flags][width][.precision]conversion
_SPEC = re.compile(r"%(\d+\$|<)?([-#+ 0,(]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _java_format(fmt: str, args: tuple[Any, ...], widths: tuple[int, ...]) -> str:
    """``String.format(fmt, args)`` for the conversions Hive's printf is used with:
    d o x X (two's complement of the argument's width for negatives), e E f g G, s S,
    c, b B, % and n, with flags - + space 0 , ( # and explicit argument indexes."""
    out, pos, ordinary, last = [], 0, 0, -1
    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        index, flags, width, precision, conversion = m.groups()
        if conversion == "%":
            out.append("%".rjust(int(width or 0)))
            continue
        if conversion == "n":
            out.append("\n")
            continue
        if index == "<":
            i = last
        elif index:
            i = int(index[:-1]) - 1
        else:
            i, ordinary = ordinary, ordinary + 1
        last = i
        if not 0 <= i < len(args):
            raise FunctionError(f"printf: format specifier '{m.group(0)}' has no argument")
        out.append(_one_specifier(args[i], widths[i], flags, width, precision, conversion, m.group(0)))
    out.append(fmt[pos:])
    return "".join(out)


def _one_specifier(v: Any, bits: int, flags: str, width: str | None, precision: str | None, conversion: str,
                   spec: str) -> str:
    lower = conversion.lower()
    if lower == "b":
        text = "false" if v is None or v is False else "true"
    elif v is None:
        text = "null"
    elif lower == "s":
        text = ("true" if v else "false") if isinstance(v, bool) else str(v)
        text = text[:int(precision)] if precision is not None else text
    elif lower == "c":
        text = chr(v) if isinstance(v, int) else str(v)[:1]
    elif lower in ("d", "o", "x", "e", "f", "g"):
        text = _number(v, bits, flags, precision, lower, spec)
    else:
        raise FunctionError(f"printf: conversion '{spec}' is not supported")
    if conversion.isupper():
        text = text.upper()
    w = int(width or 0)
    if "-" in flags:
        return text.ljust(w)
    if "0" in flags and lower in "doxefg" and text[:1] in "+- (":
        return text[0] + text[1:].rjust(w - 1, "0")
    return text.rjust(w, "0" if "0" in flags and lower in "doxefg" else " ")


def _number(v: Any, bits: int, flags: str, precision: str | None, conversion: str, spec: str) -> str:
    if conversion in "dox":
        if not isinstance(v, int) or isinstance(v, bool):
            raise FunctionError(f"printf: '{spec}' needs an integer, got {type(v).__name__} {v!r}")
        if conversion != "d" and v < 0:
            v += 1 << bits  # Java prints the two's complement
        body = format(abs(v), {"d": ",d" if "," in flags else "d", "o": "o", "x": "x"}[conversion])
        if "#" in flags and conversion != "d":
            body = ("0" if conversion == "o" else "0x") + body
    else:
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
            raise FunctionError(f"printf: '{spec}' needs a number, got {type(v).__name__} {v!r}")
        p = 6 if precision is None else int(precision)
        if conversion != "f":
            v = float(v)  # Python prints a Decimal's exponent with one digit, Java with two
        body = format(abs(v), ("," if "," in flags and conversion == "f" else "") + f".{p}{conversion}")
    negative = v < 0  # never for o and x, already made positive
    if negative and "(" in flags:
        return f"({body})"
    sign = "-" if negative else "+" if "+" in flags else " " if " " in flags else ""
    return sign + body


#: bits of each integer argument type, for the two's complement of %x and %o
_BITS = {T.INT8: 8, T.INT16: 16, T.INT32: 32, T.INT64: 64}


def _printf(fmt: Value, *args: Value) -> Value:
    widths = tuple(_BITS.get(a.type, 64) for a in args)
    return per_distinct(lambda f, *vs: None if f is None else _java_format(f, vs, widths), T.STRING, fmt, *args)


def _printf_resolve(args: list[pa.DataType]) -> tuple[list[pa.DataType], pa.DataType]:
    if not args:
        raise FunctionError("expects at least 1 argument, got 0")
    want = [check_argument(0, "string", args[0])]
    for i, t in enumerate(args[1:], start=1):
        want.append(check_argument(i, "any", t) if t != T.NULL else T.STRING)
        if pa.types.is_list(t) or pa.types.is_map(t) or pa.types.is_struct(t) or pa.types.is_binary(t):
            raise FunctionError(f"argument {i + 1} must be a primitive value, got {T.type_name(t)}")
    return want, T.STRING


register("printf format_string", _printf_resolve, _printf)

# ---------------------------------------------------------------- soundex

#: commons-codec's US English Soundex codes of A..Z (0: vowels and the like)
_SOUNDEX_CODES = "01230120022455012623010202"


def soundex_one(s: str | None) -> str | None:
    """commons-codec's Soundex (Hive's GenericUDFSoundex): the first letter and three
    digits; H and W are skipped without separating equal codes, vowels separate them.
    Non-letters are dropped; a letter Soundex has no code for (é) makes the answer NULL
    (commons-codec throws)."""
    if s is None:
        return None
    letters = [c for c in s.upper() if c.isalpha()]
    if not letters:
        return ""
    if any(not ("A" <= c <= "Z") for c in letters):
        return None
    out, last = [letters[0]], _SOUNDEX_CODES[ord(letters[0]) - 65]
    for c in letters[1:]:
        if len(out) == 4:
            break
        if c in "HW":
            continue
        digit = _SOUNDEX_CODES[ord(c) - 65]
        if digit != "0" and digit != last:
            out.append(digit)
        last = digit
    return "".join(out).ljust(4, "0")


register("soundex", sig("string", result=T.STRING), lambda s: per_distinct(soundex_one, T.STRING, s))

# ---------------------------------------------------------------- levenshtein


def _code_points(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The strings as a zero-padded matrix of code points and their lengths."""
    lengths = np.array([len(s) for s in strings], dtype=np.int64)
    width = int(lengths.max(initial=0))
    if width == 0:
        return np.zeros((len(strings), 0), np.uint32), lengths
    matrix = np.array(strings, dtype=f"<U{width}").view(np.uint32).reshape(len(strings), width)
    return matrix, lengths


def levenshtein_many(a: list[str | None], b: list[str | None]) -> pa.Array:
    """Edit distances of many pairs at once: the classic dynamic program, row i of every
    pair's table computed together, with each row's insertions as one running minimum
    (D[i][j] = min over k <= j of T[k] + (j - k) = cummin(T - j) + j)."""
    valid = np.array([x is not None and y is not None for x, y in zip(a, b)], dtype=bool)
    xs, x_len = _code_points([x if ok else "" for x, ok in zip(a, valid)])
    ys, y_len = _code_points([y if ok else "" for y, ok in zip(b, valid)])
    pairs, width = len(a), ys.shape[1]
    j = np.arange(width + 1)
    row = np.broadcast_to(j, (pairs, width + 1)).copy()  # D[0][j] = j
    answer = np.where(x_len == 0, y_len, 0)
    for i in range(xs.shape[1]):
        cost = (xs[:, i:i + 1] != ys).astype(np.int64)
        best = np.minimum(row[:, 1:] + 1, row[:, :-1] + cost)  # deletion, substitution
        candidate = np.concatenate([np.full((pairs, 1), i + 1), best], axis=1)
        row = np.minimum.accumulate(candidate - j, axis=1) + j  # insertions
        done = x_len == i + 1
        answer[done] = row[done, y_len[done]]
    return pa.array(answer.astype(np.int32), mask=~valid)


register("levenshtein", sig("string", "string", result=T.INT32),
         lambda a, b: per_distinct_batch(levenshtein_many, a, b))

# ---------------------------------------------------------------- sentences

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W_]+(?:['\u2019.][^\W_]+)*")


def sentences_one(s: str | None, *_locale: Any) -> list[list[str]] | None:
    """The words of each sentence. Hive uses Java's BreakIterator for the locale; this
    splits sentences after . ! ? and white space and takes runs of letters and digits
    (with inner apostrophes and dots: don't, 3.14) as words, the same on plain prose."""
    if s is None:
        return None
    out = [_WORD.findall(part) for part in _SENTENCE_END.split(s)]
    return [words for words in out if words]


register("sentences", sig("string", "string", "string", optional=2, result=pa.list_(pa.list_(T.STRING))),
         lambda s, *locale: per_distinct(sentences_one, pa.list_(pa.list_(T.STRING)), s, *locale))
