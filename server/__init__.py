"""The long-running query server: PostgreSQL wire protocol v3 over the public API of sql/.

    main        ``lamna serve …`` and ``lamna user add …``
    server      accept loop, connection registry (cancel keys), caps, shutdown
    connection  one client: start-up, authentication, simple and extended query
    session     one client's state: settings, prepared statements, portals, execution
    worker      the session's one thread (RDD job groups are per thread)
    engine      the shared engine (one catalog, one RDD context) behind every session
    protocol    frontend decoding / backend encoding of messages
    scram       SCRAM-SHA-256 server exchange;  users: the users file of verifiers
    pgtypes     Arrow ↔ PostgreSQL OIDs and value formats
    statements  what a statement is (transaction, SET/SHOW, cursors, COPY) before the engine
    translate   PostgreSQL catalog queries → HiveQL over the snapshot tables
    pgcatalog   pg_catalog / information_schema tables built from the Lamna catalog
    settings    PostgreSQL run-time settings;  errors: SQLSTATE mapping

Queries that read files run on worker processes at a lower priority (``--workers``, one
per core by default; sql's ``lamna.executor``), queries over cached tables on the
server's own threads: the long ones cannot hold the server's interpreter lock.

The load benchmark is bench/server_load.py (docs/benchmarks.md, "Server under load").
"""
