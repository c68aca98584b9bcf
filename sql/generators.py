"""Table-generating functions in the SELECT list, as Hive and Spark SQL allow them:
``SELECT explode(a) AS x FROM t`` or ``SELECT k, posexplode(a) AS (p, x) FROM t``.

The planner knows one form of a generator, ``LATERAL VIEW`` (``L.Generate``), so such a
query is rewritten, before binding, into the equivalent ``SELECT k, _g.p, _g.x FROM t
LATERAL VIEW posexplode(a) _g AS p, x``: one code path for both spellings, and every
rule that handles ``Generate`` applies to both.
"""

from __future__ import annotations

from sqlglot import exp

#: Generators LATERAL VIEW binds, by the sqlglot node each parses to.
_GENERATOR_NODES = (exp.Explode, exp.Posexplode, exp.Inline)
_GENERATOR_NAMES = frozenset({"explode", "posexplode", "inline", "explode_outer", "posexplode_outer",
                              "json_tuple"})
#: The alias of the LATERAL VIEW a rewrite adds (not a name a user can write unquoted).
VIEW_ALIAS = "__generator"


def _is_generator(node: exp.Expression) -> bool:
    return isinstance(node, _GENERATOR_NODES) or (
        isinstance(node, exp.Anonymous) and node.name.lower() in _GENERATOR_NAMES)


def _split_alias(item: exp.Expression) -> tuple[exp.Expression, list[exp.Identifier]]:
    """The generator call of a SELECT item and the column names it was given, if any."""
    if isinstance(item, exp.Aliases):  # posexplode(a) AS (p, x)
        return item.this, list(item.expressions)
    if isinstance(item, exp.Alias):
        return item.this, [item.args["alias"]]
    return item, []


def generator_items(select: exp.Select) -> list[int]:
    """Positions of the SELECT items that are generator calls."""
    return [i for i, item in enumerate(select.expressions) if _is_generator(_split_alias(item)[0])]


def as_lateral_view(select: exp.Select) -> exp.Select:
    """``select`` with its one generator item moved into a LATERAL VIEW (itself when it
    has none). Raises ValueError, naming the problem, for forms Hive rejects too: two
    generators in one SELECT, or a generator beside GROUP BY."""
    positions = generator_items(select)
    if not positions:
        return select
    if len(positions) > 1:
        raise ValueError("only one generator (explode, posexplode, inline) is allowed per SELECT")
    if select.args.get("group"):
        raise ValueError("a generator in the SELECT list cannot be combined with GROUP BY; use LATERAL VIEW")
    index = positions[0]
    call, names = _split_alias(select.expressions[index])
    named_outer = isinstance(call, exp.Anonymous) and call.name.lower().endswith("_outer")
    outer = named_outer or isinstance(call, (exp.ExplodeOuter, exp.PosexplodeOuter))
    if named_outer:
        call = exp.Anonymous(this=call.name[: -len("_outer")], expressions=call.expressions)
    view = exp.Lateral(this=call.copy(), view=True, outer=outer,
                       alias=exp.TableAlias(this=exp.to_identifier(VIEW_ALIAS), columns=[n.copy() for n in names]))
    out = select.copy()
    generated: list[exp.Expression] = (
        [exp.column(n.name, table=VIEW_ALIAS) for n in names] if names
        else [exp.Column(this=exp.Star(), table=exp.to_identifier(VIEW_ALIAS))])
    out.set("expressions", out.expressions[:index] + generated + out.expressions[index + 1:])
    if out.args.get("from") is None and out.args.get("from_") is None:
        out = out.from_(exp.select(exp.Literal.number(1)).subquery("__one"))
    out.append("laterals", view)
    return out
