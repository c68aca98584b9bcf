"""Tab completion of keywords, functions, meta-commands, and table and column names.

Names come from the catalog through SQL (``SHOW TABLES``, ``DESCRIBE t``), so completion
works the same against a server. They are fetched only while the shell sits at its
prompt (the backend is idle then), tables once per catalog change, columns on demand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from sql.shell.state import BackendHandle

KEYWORDS = """
ADD ALL ALTER ANALYZE AND ARRAY AS ASC BETWEEN BIGINT BINARY BOOLEAN BUCKETS BY CACHE CASCADE
CASE CAST CHAR CLUSTER CLUSTERED COLLECTION COLUMN COLUMNS COMMENT COMPUTE CREATE CROSS CUBE
DATABASE DATABASES DATE DECIMAL DEFINED DELIMITED DESC DESCRIBE DISTINCT DISTRIBUTE DOUBLE DROP
ELSE END ESCAPED EXCEPT EXISTS EXPLAIN EXTENDED EXTERNAL FALSE FIELDS FIRST FLOAT FOLLOWING FOR
FORMAT FORMATTED FROM FULL FUNCTION GROUP GROUPING HAVING IF IN INPATH INSERT INT INTERSECT INTERVAL
INTO IS ITEMS JOIN KEYS LAST LATERAL LEFT LIKE LIMIT LINES LOAD LOCAL LOCATION MAP MSCK NOT NULL
NULLS OF ON OR ORDER OUTER OVER OVERWRITE PARQUET PARTITION PARTITIONED PARTITIONS PRECEDING
PURGE RANGE RECORDREADER REPAIR RENAME REPLACE RIGHT RLIKE ROW ROWS SCHEMA SCHEMAS SELECT SEMI SERDE
SET SETS SHOW SMALLINT SORT SORTED STATISTICS STORED STRING STRUCT TABLE TABLES TBLPROPERTIES
TEMPORARY TERMINATED TEXTFILE THEN TIMESTAMP TINYINT TO TRUE TRUNCATE UNBOUNDED UNION USE USING
VALUES VARCHAR VIEW VIEWS WHEN WHERE WINDOW WITH
""".split()

FUNCTIONS = """
abs acos array array_contains asin atan avg cast ceil ceiling coalesce collect_list collect_set
concat concat_ws corr count covar_pop cume_dist current_date current_timestamp date_add date_format
date_sub datediff day dayofmonth dense_rank exp explode first_value floor from_unixtime get_json_object
greatest hash hour if instr isnotnull isnull lag last_value lcase lead least length ln locate log
lower lpad ltrim map max min minute month nvl ntile percent_rank percentile pmod posexplode pow
power rand rank regexp_extract regexp_replace repeat reverse round row_number rpad rtrim second
sign sin size sort_array split sqrt stddev stddev_pop stddev_samp struct substr substring sum tan
to_date trim ucase unix_timestamp upper var_pop var_samp variance weekofyear year
add_months any_value approx_count_distinct array_distinct array_except array_intersect array_join
array_max array_min array_position array_remove array_union base64 bin bool_and bool_or bround
cardinality cbrt char chr conv count_if covar_samp crc32 current_database current_user
date_trunc decode degrees e elt every factorial field find_in_set flatten format_number format_string
from_utc_timestamp hex histogram_numeric initcap inline json_tuple kurtosis last_day levenshtein
log10 log2 map_keys map_values max_by md5 median min_by mode months_between named_struct next_day
nvl2 octet_length parse_url percentile_approx pi printf quarter radians regexp_extract_all sentences
sequence sha1 sha2 skewness slice soundex space split_part std str_to_map substring_index
to_utc_timestamp trunc unbase64 unhex uuid
""".split()

META_COMMANDS = ["\\q", "\\?", "\\l", "\\dt", "\\d", "\\c", "\\format", "\\x", "\\timing",
                 "\\header", "\\types", "\\o", "\\i", "\\set", "\\unset"]

#: After these words a table name is expected, so tables are offered first (and only).
_TABLE_CONTEXT = {"FROM", "JOIN", "INTO", "TABLE", "DESCRIBE", "DESC", "UPDATE", "OVERWRITE", "EXISTS", "\\D"}
_NAME_AFTER = re.compile(r"\b(?:from|join|into|table|describe|desc|update)\s+([`\w.]+)", re.I)
_WORD = re.compile(r"[\w.$\\{}:]*$")


class CatalogNames:
    """Table and column names, cached until a statement may have changed them."""

    def __init__(self, backend: BackendHandle) -> None:
        self.backend = backend
        self._tables: list[str] | None = None
        self._columns: dict[str, list[str]] = {}

    def invalidate(self) -> None:
        self._tables = None
        self._columns.clear()

    def tables(self) -> list[str]:
        if self._tables is None:
            rows = self._rows("SHOW TABLES")
            if rows is None:
                return []
            self._tables = sorted({str(r[0]) for r in rows if r and r[0]})
        return self._tables

    def columns(self, table: str) -> list[str]:
        key = table.strip("`").lower()
        if key not in self._columns:
            rows = self._rows(f"DESCRIBE {table}")
            names: list[str] = []
            for r in rows or []:
                name = str(r[0]).strip() if r and r[0] is not None else ""
                if not name or name.startswith("#"):
                    if names:
                        break  # "# Partition Information" repeats partition columns
                    continue
                names.append(name)
            self._columns[key] = names
        return self._columns[key]

    def _rows(self, sql: str) -> list[tuple[Any, ...]] | None:
        backend = self.backend.ready  # never wait for a connection while the user types
        if backend is None:
            return None
        try:
            return backend.query_rows(sql)
        except Exception:
            return None


class SqlCompleter(Completer):
    """Context-aware: tables after FROM/JOIN/…, ``alias.`` → that table's columns."""

    def __init__(self, names: CatalogNames) -> None:
        self.names = names

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        line = document.current_line_before_cursor
        if line.lstrip().startswith("\\") and " " not in line.lstrip():
            word = line.lstrip()
            yield from _matches(word, META_COMMANDS, "meta")
            return
        word = _WORD.search(before).group(0)  # type: ignore[union-attr]
        previous = before[: len(before) - len(word)].split()
        prev_word = previous[-1].upper() if previous else ""
        if "." in word:
            qualifier, _, partial = word.rpartition(".")
            table = _alias_table(document.text, qualifier) or qualifier
            for c in _matches(partial, self.names.columns(table), "column"):
                yield c
            return
        if prev_word in _TABLE_CONTEXT or (prev_word.startswith("\\D")):
            yield from _matches(word, self.names.tables(), "table")
            return
        if not word:
            return
        mentioned = [m.group(1) for m in _NAME_AFTER.finditer(document.text)]
        columns: list[str] = []
        for t in mentioned:
            columns += self.names.columns(t)
        yield from _matches(word, _unique(columns), "column")
        yield from _matches(word, self.names.tables(), "table")
        upper = word[:1].isupper()
        yield from _matches(word, [k if upper else k.lower() for k in KEYWORDS], "keyword")
        yield from _matches(word, [f + "(" for f in FUNCTIONS], "function")


def _alias_table(text: str, alias: str) -> str | None:
    """The table that ``alias`` names in ``FROM t alias`` / ``JOIN t AS alias``."""
    m = re.search(r"\b(?:from|join)\s+([`\w.]+)\s+(?:as\s+)?" + re.escape(alias) + r"\b", text, re.I)
    return m.group(1) if m else None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _matches(word: str, candidates: Iterable[str], meta: str) -> Iterator[Completion]:
    low = word.lower()
    for c in candidates:
        if c.lower().startswith(low) and c.lower() != low:
            yield Completion(c, start_position=-len(word), display_meta=meta)
