"""Tables on S3 through the same code path as local files, against a real S3 server.

The test starts moto's S3-compatible server on a free local port and points the AWS
SDK inside pyarrow at it with the standard environment variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``), which is
also how a user configures Lamna for S3 or any S3-compatible store. External tables
over uploaded CSV and Parquet files are queried and compared with DuckDB on the same
rows; managed tables located on S3 take INSERT / INSERT OVERWRITE / bucketed writes;
a missing bucket is an error naming the location.
"""

from __future__ import annotations

import socket

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import sql

moto_server = pytest.importorskip("moto.server", reason="moto[server] (test extra) runs the local S3 server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, request):
    """A fresh bucket; the environment a user would set to reach it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "lamna-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "lamna-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = "lake-" + request.node.name.lower().replace("_", "-")[:40]
    fs = pafs.S3FileSystem(endpoint_override=s3_endpoint, allow_bucket_creation=True, region="us-east-1",
                           access_key="lamna-test", secret_key="lamna-test-secret")
    fs.create_dir(bucket)
    return fs, bucket


@pytest.fixture
def conn(tmp_path):
    c = sql.connect(warehouse=str(tmp_path / "wh"))
    yield c
    c.close()


ORDERS = pa.table({
    "id": pa.array(range(1, 201), pa.int64()),
    "customer": pa.array([f"c{i % 13}" for i in range(200)], pa.string()),
    "amount": pa.array([round((i * 37 % 1000) / 7, 2) for i in range(200)], pa.float64()),
    "region": pa.array([["eu", "us", "apac"][i % 3] for i in range(200)], pa.string()),
})


def _rows(conn, query):
    cur = conn.cursor()
    cur.execute(query)
    return cur.fetchall()


def _duck(query):
    con = duckdb.connect()
    con.register("orders", ORDERS)
    return con.execute(query).fetchall()


def _keys(fs, prefix):
    return sorted(i.path for i in fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
                  if i.type == pafs.FileType.File)


Q = "SELECT region, count(*), round(sum(amount), 6), min(customer) FROM {} GROUP BY region ORDER BY region"


def test_external_csv_and_parquet_tables_on_s3(conn, s3):
    fs, bucket = s3
    # CSV in two files, Parquet in a Hive-partitioned layout
    for i, part in enumerate((ORDERS.slice(0, 120), ORDERS.slice(120))):
        with fs.open_output_stream(f"{bucket}/csv/orders-{i}.csv") as out:
            pacsv.write_csv(part, out, write_options=pacsv.WriteOptions(include_header=False))
    for region in ("eu", "us", "apac"):
        rows = ORDERS.filter(pa.compute.equal(ORDERS["region"], region)).drop_columns(["region"])
        pq.write_table(rows, f"{bucket}/pq/region={region}/data.parquet", filesystem=fs)
    cur = conn.cursor()
    cur.execute(f"CREATE EXTERNAL TABLE o_csv (id BIGINT, customer STRING, amount DOUBLE, region STRING) "
                f"STORED AS CSV LOCATION 's3://{bucket}/csv'")
    cur.execute(f"CREATE EXTERNAL TABLE o_pq (id BIGINT, customer STRING, amount DOUBLE) "
                f"PARTITIONED BY (region STRING) STORED AS PARQUET LOCATION 's3://{bucket}/pq'")
    cur.execute("MSCK REPAIR TABLE o_pq")
    assert _rows(conn, "SHOW PARTITIONS o_pq") == [("region=apac",), ("region=eu",), ("region=us",)]
    expected = _duck(Q.format("orders"))
    assert _rows(conn, Q.format("o_csv")) == expected
    assert _rows(conn, Q.format("o_pq")) == expected
    assert _rows(conn, "SELECT count(*) FROM o_pq WHERE region = 'eu' AND amount > 50") == \
        _duck("SELECT count(*) FROM orders WHERE region = 'eu' AND amount > 50")
    # dropping an external table keeps its objects
    cur.execute("DROP TABLE o_csv")
    assert len(_keys(fs, f"{bucket}/csv")) == 2


def test_managed_tables_located_on_s3_take_every_write(conn, s3):
    fs, bucket = s3
    conn.session.register_arrow("orders", ORDERS, rows_per_split=50)
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE t (id BIGINT, customer STRING, amount DOUBLE) PARTITIONED BY (region STRING) "
                f"LOCATION 's3://{bucket}/warehouse/t'")
    cur.execute("INSERT INTO t PARTITION (region) SELECT id, customer, amount, region FROM orders WHERE id <= 150")
    cur.execute("INSERT INTO t PARTITION (region) SELECT id, customer, amount, region FROM orders WHERE id > 150")
    assert _rows(conn, Q.format("t")) == _duck(Q.format("orders"))
    cur.execute("INSERT OVERWRITE TABLE t PARTITION (region='eu') SELECT id, customer, amount FROM orders "
                "WHERE region = 'eu' AND id % 2 = 0")
    assert _rows(conn, Q.format("t")) == _duck(Q.format(
        "(SELECT * FROM orders WHERE region <> 'eu' OR id % 2 = 0)"))
    keys = _keys(fs, f"{bucket}/warehouse/t")
    assert not [k for k in keys if "/.lamna-staging-" in k]  # staging is gone once committed
    # the replaced eu files wait in the trash for scans planned before the overwrite
    # (object stores give directories no mtime: the trash is aged by the time in its name)
    assert [k for k in keys if "/.lamna-trash-" in k]
    data = [k for k in keys if "/." not in k]
    assert data and all("/region=" in k for k in data)
    # a bucketed table on S3: one file per bucket
    cur.execute(f"CREATE TABLE b (id BIGINT, customer STRING) CLUSTERED BY (customer) INTO 3 BUCKETS "
                f"STORED AS TEXTFILE LOCATION 's3://{bucket}/warehouse/b'")
    cur.execute("INSERT INTO b SELECT id, customer FROM orders")
    visible = [k for k in _keys(fs, f"{bucket}/warehouse/b") if "/." not in k]
    assert len(visible) == 3 and all(k.rsplit("/", 1)[1].startswith("bucket-0000") for k in visible)
    assert _rows(conn, "SELECT count(*), count(DISTINCT customer) FROM b") == [(200, 13)]
    # CTAS and DROP of a managed table on S3 delete its objects
    cur.execute(f"CREATE TABLE c LOCATION 's3://{bucket}/warehouse/c' AS SELECT * FROM orders WHERE amount < 10")
    assert _rows(conn, "SELECT count(*) FROM c") == _duck("SELECT count(*) FROM orders WHERE amount < 10")
    cur.execute("DROP TABLE c")
    assert _keys(fs, f"{bucket}/warehouse/c") == []


def test_missing_bucket_is_an_error_naming_the_location(conn, s3):
    cur = conn.cursor()
    with pytest.raises(sql.Error, match=r"s3://no-such-bucket-here/data.*does not exist|does not exist.*s3://no-such"):
        cur.execute("CREATE EXTERNAL TABLE m (a INT) LOCATION 's3://no-such-bucket-here/data'")
    with pytest.raises(sql.Error, match=r"no-such-bucket-here") as e:
        cur.execute("CREATE TABLE m2 (a INT) LOCATION 's3://no-such-bucket-here/t'")
    assert "line 1" in str(e.value) or getattr(e.value, "line", None) == 1


def test_a_bucket_that_disappears_fails_reads_and_writes_naming_it(conn, s3, s3_endpoint):
    _, bucket = s3
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE gone (a INT) LOCATION 's3://{bucket}/t'")
    cur.execute("INSERT INTO gone VALUES (1), (2)")
    assert _rows(conn, "SELECT sum(a) FROM gone") == [(3,)]
    admin = pafs.S3FileSystem(endpoint_override=s3_endpoint, allow_bucket_deletion=True, region="us-east-1",
                              access_key="lamna-test", secret_key="lamna-test-secret")
    admin.delete_dir(bucket)
    with pytest.raises(sql.Error, match=f"bucket '{bucket}' does not exist.*s3://{bucket}/t"):
        cur.execute("SELECT * FROM gone")
    with pytest.raises(sql.Error, match=f"Cannot write into default.gone: bucket '{bucket}'") as e:
        cur.execute("INSERT INTO gone VALUES (3)")
    assert "Traceback" not in str(e.value)
