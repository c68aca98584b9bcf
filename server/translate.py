"""PostgreSQL-flavoured SQL → the engine's HiveQL, for catalog queries and ``lamna.dialect=postgres``.

Clients' catalog queries are PostgreSQL through and through (``pg_catalog.pg_class``,
``::regclass``, ``= ANY(ARRAY[…])``, ``OPERATOR(pg_catalog.~)``, ``pg_table_is_visible``).
sqlglot parses them as PostgreSQL; a transform then points system tables at the
snapshot tables registered in the session, folds the PostgreSQL-only functions whose
value the server knows (``version()``, ``current_schema()``…), and the result is
printed as HiveQL. Plain HiveQL without PostgreSQL markers is passed through unchanged,
so error positions stay true to what the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError as SqlglotParseError

from server import pgcatalog as C
from server.errors import SYNTAX_ERROR, PgError

SERVER_VERSION = "14.0"
VERSION_TEXT = f"PostgreSQL {SERVER_VERSION} (Lamna 0.1.0, a Shark-style warehouse on an RDD core)"

_MARKERS = re.compile(
    r"pg_catalog|information_schema|\bpg_\w+|::|\bversion\s*\(|current_schema|current_database|current_user"
    r"|session_user|current_setting|set_config|\bformat_type\b|\bany\s*\(|\bregclass\b|\bilike\b"
    r"|current_catalog|(?<![\w'])E'",
    re.IGNORECASE)


@dataclass
class Identity:
    """What the folded functions return for this connection."""

    user: str
    database: str
    schema: str
    pid: int
    settings: Callable[[str], str | None]
    set_setting: Callable[[str, str], None]
    oid_of: Callable[[str], int | None]


@dataclass
class Translation:
    sql: str
    system_tables: set[tuple[str, str]] = field(default_factory=set)
    translated: bool = False


def needs_translation(sql: str, dialect: str) -> bool:
    return dialect == "postgres" or bool(_MARKERS.search(sql))


def _pre(sql: str) -> str:
    """Text-level forms sqlglot does not parse."""
    sql = re.sub(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*([~!=<>*]+)\s*\)", r"\1", sql, flags=re.IGNORECASE)
    sql = re.sub(r"\s+COLLATE\s+(pg_catalog\s*\.\s*)?(\"?default\"?|\"C\"|\"POSIX\")", "", sql, flags=re.IGNORECASE)
    return sql


def translate(sql: str, who: Identity, dialect: str) -> Translation:
    if not needs_translation(sql, dialect):
        return Translation(sql)
    try:
        trees = sqlglot.parse(_pre(sql), read="postgres")
    except SqlglotParseError as ex:
        err = ex.errors[0] if ex.errors else {}
        raise PgError(SYNTAX_ERROR, f"syntax error: {err.get('description', 'cannot parse statement')}") from None
    except Exception as ex:  # sqlglot's tokenizer raises plain errors on odd input
        raise PgError(SYNTAX_ERROR, f"syntax error: {ex}") from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise PgError(SYNTAX_ERROR, "expected exactly one statement")
    found: set[tuple[str, str]] = set()
    def deep(node: exp.Expression) -> exp.Expression:
        # sqlglot's transform does not descend into a replacement: do it here.
        new = _rewrite(node, who, found)
        if new is node:
            return node
        for _ in range(10):  # a replacement may itself be rewritable (a Cast unwrapped to a Dot)
            again = _rewrite(new, who, found)
            if again is new:
                break
            new = again
        for key, value in list(new.args.items()):
            if isinstance(value, exp.Expression):
                new.set(key, value.transform(deep, copy=False))
            elif isinstance(value, list):
                new.set(key, [v.transform(deep, copy=False) if isinstance(v, exp.Expression) else v for v in value])
        return new

    tree = trees[0].transform(deep, copy=True)
    try:
        text = tree.sql(dialect="hive")
    except Exception as ex:
        raise PgError("0A000", f"cannot translate statement: {ex}") from None
    return Translation(text, found, True)


def _lit(value: object) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _null_string() -> exp.Expression:
    return exp.Cast(this=exp.Null(), to=exp.DataType.build("string"))


_TRUE_FUNCS = {"pg_table_is_visible", "pg_relation_is_publishable", "pg_collation_is_visible",
               "pg_opclass_is_visible", "pg_conversion_is_visible", "pg_operator_is_visible", "pg_type_is_visible", "pg_function_is_visible", "has_table_privilege",
               "has_schema_privilege", "has_database_privilege", "has_column_privilege", "pg_has_role",
               "has_any_column_privilege", "has_function_privilege"}
_NULL_FUNCS = {"pg_get_expr", "obj_description", "col_description", "shobj_description", "pg_get_constraintdef",
               "pg_get_indexdef", "pg_get_viewdef", "pg_get_triggerdef", "pg_get_partkeydef",
               "pg_get_statisticsobjdef_columns", "pg_get_ruledef", "pg_get_function_arguments",
               "pg_get_function_result", "pg_get_serial_sequence", "to_regtype", "array_to_string",
               "pg_tablespace_location", "pg_get_function_identity_arguments", "json_build_object",
               "jsonb_build_object", "json_agg", "array_agg", "unnest", "generate_subscripts",
               "string_to_array", "array_position", "explode", "explode_outer"}
_ZERO_FUNCS = {"pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_database_size",
               "pg_indexes_size"}


def _func_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _rewrite(node: exp.Expression, who: Identity, found: set[tuple[str, str]]) -> exp.Expression:
    if isinstance(node, exp.Table):
        return _table(node, who, found)
    if isinstance(node, exp.Column) and node.args.get("db") is not None:
        # pg_catalog.pg_class.relname: the table part alone names the (aliased) table.
        return exp.column(node.this, table=node.args.get("table"))
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier) \
            and node.this.name.lower() == "pg_catalog" and isinstance(node.expression, exp.Func):
        return _rewrite(node.expression, who, found)
    if isinstance(node, exp.Collate):
        return node.this
    if isinstance(node, exp.Bracket):
        # Subscripts apply to PostgreSQL arrays (current_schemas(), indkey, conkey); the
        # catalog tables keep none, so an element is NULL.
        return _null_string()
    if isinstance(node, exp.Array) and any(isinstance(e, (exp.Select, exp.Subquery)) for e in node.expressions):
        return _null_string()  # ARRAY(subquery): role memberships and the like; we have none
    if isinstance(node, exp.CurrentVersion):
        return _lit(VERSION_TEXT)
    if isinstance(node, exp.CurrentSchema):
        return _lit(who.schema)
    if isinstance(node, (exp.CurrentUser,)) or type(node).__name__ in ("SessionUser", "CurrentRole"):
        return _lit(who.user)
    if type(node).__name__ in ("CurrentDatabase", "CurrentCatalog"):
        return _lit(who.database)
    if isinstance(node, exp.Cast):
        return _cast(node, who)
    if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Any):
        inner = node.expression.this
        inner = inner.this if isinstance(inner, exp.Paren) else inner
        if isinstance(inner, exp.Array):
            return exp.In(this=node.this, expressions=list(inner.expressions))
        # ANY over an array column: our catalog tables keep no arrays, so nothing matches.
        return exp.Boolean(this=False)
    if isinstance(node, exp.Column) and node.args.get("table") is None and not node.this.quoted:
        name = node.name.lower()
        if name in ("current_user", "session_user", "user", "current_role"):
            return _lit(who.user)
        if name in ("current_catalog",):
            return _lit(who.database)
        if name == "current_schema":
            return _lit(who.schema)
    name = _func_name(node)
    if name is None:
        return node
    args = list(node.expressions) if isinstance(node, exp.Anonymous) else [a for a in node.args.values() if isinstance(a, exp.Expression)]
    return _function(name, node, args, who)


def _function(name: str, node: exp.Expression, args: list[exp.Expression], who: Identity) -> exp.Expression:
    if name == "version":
        return _lit(VERSION_TEXT)
    if name in ("current_database", "current_catalog"):
        return _lit(who.database)
    if name == "current_schema":
        return _lit(who.schema)
    if name == "current_schemas":
        return _lit(f"{{pg_catalog,{who.schema}}}")
    if name in ("pg_backend_pid",):
        return _lit(who.pid)
    if name in _TRUE_FUNCS:
        return exp.Boolean(this=True)
    if name in _NULL_FUNCS:
        return _null_string()
    if name in _ZERO_FUNCS:
        return exp.Literal.number(0)
    if name in ("bool_and", "logical_and", "every") and args:
        return exp.Min(this=args[0])
    if name in ("bool_or", "logical_or") and args:
        return exp.Max(this=args[0])
    if name == "pg_size_pretty":
        return _lit("0 bytes")
    if name == "pg_encoding_to_char":
        return _lit("UTF8")
    if name in ("pg_get_userbyid", "getpgusername"):
        return _lit(who.user)
    if name == "quote_ident" and args:
        return args[0]
    if name == "format_type" and len(args) >= 1:
        return exp.Anonymous(this="lamna_format_type", expressions=[args[0], args[1] if len(args) > 1 else exp.Literal.number(-1)])
    if name == "current_setting" and args and isinstance(args[0], exp.Literal):
        return _lit(who.settings(args[0].name.lower()))
    if name == "set_config" and len(args) >= 2 and isinstance(args[0], exp.Literal) and isinstance(args[1], exp.Literal):
        who.set_setting(args[0].name.lower(), args[1].name)
        return _lit(args[1].name)
    if name in ("to_regclass",) and args and isinstance(args[0], exp.Literal):
        return _lit(who.oid_of(args[0].name))
    if name.startswith("pg_") and isinstance(node, exp.Anonymous):
        return _null_string()  # a PostgreSQL introspection function we have nothing for
    return node


def _constant_text(node: exp.Expression) -> str | None:
    """The value of a string built from literals with ``||`` (after parameter substitution)."""
    if isinstance(node, exp.Literal) and node.is_string:
        return node.name
    if isinstance(node, exp.Cast):
        return _constant_text(node.this)
    if isinstance(node, exp.DPipe):
        left, right = _constant_text(node.this), _constant_text(node.expression)
        return None if left is None or right is None else left + right
    return None


def _type_name(to: exp.DataType) -> str:
    kind = to.args.get("kind")
    if isinstance(kind, exp.Dot):
        return kind.expression.name.lower()
    if to.this == exp.DataType.Type.USERDEFINED and kind is not None:
        return str(kind.name if hasattr(kind, "name") else kind).lower()
    if isinstance(to, exp.DataType):
        return to.this.name.lower() if hasattr(to.this, "name") else str(to.this).lower()
    return str(to.this).lower()


def _cast(node: exp.Cast, who: Identity) -> exp.Expression:
    to = node.args.get("to")
    if isinstance(to, exp.ObjectIdentifier):
        target = to.name.lower()
    elif isinstance(to, exp.DataType):
        target = _type_name(to)
    else:
        return node
    value = node.this
    if target == "regclass":
        if isinstance(value, exp.Literal) and value.is_string:
            oid = who.oid_of(value.name)
            if oid is None:
                raise PgError("42P01", f'relation "{value.name}" does not exist')
            return exp.Literal.number(oid)
        return value
    if target in ("oid", "regproc", "regnamespace", "regrole", "xid", "cid"):
        return exp.Cast(this=value, to=exp.DataType.build("bigint"))
    if target == "regtype":
        return exp.Anonymous(this="lamna_format_type", expressions=[value, exp.Literal.number(-1)])
    if target in ("name", "text", "bpchar", "character varying", "varchar", "char") and (
            target in ("text", "name") or (isinstance(to, exp.DataType) and not to.expressions)):
        return exp.Cast(this=value, to=exp.DataType.build("string"))
    if target in ("int2vector", "oidvector", "_text", "_oid", "anyarray", "text[]"):
        return exp.Cast(this=value, to=exp.DataType.build("string"))
    return node


def _table(node: exp.Table, who: Identity, found: set[tuple[str, str]]) -> exp.Expression:
    schema = node.db.lower() if node.db else ""
    name = node.name.lower()
    if not schema and name.startswith("pg_") and name in C.PG_CATALOG:
        schema = "pg_catalog"
    if schema in ("pg_catalog", "information_schema"):
        internal = C.internal_name(schema, name)
        if internal is None:
            raise PgError("42P01", f'relation "{schema}.{name}" does not exist')
        found.add((schema, name))
        alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
        return exp.Table(this=exp.to_identifier(internal), alias=alias)
    if schema == "public":
        out = node.copy()
        out.set("db", exp.to_identifier("default"))
        return out
    return node
