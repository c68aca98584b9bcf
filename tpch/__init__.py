"""TPC-H: data generation, the 22 queries, runner, validation and reports."""
