"""Unit tests of the pure parts: message codec, SCRAM, type encodings, statement splitting
and classification, PostgreSQL → HiveQL translation of catalog queries."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import hmac
import struct

import pyarrow as pa
import pytest

from server import pgtypes as P
from server import protocol as M
from server.errors import PgError
from server.scram import ScramExchange
from server.statements import (
    CloseCursor,
    CopyOut,
    Declare,
    EngineSql,
    Fetch,
    SetVariable,
    ShowVariable,
    Transaction,
    classify,
    parameter_numbers,
    split_statements,
    substitute,
)
from server.translate import Identity, translate
from server.users import make_verifier


def test_decode_bind_and_reject_bad_lengths() -> None:
    body = b"p1\0s1\0" + struct.pack("!hh", 1, 1) + struct.pack("!h", 2) + struct.pack("!i", 4) + b"\0\0\0\x07" \
        + struct.pack("!i", -1) + struct.pack("!hh", 1, 0)
    msg = M.decode_message(b"B", body)
    assert msg == M.Bind("p1", "s1", (1,), (b"\0\0\0\x07", None), (0,))
    with pytest.raises(M.ProtocolViolation):
        M.decode_message(b"B", body[:-1])
    with pytest.raises(M.ProtocolViolation):
        M.decode_message(b"Q", b"SELECT 1")  # no terminator
    with pytest.raises(M.ProtocolViolation):
        M.decode_message(b"Z", b"")


def test_startup_packets() -> None:
    assert M.decode_startup(struct.pack("!i", M.SSL_REQUEST)) == M.SSLRequest()
    assert M.decode_startup(struct.pack("!iii", M.CANCEL_REQUEST, 5, 9)) == M.CancelRequest(5, 9)
    msg = M.decode_startup(struct.pack("!i", M.PROTOCOL_V3) + b"user\0bob\0\0")
    assert msg == M.StartupMessage(M.PROTOCOL_V3, {"user": "bob"})
    with pytest.raises(M.ProtocolViolation):
        M.decode_startup(struct.pack("!i", 2 << 16) + b"\0")


def _client_proof(password: str, salt: bytes, iterations: int, auth_message: bytes) -> bytes:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(client_key, signature))


@pytest.mark.parametrize("password,ok", [("right", True), ("wrong", False)])
def test_scram_exchange(password: str, ok: bool) -> None:
    ex = ScramExchange(make_verifier("right", iterations=4096))
    first_bare = "n=,r=clientnonce"
    server_first = ex.first(("n,," + first_bare).encode()).decode()
    attrs = dict(part.split("=", 1) for part in server_first.split(","))
    without_proof = f"c={base64.b64encode(b'n,,').decode()},r={attrs['r']}"
    auth = f"{first_bare},{server_first},{without_proof}".encode()
    proof = _client_proof(password, base64.b64decode(attrs["s"]), int(attrs["i"]), auth)
    answer = ex.final(f"{without_proof},p={base64.b64encode(proof).decode()}".encode())
    assert (answer is not None) == ok


@pytest.mark.parametrize("value", ["0", "1.50", "-2.25", "12345678.9", "0.0001", "100000", "-0.5", "99999999.99"])
def test_numeric_binary_round_trip(value: str) -> None:
    d = decimal.Decimal(value)
    assert P.numeric_from_binary(P.numeric_binary(d)) == d


def test_text_and_binary_encoders() -> None:
    assert P.text_encoder(pa.bool_())(pa.array([True, None])) == [b"t", None]
    assert P.text_encoder(pa.float64())(pa.array([0.1, float("inf")])) == [b"0.1", b"Infinity"]
    assert P.text_encoder(pa.timestamp("us"))(pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 500000)])) == \
        [b"2024-01-02 03:04:05.5"]
    assert P.text_encoder(pa.binary())(pa.array([b"\x01\xff"])) == [b"\\x01ff"]
    assert P.text_encoder(pa.list_(pa.int32()))(pa.array([[1, 2]])) == [b"[1,2]"]
    assert P.binary_encoder(pa.date32())(pa.array([dt.date(2000, 1, 2)])) == [struct.pack("!i", 1)]
    assert P.binary_encoder(pa.int64())(pa.array([-1])) == [struct.pack("!q", -1)]


def test_arrow_to_oid() -> None:
    assert P.column_type(pa.decimal128(10, 2)) == P.ColumnType(P.NUMERIC, -1, (10 << 16 | 2) + 4)
    assert [P.column_type(t).oid for t in (pa.bool_(), pa.int16(), pa.int32(), pa.int64(), pa.float32(),
                                          pa.float64(), pa.string(), pa.date32(), pa.timestamp("us"),
                                          pa.binary(), pa.map_(pa.string(), pa.int32()))] == \
        [16, 21, 23, 20, 700, 701, 25, 1082, 1114, 17, 25]
    assert P.hive_type_oid("varchar(12)") == P.ColumnType(P.VARCHAR, -1, 16)


def test_parameters_become_literals() -> None:
    assert P.decode_parameter(struct.pack("!i", 7), P.INT4, 1) == "7"
    assert P.decode_parameter(b"it's", 0, 0) == "'it\\'s'"
    assert P.decode_parameter(None, P.INT4, 0) == "NULL"
    assert P.decode_parameter(b"2024-01-02", P.DATE, 0) == "DATE '2024-01-02'"
    with pytest.raises(P.ParameterError):
        P.decode_parameter(b"abc", P.INT4, 0)


def test_split_and_substitute() -> None:
    sql = "SELECT ';' AS a; -- c;\nSELECT $$x;y$$; SELECT 3"
    assert [t for _, t in split_statements(sql)] == ["SELECT ';' AS a", "-- c;\nSELECT $$x;y$$", "SELECT 3"]
    assert parameter_numbers("SELECT $1, '$2', $3") == [1, 3]
    assert substitute("SELECT $1 || '$1'", ["'a'"]) == "SELECT 'a' || '$1'"


def test_classify() -> None:
    assert classify("begin isolation level read committed") == Transaction("BEGIN")
    assert classify("ROLLBACK TO SAVEPOINT s") == Transaction("ROLLBACK TO")
    assert classify("SET statement_timeout TO '5s'") == SetVariable("statement_timeout", "5s")
    assert classify("set spark.sql.shuffle.partitions=4") == SetVariable("spark.sql.shuffle.partitions", "4")
    assert classify("set spark.sql.shuffle.partitions") == ShowVariable("spark.sql.shuffle.partitions", hive=True)
    assert classify("SET") == EngineSql("SET")
    assert classify("SHOW transaction isolation level") == ShowVariable("transaction_isolation")
    assert classify("show tables") == EngineSql("show tables")
    assert classify('DECLARE "c1" NO SCROLL CURSOR WITHOUT HOLD FOR SELECT 1') == Declare("c1", "SELECT 1")
    assert classify('FETCH FORWARD 10 FROM "c1"') == Fetch("c1", 10)
    assert classify("close c1") == CloseCursor("c1")
    assert classify("COPY (SELECT 1) TO STDOUT") == CopyOut("SELECT 1")
    with pytest.raises(PgError):
        classify("FETCH BACKWARD 1 FROM c")


def test_translate_catalog_query() -> None:
    who = Identity("alice", "lamna", "public", 1, lambda n: None, lambda n, v: None, lambda n: 42)
    tr = translate("SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relkind = ANY (ARRAY['r','v']) "
                   "AND pg_catalog.pg_table_is_visible(c.oid) AND c.oid = 't'::regclass "
                   "AND c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default", who, "hive")
    assert tr.translated and tr.system_tables == {("pg_catalog", "pg_class")}
    assert "lamna_pgcat__pg_pg_class AS c" in tr.sql and "IN ('r', 'v')" in tr.sql and "= 42" in tr.sql
    assert "RLIKE" in tr.sql and "pg_catalog" not in tr.sql
    plain = "SELECT a FROM t WHERE b RLIKE 'x'"
    assert translate(plain, who, "hive").sql == plain
    assert "'PostgreSQL " in translate("SELECT version()", who, "hive").sql
