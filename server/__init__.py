"""The long-running query server: PostgreSQL wire protocol v3 over the public API of sql/.

    main        ``lamna serve …`` and ``lamna user add …``
    server      accept loop, connection registry (cancel keys), caps, shutdown
    connection  one client: start-up, authentication, simple and extended query
    session     one client's state: settings, prepared statements, portals, execution
    worker      the session's one thread (RDD job groups are per thread)
    admission   caps on queries at once, one per place they run (server threads, query processes)
    engine      the shared engine (one metastore, RDD context, cache and plan cache) behind every
                session; each session has its own catalog object for its temporary views
    detached    query processes: whole file-reading queries, off the server's interpreter
    query_process  the main of a query process (an engine of its own, one query per connection)
    protocol    frontend decoding / backend encoding of messages
    scram       SCRAM-SHA-256 server exchange;  users: the users file of verifiers
    pgtypes     Arrow ↔ PostgreSQL OIDs and value formats
    statements  what a statement is (transaction, SET/SHOW, cursors, COPY) before the engine
    translate   PostgreSQL catalog queries → HiveQL over the snapshot tables
    pgcatalog   pg_catalog / information_schema tables built from the Lamna catalog
    settings    PostgreSQL run-time settings;  errors: SQLSTATE mapping

Queries over cached tables run on the server's own threads, beside its cache. A query
that reads files goes whole to a query process (``--query-processes``, one per core by
default, at a lower priority): its planning, tasks and results never hold the server's
interpreter lock, which the short queries need. Only queries whose names mean the same
there leave (``sql.portable``: stored tables and views, no temporary views or session
functions); the others that read files run their tasks on worker processes
(``--workers``; sql's ``lamna.executor``). Each place has its own cap on queries at once
(``--max-queries``), so a short query never queues behind long ones.

With the ``server`` extra the event loop is uvloop's and sqlglot is compiled (sqlglotc);
without it the server runs the same on asyncio's loop and pure-Python parsing, slower.

The load benchmark is bench/server_load.py (docs/benchmarks.md, "Server under load").
"""
