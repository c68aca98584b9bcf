"""Built-in scalar functions: type resolution (for the binder) and vectorized kernels.

One module per family registers its functions in ``SCALARS`` when imported; this
package imports them all, so ``from planner.functions import SCALARS`` sees every one.

| module | family |
|---|---|
| ``registry`` | ``SCALARS``, ``register``, the shared argument-type resolvers |
| ``arithmetic`` | + - * / % DIV, pmod, negation, with Hive's decimal rules |
| ``logic`` | comparisons, AND/OR/NOT, IN lists, LIKE/RLIKE, conditional functions |
| ``strings`` | string functions |
| ``numeric`` | mathematical functions |
| ``parsing`` | get_json_object, json_tuple, parse_url, str_to_map |
| ``text`` | format_number, printf, soundex, levenshtein, sentences |
| ``dates`` | date functions |
| ``timestamps`` | hour/minute/second, trunc, date_trunc, from/to_utc_timestamp |
| ``collections`` | arrays, maps and structs: constructors, access, size, sort |
| ``arrays`` | Spark's array functions (array_distinct ... sequence, slice) |
| ``encoding`` | base64, hex, unhex, bin, conv |
| ``hashing`` | md5, sha1, sha2, crc32, Hive's ``hash`` |
| ``vectors`` | helpers: scalars as arrays, string bytes as numpy, ``per_distinct`` |
| ``casts`` | CAST with Hive's semantics |
"""

from __future__ import annotations

# each family module registers its functions when imported
from planner.functions import (  # noqa: F401
    arithmetic,
    arrays,
    collections,
    dates,
    encoding,
    hashing,
    logic,
    numeric,
    parsing,
    strings,
    text,
    timestamps,
)
from planner.functions.casts import cast_kernel
from planner.functions.collections import struct_field_type
from planner.functions.logic import like_to_regex
from planner.functions.registry import (
    SCALARS,
    FunctionError,
    Scalar,
    Value,
    closest,
    register,
    resolve,
)

__all__ = ["SCALARS", "FunctionError", "Scalar", "Value", "cast_kernel", "closest", "like_to_regex",
           "register", "resolve", "struct_field_type"]
