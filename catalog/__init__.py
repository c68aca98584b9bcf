"""The warehouse: metastore, tables, storage formats, partitions, statistics, the columnar cache."""
