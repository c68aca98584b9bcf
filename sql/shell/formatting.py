"""Result sets as text: table, csv, tsv, json, markdown and vertical.

Each renderer is a pure function of a ``ResultSet`` and ``Style`` returning lines, so the
runner can measure a table before deciding to page it, and tests compare plain strings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sql.shell.values import display_width, is_number, is_numeric_type, to_json, to_text

FORMATS = ("table", "csv", "tsv", "json", "markdown", "vertical")
#: Formats meant for people: they get status lines and a row-count footer.
HUMAN_FORMATS = frozenset({"table", "vertical"})


@dataclass
class ResultSet:
    """Rows of one statement, whichever backend produced them."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Style:
    """How to draw: ``header`` (column names), ``types`` (a type line under them),
    ``unicode`` box drawing, ``color`` (ANSI: NULL dimmed, header bold)."""

    header: bool = True
    types: bool = False
    unicode: bool = True
    color: bool = False


_ASCII = {"h": "-", "v": "|", "tl": "+", "tm": "+", "tr": "+", "ml": "+", "mm": "+", "mr": "+",
          "bl": "+", "bm": "+", "br": "+"}
_BOX = {"h": "─", "v": "│", "tl": "┌", "tm": "┬", "tr": "┐", "ml": "├", "mm": "┼", "mr": "┤",
        "bl": "└", "bm": "┴", "br": "┘"}
_DIM, _BOLD, _RESET = "\x1b[2m", "\x1b[1m", "\x1b[0m"


def numeric_columns(result: ResultSet) -> list[bool]:
    """Which columns to right-align: numeric by type, or every non-NULL value a number."""
    out = []
    for j, name in enumerate(result.columns):
        typ = result.types[j] if j < len(result.types) else ""
        if typ and is_numeric_type(typ):
            out.append(True)
            continue
        values = [r[j] for r in result.rows if r[j] is not None]
        out.append(bool(values) and all(is_number(v) for v in values))
    return out


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def render_table(result: ResultSet, style: Style) -> list[str]:
    """An aligned, boxed table; NULL distinct (dimmed in colour), numbers right-aligned,
    a cell with newlines spans several lines of its row."""
    box = _BOX if style.unicode else _ASCII
    right = numeric_columns(result)
    cells = [[to_text(v).split("\n") for v in row] for row in result.rows]
    nulls = [[v is None for v in row] for row in result.rows]
    heads: list[list[str]] = []
    if style.header:
        heads.append(list(result.columns))
        if style.types:
            heads.append([t or "" for t in result.types])
    widths = [0] * len(result.columns)
    for line in heads:
        for j, text in enumerate(line):
            widths[j] = max(widths[j], display_width(text))
    for row in cells:
        for j, parts in enumerate(row):
            widths[j] = max(widths[j], *(display_width(p) for p in parts))

    def rule(left: str, mid: str, end: str) -> str:
        return left + mid.join(box["h"] * (w + 2) for w in widths) + end

    def line(texts: Sequence[str], align: Sequence[bool], paint: Sequence[str | None]) -> str:
        out = []
        for j, text in enumerate(texts):
            padded = _pad(text, widths[j], align[j])
            if paint[j] and style.color:
                padded = padded.replace(text, paint[j] + text + _RESET, 1) if text else padded
            out.append(" " + padded + " ")
        return box["v"] + box["v"].join(out) + box["v"]

    if not result.columns:
        return []
    lines = [rule(box["tl"], box["tm"], box["tr"])]
    for k, texts in enumerate(heads):
        lines.append(line(texts, [False] * len(texts), [_BOLD if k == 0 else _DIM] * len(texts)))
    if heads:
        lines.append(rule(box["ml"], box["mm"], box["mr"]))
    for row, null_row in zip(cells, nulls):
        height = max((len(p) for p in row), default=1)
        for k in range(height):
            texts = [p[k] if k < len(p) else "" for p in row]
            lines.append(line(texts, right, [_DIM if n else None for n in null_row]))
    lines.append(rule(box["bl"], box["bm"], box["br"]))
    return lines


def render_vertical(result: ResultSet, style: Style) -> list[str]:
    """One ``name | value`` block per row (psql's expanded display), for wide rows."""
    width = max((display_width(c) for c in result.columns), default=0)
    values = max((display_width(part) for row in result.rows for v in row for part in to_text(v).split("\n")),
                 default=0)
    lines = []
    for i, row in enumerate(result.rows, 1):
        head = f"-[ RECORD {i} ]"
        lines.append(head + "-" * max(1, width + 3 + values - display_width(head)))
        for name, value in zip(result.columns, row):
            text = to_text(value)
            if value is None and style.color:
                text = _DIM + text + _RESET
            lines.append(f"{_pad(name, width, False)} | {text}")
    return lines


def render_csv(result: ResultSet, style: Style) -> list[str]:
    """RFC 4180 CSV; NULL is the empty field (what CSV readers expect)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if style.header:
        writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([to_text(v, "") for v in row])
    return buf.getvalue().split("\n")[:-1]


def _tsv_field(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def render_tsv(result: ResultSet, style: Style) -> list[str]:
    """Tab-separated as Hive's CLI prints it: NULL spelled out, tabs and newlines escaped,
    so every row is exactly one line."""
    lines = ["\t".join(_tsv_field(c) for c in result.columns)] if style.header else []
    lines += ["\t".join(_tsv_field(to_text(v)) for v in row) for row in result.rows]
    return lines


def render_json(result: ResultSet, style: Style) -> list[str]:
    """A JSON array of one object per row, one row per line (easy to diff and to grep)."""
    import json

    keys = [json.dumps(c, ensure_ascii=False) for c in result.columns]
    objs = ["{" + ",".join(f"{k}:{to_json(v)}" for k, v in zip(keys, row)) + "}" for row in result.rows]
    if not objs:
        return ["[]"]
    return ["["] + [o + "," for o in objs[:-1]] + [objs[-1], "]"]


def render_markdown(result: ResultSet, style: Style) -> list[str]:
    """A GitHub-flavoured Markdown table; numeric columns get a right-aligned marker."""
    right = numeric_columns(result)

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", "<br>")

    cells = [[esc(to_text(v)) for v in row] for row in result.rows]
    head = [esc(c) for c in result.columns]
    widths = [max([3, display_width(h)] + [display_width(r[j]) for r in cells]) for j, h in enumerate(head)]
    lines = ["| " + " | ".join(_pad(h, w, False) for h, w in zip(head, widths)) + " |",
             "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right)) + "|"]
    for row in cells:
        lines.append("| " + " | ".join(_pad(t, w, r) for t, w, r in zip(row, widths, right)) + " |")
    return lines


RENDERERS: dict[str, Callable[[ResultSet, Style], list[str]]] = {
    "table": render_table, "csv": render_csv, "tsv": render_tsv, "json": render_json,
    "markdown": render_markdown, "vertical": render_vertical,
}


def render(result: ResultSet, fmt: str, style: Style) -> list[str]:
    return RENDERERS[fmt](result, style)
