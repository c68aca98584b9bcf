"""pg_catalog and information_schema as Arrow tables built from the Lamna catalog.

Clients discover tables and columns by querying PostgreSQL's system catalogs (psql's
``\\dt``, pgJDBC's ``DatabaseMetaData``, SQLAlchemy's inspector). We answer with real
tables that the Lamna engine itself queries: a snapshot is built from the catalog and
registered in the session under an internal name (``rewrite`` points the query there).

Lamna databases are PostgreSQL schemas (``default`` is ``public``); the PostgreSQL
database is the server's one warehouse. OIDs are stable hashes of names, so the same
table has the same OID in every snapshot and in RowDescription.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from server import pgtypes as P
from server.engine import CatalogTable

PG_CATALOG_OID, PUBLIC_OID, INFORMATION_SCHEMA_OID = 11, 2200, 13000
DATABASE_OID = 16384
OWNER_OID = 10
PG_CLASS_OID = 1259

#: Internal table-name prefix; user tables can never be called this in Hive.
INTERNAL = "lamna_pgcat__"

_STR, _I32, _I64, _I16, _BOOL, _F32 = pa.string(), pa.int32(), pa.int64(), pa.int16(), pa.bool_(), pa.float32()


def schema_name(database: str) -> str:
    return "public" if database == "default" else database


def database_name(schema: str) -> str:
    return "default" if schema == "public" else schema


def namespace_oid(schema: str) -> int:
    fixed = {"pg_catalog": PG_CATALOG_OID, "public": PUBLIC_OID, "information_schema": INFORMATION_SCHEMA_OID}
    return fixed.get(schema) or 20000 + zlib.crc32(schema.encode()) % 1_000_000


_SYSTEM_OIDS = {"pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": 1259, "pg_constraint": 2606,
                "pg_index": 2610, "pg_namespace": 2615, "pg_description": 2609, "pg_database": 1262,
                "pg_attrdef": 2604, "pg_trigger": 2620, "pg_rewrite": 2618}


def system_oid(table: str) -> int:
    return _SYSTEM_OIDS.get(table) or 12000 + zlib.crc32(table.encode()) % 1000


def table_oid(database: str, table: str) -> int:
    return 1_048_576 + zlib.crc32(f"{database}.{table}".encode()) % 1_000_000_000


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the catalog tables are built from: the tables and the connection's identity."""

    tables: tuple[CatalogTable, ...]
    databases: tuple[str, ...]
    database: str  # the PostgreSQL database name (the warehouse)
    user: str
    settings: tuple[tuple[str, str], ...]


def _table(columns: list[tuple[str, pa.DataType]], rows: Iterable[tuple[object, ...]]) -> pa.Table:
    rows = list(rows)
    schema = pa.schema(columns)
    data = {name: [r[i] for r in rows] for i, (name, _) in enumerate(columns)}
    return pa.table({n: pa.array(v, type=t) for (n, t), v in zip(columns, data.values())}, schema=schema)


def _schemas(s: Snapshot) -> list[str]:
    return ["pg_catalog", "information_schema"] + [schema_name(d) for d in s.databases]


def pg_namespace(s: Snapshot) -> pa.Table:
    return _table([("oid", _I64), ("nspname", _STR), ("nspowner", _I64), ("nspacl", _STR)],
                  [(namespace_oid(n), n, OWNER_OID, None) for n in _schemas(s)])


def pg_class(s: Snapshot) -> pa.Table:
    cols = [("oid", _I64), ("relname", _STR), ("relnamespace", _I64), ("reltype", _I64), ("reloftype", _I64),
            ("relowner", _I64), ("relam", _I64), ("relfilenode", _I64), ("reltablespace", _I64),
            ("relpages", _I32), ("reltuples", _F32), ("relallvisible", _I32), ("reltoastrelid", _I64),
            ("relhasindex", _BOOL), ("relisshared", _BOOL), ("relpersistence", _STR), ("relkind", _STR),
            ("relnatts", _I16), ("relchecks", _I16), ("relhasrules", _BOOL), ("relhastriggers", _BOOL),
            ("relhassubclass", _BOOL), ("relrowsecurity", _BOOL), ("relforcerowsecurity", _BOOL),
            ("relispopulated", _BOOL), ("relreplident", _STR), ("relispartition", _BOOL), ("relrewrite", _I64),
            ("relacl", _STR), ("reloptions", _STR), ("relpartbound", _STR)]
    rows = []
    for t in s.tables:
        kind = "v" if t.kind == "view" else "r"
        rows.append((table_oid(t.database, t.name), t.name, namespace_oid(schema_name(t.database)), 0, 0,
                     OWNER_OID, 2 if kind == "r" else 0, 0, 0, 0, -1.0, 0, 0, False, False, "p", kind,
                     len(t.columns), 0, False, False, False, False, False, True, "d", False, 0, None, None, None))
    return _table(cols, rows)


def pg_attribute(s: Snapshot) -> pa.Table:
    cols = [("attrelid", _I64), ("attname", _STR), ("atttypid", _I64), ("attstattarget", _I32), ("attlen", _I16),
            ("attnum", _I16), ("attndims", _I32), ("attcacheoff", _I32), ("atttypmod", _I32), ("attbyval", _BOOL),
            ("attstorage", _STR), ("attalign", _STR), ("attnotnull", _BOOL), ("atthasdef", _BOOL),
            ("atthasmissing", _BOOL), ("attidentity", _STR), ("attgenerated", _STR), ("attisdropped", _BOOL),
            ("attislocal", _BOOL), ("attinhcount", _I32), ("attcollation", _I64), ("attacl", _STR),
            ("attoptions", _STR), ("attfdwoptions", _STR), ("attcompression", _STR)]
    rows = []
    for t in s.tables:
        rel = table_oid(t.database, t.name)
        for i, c in enumerate(t.columns, start=1):
            ct = P.hive_type_oid(c.hive_type)
            rows.append((rel, c.name, ct.oid, -1, ct.size, i, 0, -1, ct.modifier, ct.size in (1, 2, 4, 8), "p",
                         "i", False, False, False, "", "", False, True, 0, 0, None, None, None, ""))
    return _table(cols, rows)


def pg_type(s: Snapshot) -> pa.Table:
    cols = [("oid", _I64), ("typname", _STR), ("typnamespace", _I64), ("typowner", _I64), ("typlen", _I16),
            ("typbyval", _BOOL), ("typtype", _STR), ("typcategory", _STR), ("typispreferred", _BOOL),
            ("typisdefined", _BOOL), ("typdelim", _STR), ("typrelid", _I64), ("typelem", _I64),
            ("typarray", _I64), ("typinput", _STR), ("typoutput", _STR), ("typreceive", _STR),
            ("typsend", _STR), ("typnotnull", _BOOL), ("typbasetype", _I64), ("typtypmod", _I32),
            ("typndims", _I32), ("typcollation", _I64), ("typdefault", _STR)]
    elem = {t.array_oid: t.oid for t in P.TYPES if t.array_oid}
    rows = [(t.oid, t.name, PG_CATALOG_OID, OWNER_OID, t.size, t.size in (1, 2, 4, 8), "b", t.category,
             False, True, ",", 0, elem.get(t.oid, 0), t.array_oid, f"{t.name}in", f"{t.name}out",
             f"{t.name}recv", f"{t.name}send", False, 0, -1, 0, 0, None) for t in P.TYPES]
    return _table(cols, rows)


def pg_database(s: Snapshot) -> pa.Table:
    cols = [("oid", _I64), ("datname", _STR), ("datdba", _I64), ("encoding", _I32), ("datlocprovider", _STR),
            ("datcollate", _STR), ("datctype", _STR), ("daticulocale", _STR), ("datistemplate", _BOOL),
            ("datallowconn", _BOOL), ("datconnlimit", _I32), ("dattablespace", _I64), ("datacl", _STR)]
    return _table(cols, [(DATABASE_OID, s.database, OWNER_OID, 6, "c", "C.UTF-8", "C.UTF-8", None, False, True,
                          -1, 1663, None)])


def pg_roles(s: Snapshot) -> pa.Table:
    cols = [("oid", _I64), ("rolname", _STR), ("rolsuper", _BOOL), ("rolinherit", _BOOL), ("rolcreaterole", _BOOL),
            ("rolcreatedb", _BOOL), ("rolcanlogin", _BOOL), ("rolreplication", _BOOL), ("rolconnlimit", _I32),
            ("rolvaliduntil", _STR), ("rolbypassrls", _BOOL), ("rolconfig", _STR)]
    return _table(cols, [(OWNER_OID, s.user, True, True, True, True, True, False, -1, None, False, None)])


def pg_settings(s: Snapshot) -> pa.Table:
    return _table([("name", _STR), ("setting", _STR), ("unit", _STR), ("category", _STR), ("short_desc", _STR),
                   ("context", _STR), ("vartype", _STR), ("source", _STR)],
                  [(k, v, None, "", "", "user", "string", "session") for k, v in s.settings])


def _empty(*columns: tuple[str, pa.DataType]) -> pa.Table:
    return _table(list(columns), [])


def pg_am(s: Snapshot) -> pa.Table:
    return _table([("oid", _I64), ("amname", _STR), ("amhandler", _STR), ("amtype", _STR)],
                  [(2, "heap", "heap_tableam_handler", "t"), (403, "btree", "bthandler", "i")])


def pg_tablespace(s: Snapshot) -> pa.Table:
    return _table([("oid", _I64), ("spcname", _STR), ("spcowner", _I64)],
                  [(1663, "pg_default", OWNER_OID), (1664, "pg_global", OWNER_OID)])


def pg_description(s: Snapshot) -> pa.Table:
    rows = []
    for t in s.tables:
        rel = table_oid(t.database, t.name)
        if t.comment:
            rows.append((rel, PG_CLASS_OID, 0, t.comment))
        for i, c in enumerate(t.columns, start=1):
            if c.comment:
                rows.append((rel, PG_CLASS_OID, i, c.comment))
    return _table([("objoid", _I64), ("classoid", _I64), ("objsubid", _I32), ("description", _STR)], rows)


def pg_proc(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("proname", _STR), ("pronamespace", _I64), ("proowner", _I64),
                  ("prokind", _STR), ("prorettype", _I64), ("proargtypes", _STR), ("proretset", _BOOL))


def pg_index(s: Snapshot) -> pa.Table:
    return _empty(("indexrelid", _I64), ("indrelid", _I64), ("indnatts", _I16), ("indnkeyatts", _I16),
                  ("indisunique", _BOOL), ("indisprimary", _BOOL), ("indisexclusion", _BOOL),
                  ("indimmediate", _BOOL), ("indisclustered", _BOOL), ("indisvalid", _BOOL),
                  ("indisreplident", _BOOL), ("indkey", _STR), ("indoption", _STR), ("indexprs", _STR),
                  ("indpred", _STR), ("indnullsnotdistinct", _BOOL))


def pg_constraint(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("conname", _STR), ("connamespace", _I64), ("contype", _STR),
                  ("condeferrable", _BOOL), ("condeferred", _BOOL), ("convalidated", _BOOL), ("conrelid", _I64),
                  ("contypid", _I64), ("conindid", _I64), ("conparentid", _I64), ("confrelid", _I64),
                  ("confupdtype", _STR), ("confdeltype", _STR), ("confmatchtype", _STR), ("conislocal", _BOOL),
                  ("coninhcount", _I32), ("connoinherit", _BOOL), ("conkey", _STR), ("confkey", _STR),
                  ("conbin", _STR))


def pg_attrdef(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("adrelid", _I64), ("adnum", _I16), ("adbin", _STR))


def pg_inherits(s: Snapshot) -> pa.Table:
    return _empty(("inhrelid", _I64), ("inhparent", _I64), ("inhseqno", _I32), ("inhdetachpending", _BOOL))


def pg_enum(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("enumtypid", _I64), ("enumsortorder", _F32), ("enumlabel", _STR))


def pg_collation(s: Snapshot) -> pa.Table:
    return _table([("oid", _I64), ("collname", _STR), ("collnamespace", _I64)], [(100, "default", PG_CATALOG_OID)])


def pg_trigger(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("tgrelid", _I64), ("tgname", _STR), ("tgisinternal", _BOOL), ("tgenabled", _STR))


def pg_rewrite(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("rulename", _STR), ("ev_class", _I64), ("ev_type", _STR))


def pg_extension(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("extname", _STR), ("extnamespace", _I64), ("extversion", _STR))


def pg_sequence(s: Snapshot) -> pa.Table:
    return _empty(("seqrelid", _I64), ("seqtypid", _I64), ("seqstart", _I64), ("seqincrement", _I64))


def pg_statistic_ext(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("stxrelid", _I64), ("stxname", _STR), ("stxnamespace", _I64), ("stxowner", _I64),
                  ("stxstattarget", _I32), ("stxkeys", _STR), ("stxkind", _STR), ("stxexprs", _STR))


def pg_policy(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("polname", _STR), ("polrelid", _I64), ("polcmd", _STR), ("polpermissive", _BOOL),
                  ("polroles", _STR), ("polqual", _STR), ("polwithcheck", _STR))


def pg_publication(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("pubname", _STR), ("pubowner", _I64), ("puballtables", _BOOL),
                  ("pubinsert", _BOOL), ("pubupdate", _BOOL), ("pubdelete", _BOOL), ("pubtruncate", _BOOL),
                  ("pubviaroot", _BOOL))


def pg_publication_rel(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("prpubid", _I64), ("prrelid", _I64))


def pg_publication_namespace(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("pnpubid", _I64), ("pnnspid", _I64))


def pg_opclass(s: Snapshot) -> pa.Table:
    return _empty(("oid", _I64), ("opcmethod", _I64), ("opcname", _STR), ("opcnamespace", _I64),
                  ("opcdefault", _BOOL), ("opcintype", _I64))


def pg_auth_members(s: Snapshot) -> pa.Table:
    return _empty(("roleid", _I64), ("member", _I64), ("grantor", _I64), ("admin_option", _BOOL))


def pg_tables(s: Snapshot) -> pa.Table:
    return _table([("schemaname", _STR), ("tablename", _STR), ("tableowner", _STR), ("tablespace", _STR),
                   ("hasindexes", _BOOL), ("hasrules", _BOOL), ("hastriggers", _BOOL), ("rowsecurity", _BOOL)],
                  [(schema_name(t.database), t.name, s.user, None, False, False, False, False)
                   for t in s.tables if t.kind != "view"])


def pg_views(s: Snapshot) -> pa.Table:
    return _table([("schemaname", _STR), ("viewname", _STR), ("viewowner", _STR), ("definition", _STR)],
                  [(schema_name(t.database), t.name, s.user, None) for t in s.tables if t.kind == "view"])


def pg_range(s: Snapshot) -> pa.Table:
    return _empty(("rngtypid", _I64), ("rngsubtype", _I64))


def pg_matviews(s: Snapshot) -> pa.Table:
    return _empty(("schemaname", _STR), ("matviewname", _STR), ("definition", _STR))


# ---------------------------------------------------------------- information_schema

def is_tables(s: Snapshot) -> pa.Table:
    cols = [("table_catalog", _STR), ("table_schema", _STR), ("table_name", _STR), ("table_type", _STR),
            ("self_referencing_column_name", _STR), ("reference_generation", _STR),
            ("user_defined_type_catalog", _STR), ("user_defined_type_schema", _STR),
            ("user_defined_type_name", _STR), ("is_insertable_into", _STR), ("is_typed", _STR),
            ("commit_action", _STR)]
    rows = [(s.database, schema_name(t.database), t.name, "VIEW" if t.kind == "view" else "BASE TABLE",
             None, None, None, None, None, "YES" if t.kind != "view" else "NO", "NO", None) for t in s.tables]
    return _table(cols, rows)


def is_columns(s: Snapshot) -> pa.Table:
    cols = [("table_catalog", _STR), ("table_schema", _STR), ("table_name", _STR), ("column_name", _STR),
            ("ordinal_position", _I32), ("column_default", _STR), ("is_nullable", _STR), ("data_type", _STR),
            ("character_maximum_length", _I32), ("numeric_precision", _I32), ("numeric_scale", _I32),
            ("datetime_precision", _I32), ("udt_catalog", _STR), ("udt_schema", _STR), ("udt_name", _STR),
            ("is_identity", _STR), ("is_generated", _STR), ("is_updatable", _STR)]
    rows = []
    for t in s.tables:
        for i, c in enumerate(t.columns, start=1):
            ct = P.hive_type_oid(c.hive_type)
            full = P.format_type(ct.oid, ct.modifier)
            data_type = full.split("(")[0]
            if ct.oid not in P.BY_OID or c.hive_type.lower().split("<")[0] in ("array", "map", "struct"):
                data_type = "text"
            length = ct.modifier - 4 if ct.oid in (P.VARCHAR, P.BPCHAR) and ct.modifier >= 4 else None
            prec = scale = None
            if ct.oid == P.NUMERIC and ct.modifier >= 4:
                prec, scale = (ct.modifier - 4) >> 16, (ct.modifier - 4) & 0xFFFF
            elif ct.oid in (P.INT2, P.INT4, P.INT8):
                prec, scale = {P.INT2: 16, P.INT4: 32, P.INT8: 64}[ct.oid], 0
            elif ct.oid in (P.FLOAT4, P.FLOAT8):
                prec = 24 if ct.oid == P.FLOAT4 else 53
            rows.append((s.database, schema_name(t.database), t.name, c.name, i, None, "YES", data_type,
                         length, prec, scale, None, s.database, "pg_catalog", P.BY_OID[ct.oid].name,
                         "NO", "NEVER", "YES"))
    return _table(cols, rows)


def is_schemata(s: Snapshot) -> pa.Table:
    return _table([("catalog_name", _STR), ("schema_name", _STR), ("schema_owner", _STR)],
                  [(s.database, n, s.user) for n in _schemas(s)])


def is_views(s: Snapshot) -> pa.Table:
    return _table([("table_catalog", _STR), ("table_schema", _STR), ("table_name", _STR),
                   ("view_definition", _STR)],
                  [(s.database, schema_name(t.database), t.name, None) for t in s.tables if t.kind == "view"])


PG_CATALOG = {f.__name__: f for f in (
    pg_namespace, pg_class, pg_attribute, pg_type, pg_database, pg_roles, pg_settings, pg_am, pg_tablespace,
    pg_description, pg_proc, pg_index, pg_constraint, pg_attrdef, pg_inherits, pg_enum, pg_collation,
    pg_trigger, pg_rewrite, pg_extension, pg_sequence, pg_statistic_ext, pg_policy, pg_publication, pg_publication_rel, pg_publication_namespace, pg_opclass, pg_auth_members, pg_tables, pg_views,
    pg_range,
    pg_matviews)}
PG_CATALOG["pg_user"] = pg_roles
PG_CATALOG["pg_authid"] = pg_roles
INFORMATION_SCHEMA = {"tables": is_tables, "columns": is_columns, "schemata": is_schemata, "views": is_views}


def internal_name(schema: str, table: str) -> str | None:
    """The registered name for a system table, or None when it is not one of ours."""
    if schema == "pg_catalog" and table in PG_CATALOG:
        return f"{INTERNAL}pg_{table}"
    if schema == "information_schema" and table in INFORMATION_SCHEMA:
        return f"{INTERNAL}is_{table}"
    return None


def build(schema: str, table: str, snapshot: Snapshot) -> pa.Table:
    factory = PG_CATALOG[table] if schema == "pg_catalog" else INFORMATION_SCHEMA[table]
    return factory(snapshot)
