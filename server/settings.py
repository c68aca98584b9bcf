"""PostgreSQL run-time settings a session reports and accepts (``SET``, ``SHOW``, ``current_setting``).

The server keeps its own table of PostgreSQL settings; names with a dot (``lamna.*``,
``spark.*``, ``hive.*``) are the engine's and are forwarded to it as well. Some settings
are *reported*: a change is announced to the client with a ParameterStatus message, as
PostgreSQL does (pgJDBC checks ``client_encoding`` and ``DateStyle`` this way).
"""

from __future__ import annotations

import re

from server.errors import PgError
from server.translate import SERVER_VERSION

DEFAULTS: dict[str, str] = {
    "server_version": SERVER_VERSION,
    "server_version_num": "140000",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "datestyle": "ISO, MDY",
    "intervalstyle": "postgres",
    "timezone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "is_superuser": "on",
    "application_name": "",
    "transaction_isolation": "read committed",
    "default_transaction_isolation": "read committed",
    "transaction_read_only": "off",
    "default_transaction_read_only": "off",
    "search_path": '"$user", public',
    "statement_timeout": "0",
    "extra_float_digits": "1",
    "max_identifier_length": "63",
    "lc_collate": "C.UTF-8",
    "lc_ctype": "C.UTF-8",
    "lc_messages": "C.UTF-8",
    "bytea_output": "hex",
    "lamna.dialect": "hive",
    "lamna.progress": "off",
    "lamna.query.memory": "0",  # the per-query memory cap; 0: none (the server's --query-memory)
}

#: Reported settings and the spelling PostgreSQL uses in ParameterStatus.
REPORTED = {"server_version": "server_version", "server_encoding": "server_encoding",
            "client_encoding": "client_encoding", "datestyle": "DateStyle", "intervalstyle": "IntervalStyle",
            "timezone": "TimeZone", "integer_datetimes": "integer_datetimes",
            "standard_conforming_strings": "standard_conforming_strings", "is_superuser": "is_superuser",
            "application_name": "application_name", "session_authorization": "session_authorization"}

_READ_ONLY = {"server_version", "server_version_num", "server_encoding", "integer_datetimes",
              "max_identifier_length", "lc_collate", "lc_ctype"}


def check(name: str, value: str) -> str:
    """Validate a SET; returns the value to store (normalised)."""
    if name in _READ_ONLY:
        raise PgError("55P02", f'parameter "{name}" cannot be changed')
    if name == "client_encoding" and value.upper().replace("-", "") not in ("UTF8", "UNICODE"):
        raise PgError("0A000", f"client_encoding {value!r} is not supported: only UTF8")
    if name == "client_encoding":
        return "UTF8"
    if name == "datestyle":
        return "ISO, MDY" if "iso" in value.lower() or value.lower() == "default" else _bad(name, value)
    if name == "statement_timeout":
        return str(timeout_ms(value))
    if name == "lamna.dialect" and value.lower() not in ("hive", "postgres", "spark"):
        raise PgError("22023", "lamna.dialect must be one of hive, postgres, spark")
    if name == "lamna.progress" and value.lower() not in ("on", "off", "true", "false"):
        raise PgError("22023", "lamna.progress must be on or off")
    if name == "lamna.query.memory":
        return format_size(size_bytes(value))
    return value


def _bad(name: str, value: str) -> str:
    raise PgError("22023", f'invalid value for parameter "{name}": "{value}"')


def timeout_ms(value: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*", value.lower())
    if not m:
        raise PgError("22023", f'invalid value for parameter "statement_timeout": "{value}"')
    scale = {"ms": 1, None: 1, "s": 1000, "min": 60_000, "h": 3_600_000}[m.group(2)]
    return int(float(m.group(1)) * scale)


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30,
          "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


def size_bytes(value: str) -> int:
    """``lamna.query.memory``: ``512MB``, ``2GB``, ``64kB``, a number of bytes; ``0``,
    ``-1`` or ``off`` for no cap."""
    text = value.strip().strip("'").lower()
    if text in ("off", "none", "unlimited", "-1"):
        return 0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    if not m or m.group(2) not in _UNITS:
        raise PgError("22023", f'invalid value for parameter "lamna.query.memory": "{value}"',
                      hint="Give a size such as 512MB or 2GB, or 0 for no cap.")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def format_size(n: int) -> str:
    """The shortest exact spelling of ``n`` bytes (``0`` is no cap)."""
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)
