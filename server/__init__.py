"""The long-running query server: PostgreSQL wire protocol over the public API of sql/."""
